"""Ownership: whose the export's account is, by the platform sign-in, the verification
code posted from the account, the account's binding in the index and the wallet's
signature, each a check (pass / fail / not available); and the scan that finds the
codes in the account's own items as the records stream past."""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.compute as pc

from validators.dedup import Binding, DedupIndex
from validators.platforms import SampledItem, SpotCheck
from validators.platforms.sample import item
from validators.report import NO_TIME, Check, CheckStatus, ParsedExport, RecordBatch
from validators.sources.common import failed, micros, not_available, passed
from validators.verification_code import PREFIX, codes_in, verification_code

if TYPE_CHECKING:  # the pipeline, which defines the context, imports this module
    from validators.pipeline import ValidationContext


@dataclass(frozen=True)
class SignedInAccount:
    """The account the contributor signed in with (OAuth 2.0), as the platform's "me"
    endpoint names it: the platform's word, not the export's."""

    source: str  # "reddit" or "twitter", as the export sources are named
    account_id: str
    account_name: str


class CodeScan:
    """Verification codes in the account's own items, dated no later than the export,
    and (the first few of) those items, for the platform to confirm."""

    KEPT_ITEMS = 5

    def __init__(self, export_time: datetime | None) -> None:
        self.latest = micros(export_time) if export_time is not None else None
        self.found: set[str] = set()
        self.items: list[SampledItem] = []

    def observe(self, batch: RecordBatch) -> None:
        hits = pc.match_substring(batch.text, PREFIX, ignore_case=True)  # a literal: fast
        rows = np.flatnonzero(hits.to_numpy(zero_copy_only=False) & batch.authored)
        for row in rows.tolist():
            created = int(batch.created[row])
            if self.latest is None or created == NO_TIME or created <= self.latest:
                codes = codes_in(batch.text[row].as_py())
                self.found |= codes
                if codes and len(self.items) < self.KEPT_ITEMS:
                    self.items.append(item(batch, row, frozenset(codes)))


def _sign_in(parsed: ParsedExport, signed_in: SignedInAccount | None) -> Check:
    name = "platform sign-in"
    if signed_in is None:
        return not_available(name, "the contributor did not sign in with the platform")
    if parsed.account_id is None or signed_in.source != parsed.source:
        return failed(
            name, f"signed in with {signed_in.source}, but this is a {parsed.source} export"
        )
    same = (
        signed_in.account_name.lower() == (parsed.account_name or "").lower()
        if parsed.source == "reddit"  # Reddit's export names the account, not its id
        else signed_in.account_id == parsed.account_id
    )
    if not same:
        return failed(
            name,
            f"signed in as {signed_in.account_name}, but the export is {parsed.account_name}'s",
        )
    return passed(name, f"signed in with {signed_in.source} as {signed_in.account_name}")


def _code(expected: str, found: set[str], spot: SpotCheck) -> Check:
    name = "verification code"
    if expected in found:
        if expected in spot.confirmed_codes:
            return passed(name, f"{expected} posted by the account, confirmed on the platform")
        if spot.reached:
            return failed(name, f"{expected} is in the export but not in the platform's copy")
        return not_available(
            name, f"{expected} is in the export, unconfirmed ({spot.check.reason})"
        )
    if found:
        reason = f"the account posted {sorted(found)[0]}, the code of another wallet"
        return failed(name, f"{reason} (this wallet's is {expected})")
    return not_available(name, f"{expected} not found in the account's items")


SIGN_IN_NAMES = {"reddit": "Reddit", "twitter": "X"}


def proof_needed(source: str, code: str) -> str:
    """The two ways to prove an account is yours, in words."""
    platform = SIGN_IN_NAMES.get(source, source)
    return (
        f"sign in with {platform} as the account when you contribute, or post your "
        f"verification code {code} from the account before requesting the export"
    )


def _binding(
    source: str,
    bound: Binding | None,
    proven: bool,
    code: str,
    context: "ValidationContext",
) -> Check:
    """The account's binding to one wallet: made (or kept) only by the account holder's
    proof where the DAO requires it; an unproven binding passes to the owner who proves."""
    name = "account binding"
    wallet = context.wallet
    if bound is not None and bound.wallet.lower() != wallet.lower():
        if proven and not bound.proven:
            return passed(
                name,
                f"the account was bound to another wallet without proof; proven now, it "
                f"moves to {wallet}, and that wallet's contributions of it are withdrawn "
                "from rentals and proposed for voiding",
            )
        # Which wallet is not said: it would tell anyone who uploads a copy of someone
        # else's export which wallet that person uses.
        reason = (
            f"this {source} account is bound to another wallet; only that wallet can "
            "contribute its exports"
        )
        if not bound.proven:
            reason += f" (if the account is yours: {proof_needed(source, code)}, to take it back)"
        return failed(name, reason)
    if proven:
        if bound is None:
            return passed(name, f"first use of this {source} account; proven, bound to {wallet}")
        return passed(name, f"account bound to {wallet}" + ("" if bound.proven else ", now proven"))
    if bound is not None and bound.proven:
        return passed(name, f"account already bound to {wallet} by proof")
    if context.require_proof:
        return failed(
            name,
            f"nothing proves this {source} account is yours, so it is not bound and nothing "
            f"is minted: {proof_needed(source, code)}",
        )
    first = "first use of this account" if bound is None else "account already bound"
    return passed(
        name,
        f"{first}; bound to {wallet} without proof (allowed here): the account's owner "
        "can take it back by signing in with the platform",
    )


# Sources whose binding key the posted code proves: a Reddit account's id is its name,
# which the platform shows on every item checked. X binds by the numeric account id,
# which its oEmbed does not show (only the handle, which the export itself states), so
# there only the sign-in, which compares ids, proves the account.
CODE_PROVES_ACCOUNT_ID = frozenset({"reddit"})


def ownership_checks(
    parsed: ParsedExport,
    found: set[str],
    spot: SpotCheck,
    context: "ValidationContext",
    index: DedupIndex,
) -> list[Check]:
    checks = [_sign_in(parsed, context.signed_in)]
    if parsed.account_id is None:
        checks.append(
            not_available("verification code", "this kind of export has no account to post from")
        )
        checks.append(not_available("account binding", "this kind of export names no account"))
    else:
        expected = verification_code(context.wallet, context.chain_id, context.registry)
        checks.append(_code(expected, found, spot))
        code_proves_id = parsed.source in CODE_PROVES_ACCOUNT_ID
        proven = checks[0].status == CheckStatus.PASS or (  # the sign-in, or the code
            code_proves_id and checks[1].status == CheckStatus.PASS
        )
        bound = index.binding(parsed.source, parsed.account_id)
        checks.append(_binding(parsed.source, bound, proven, expected, context))
    if context.signature_verified is None:
        checks.append(not_available("wallet signature", "checked by the service at upload"))
    elif context.signature_verified:
        checks.append(passed("wallet signature", "the wallet signed the export's SHA-256"))
    else:
        checks.append(
            failed(
                "wallet signature", "the signature over the export's SHA-256 is not the wallet's"
            )
        )
    return checks
