"""Reddit: `GET /api/info.json?id=t1_…,t3_…` answers a Listing of the items by fullname
(up to 100 at a time); an id Reddit never had is simply absent, a deleted item comes
back with its author and body "[deleted]" or "[removed]"."""

import html
import re
from typing import Any

import requests

from validators.exceptions import PlatformUnreachable
from validators.platforms.check import (
    ItemCheck,
    ItemResult,
    PlatformPolicy,
    SampledItem,
    same_text,
)
from validators.report import NO_TIME, CheckStatus

PER_REQUEST = 100
GONE = {"[deleted]", "[removed]"}
PREFIX = {"comment": "t1_", "post": "t3_"}
ID = re.compile(r"(?:t[13]_)?[0-9a-z]{1,16}")  # base 36, as Reddit writes its ids


def fullname(item: SampledItem) -> str:
    return item.id if item.id[:3] in ("t1_", "t3_") else PREFIX[item.kind] + item.id


class RedditVerifier:
    source = "reddit"
    platform = "Reddit"

    def malformed(self, item: SampledItem) -> str | None:
        if not item.id:
            return "the export gives it no Reddit id"
        return None if ID.fullmatch(item.id) else "its id is not a Reddit id"

    def look_up(
        self, account: str, items: list[SampledItem], policy: PlatformPolicy
    ) -> list[ItemResult]:
        names = [fullname(item) for item in items]
        shown: dict[str, dict[str, Any]] = {}
        url = policy.reddit_api_url.rstrip("/") + "/api/info.json"
        for start in range(0, len(names), PER_REQUEST):
            ids = ",".join(names[start : start + PER_REQUEST])
            for child in _listing(url, ids, policy):
                data = child.get("data") if isinstance(child, dict) else None
                if isinstance(data, dict) and isinstance(data.get("name"), str):
                    shown[data["name"]] = data
        return [
            _compare(account, item, name, shown.get(name))
            for item, name in zip(items, names, strict=True)
        ]


def _listing(url: str, ids: str, policy: PlatformPolicy) -> list[Any]:
    try:
        answer = requests.get(
            url,
            params={"id": ids, "raw_json": "1"},
            headers={"User-Agent": policy.user_agent},
            timeout=policy.timeout,
        )
    except requests.RequestException as exc:
        raise PlatformUnreachable(f"{type(exc).__name__} from {url}") from None
    if answer.status_code != 200:
        raise PlatformUnreachable(f"{url} answered HTTP {answer.status_code}")
    try:
        listing = answer.json()
        children = listing["data"]["children"]
    except (ValueError, KeyError, TypeError):
        raise PlatformUnreachable(f"{url} did not answer a Listing") from None
    if listing.get("kind") != "Listing" or not isinstance(children, list):
        raise PlatformUnreachable(f"{url} did not answer a Listing")
    return children


def _compare(account: str, item: SampledItem, name: str, data: dict[str, Any] | None) -> ItemResult:
    def result(status: CheckStatus, reason: str, gone: bool = False) -> ItemResult:
        return ItemResult(ItemCheck(item=name, status=status, reason=reason, gone=gone), text)

    text = ""
    if data is None:
        return result(CheckStatus.FAIL, "Reddit has no such item")
    if item.kind == "comment":
        text = html.unescape(str(data.get("body") or ""))
    else:  # the export joins a post's title and body with a newline
        text = "\n".join(
            part
            for part in (html.unescape(str(data.get(k) or "")) for k in ("title", "selftext"))
            if part
        )
    author = str(data.get("author") or "")
    # The author first: a removed item keeps its author, and someone else's removed item
    # is not the contributor's deleted one.
    if author not in GONE and author.lower() != account.lower():
        return result(CheckStatus.FAIL, f"posted by u/{author} on Reddit, not by u/{account}")
    if author in GONE or text.strip() in GONE or str(data.get("selftext")) in GONE:
        return result(CheckStatus.NOT_AVAILABLE, "deleted since the export", gone=True)
    if not same_text(item.text, text):
        return result(CheckStatus.FAIL, "its text on Reddit differs from the export's")
    created = data.get("created_utc")
    moved = isinstance(created, int | float) and abs(created - item.created / 1e6) > 1
    if item.created != NO_TIME and moved:
        return result(CheckStatus.FAIL, "its date on Reddit differs from the export's")
    community = str(data.get("subreddit") or "")
    if item.community and community.lower() != item.community.lower():
        return result(
            CheckStatus.FAIL, f"in r/{community} on Reddit, r/{item.community} in the export"
        )
    return result(CheckStatus.PASS, "on Reddit as exported")
