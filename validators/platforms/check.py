"""The spot-check's types, the verifier interface and the verdict under the policy."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from validators.exceptions import PlatformUnreachable
from validators.report import Check, CheckStatus, ItemCheck
from validators.sources.common import failed, not_available, passed

NAME = "platform spot-check"
WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class PlatformPolicy:
    """Where the platforms answer and what the DAO requires of the check."""

    reddit_api_url: str = "https://www.reddit.com"
    x_oembed_url: str = "https://publish.twitter.com/oembed"
    sample_size: int = 20
    # Items deleted since the export are no fault of the contributor, up to a point.
    min_found: float = 0.8
    timeout: float = 10.0
    required: bool = True
    user_agent: str = "datadao-validator/1.0 (spot-checks of contributed exports)"


@dataclass(frozen=True)
class SampledItem:
    """One item of the export as the platform would show it."""

    kind: str  # "comment", "post" or "tweet"
    id: str
    text: str
    created: int  # µs since the epoch, or NO_TIME
    community: str = ""  # the subreddit, where the source has one
    codes: frozenset[str] = frozenset()  # verification codes the export shows in it


@dataclass
class ItemResult:
    check: ItemCheck
    platform_text: str = ""  # what the platform shows, to look for a verification code


class PlatformVerifier(Protocol):
    """Looks up a source's items on its platform. Raises PlatformUnreachable when the
    platform cannot be asked; otherwise one result per item, in order."""

    source: str
    platform: str

    def malformed(self, item: SampledItem) -> str | None:
        """Why the item's id cannot be one of the platform's (missing, wrong form, a
        date it could not have), or None: such an item fails without a lookup."""
        ...

    def look_up(
        self, account: str, items: list[SampledItem], policy: PlatformPolicy
    ) -> list[ItemResult]: ...


@dataclass
class SpotCheck:
    check: Check
    items: list[ItemCheck] = field(default_factory=list)
    # Codes found in an item the platform confirmed as the account's own.
    confirmed_codes: set[str] = field(default_factory=set)
    reached: bool = False
    applies: bool = True  # False: the source has no platform (a generic export)


def same_text(exported: str, shown: str, drop: Callable[[str], str] = lambda s: s) -> bool:
    """Equal once whitespace is collapsed (and `drop` removed what the platform renders
    differently, e.g. links)."""
    return WHITESPACE.sub(" ", drop(exported)).strip() == WHITESPACE.sub(" ", drop(shown)).strip()


def spot_check(
    verifier: PlatformVerifier | None,
    account: str | None,
    sample: list[SampledItem],
    code_items: list[SampledItem],
    policy: PlatformPolicy,
) -> SpotCheck:
    if verifier is None:
        reason = "this kind of export has no platform to check"
        return SpotCheck(not_available(NAME, reason), applies=False)
    if not account:
        return SpotCheck(not_available(NAME, "the export names no account to look up"))
    if not sample and not code_items:
        return SpotCheck(not_available(NAME, "the export has no items to look up"))
    extra = [item for item in code_items if item not in sample]
    asked = sample + extra
    # An item without a real id could never be looked up: it fails, it is not skipped
    # (records without ids would otherwise score without ever being sampled).
    refused = {i: verifier.malformed(item) for i, item in enumerate(asked)}
    lookups = [item for i, item in enumerate(asked) if refused[i] is None]
    try:
        answers = iter(verifier.look_up(account, lookups, policy) if lookups else [])
    except PlatformUnreachable as exc:
        return SpotCheck(not_available(NAME, f"{verifier.platform} could not be reached: {exc}"))
    results = [
        next(answers) if why is None else _malformed(asked[i], why) for i, why in refused.items()
    ]
    confirmed: set[str] = set()
    for item, result in zip(asked, results, strict=True):
        if item.codes and result.check.status == CheckStatus.PASS:
            shown = result.platform_text.upper()
            confirmed |= {code for code in item.codes if code in shown}
    items = [r.check for r in results[: len(sample)]]
    return SpotCheck(_verdict(verifier.platform, items, policy), items, confirmed, reached=True)


def _malformed(item: SampledItem, why: str) -> ItemResult:
    name = f"{item.kind} {item.id!r}" if item.id else f"a {item.kind} without an id"
    return ItemResult(ItemCheck(item=name, status=CheckStatus.FAIL, reason=why))


def _verdict(platform: str, items: list[ItemCheck], policy: PlatformPolicy) -> Check:
    if not items:
        return not_available(NAME, "no item of the sample could be looked up")
    wrong = [c for c in items if c.status == CheckStatus.FAIL]
    found = sum(c.status == CheckStatus.PASS for c in items)
    gone = sum(c.gone for c in items)
    if wrong:
        return failed(
            NAME,
            f"{len(wrong)} of {len(items)} sampled items are missing from or differ on "
            f"{platform} (first: {wrong[0].item}: {wrong[0].reason})",
        )
    if found < policy.min_found * len(items):
        return failed(
            NAME,
            f"only {found} of {len(items)} sampled items are still on {platform} "
            f"(this DAO requires {policy.min_found:.0%})",
        )
    deleted = f"; {gone} deleted since the export" if gone else ""
    return passed(NAME, f"{found} of {len(items)} sampled items match {platform}{deleted}")
