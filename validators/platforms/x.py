"""X: the public oEmbed endpoint (`GET …/oembed?url=https://twitter.com/<user>/status/<id>`)
answers the tweet's author (`author_url`) and its text inside `html`'s blockquote; a
tweet that is gone (deleted, or never posted: X does not say which) is a 404."""

import html
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
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

# oEmbed shows links by their display text; the archive has the t.co link.
LINKS = re.compile(r"(https?://|pic\.twitter\.com/)\S+")
PARALLEL = 8
ID = re.compile(r"[0-9]{1,20}")
# Snowflake ids (every tweet since November 2010) carry their time: ms since X's epoch
# in the bits above the low 22. An id of another time is no tweet of this record's.
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
FIRST_SNOWFLAKE = 1 << 54
SNOWFLAKE_SLACK_MS = 5_000


class TweetText(HTMLParser):
    """The text of the blockquote's first paragraph, tags stripped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth, self.done, self.parts = 0, False, []  # type: tuple[int, bool, list[str]]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "p" and not self.done:
            self.depth += 1
        elif tag == "br" and self.depth:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self.depth:
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def tweet_text(markup: str) -> str:
    parser = TweetText()
    parser.feed(markup)
    return html.unescape("".join(parser.parts))


class XVerifier:
    source = "twitter"
    platform = "X"

    def malformed(self, item: SampledItem) -> str | None:
        if not item.id:
            return "the export gives it no tweet id"
        if not ID.fullmatch(item.id):
            return "its id is not a tweet id"
        number = int(item.id)
        if number >= FIRST_SNOWFLAKE and item.created != NO_TIME:
            minted_ms = (number >> 22) + SNOWFLAKE_EPOCH_MS
            if abs(minted_ms - item.created // 1000) > SNOWFLAKE_SLACK_MS:
                return "its id was made at another time than the export's date for it"
        return None

    def look_up(
        self, account: str, items: list[SampledItem], policy: PlatformPolicy
    ) -> list[ItemResult]:
        with requests.Session() as session, ThreadPoolExecutor(PARALLEL) as pool:
            answers = list(pool.map(lambda item: _oembed(session, account, item, policy), items))
        return [
            _compare(account, item, answer) for item, answer in zip(items, answers, strict=True)
        ]


def _oembed(
    session: requests.Session, account: str, item: SampledItem, policy: PlatformPolicy
) -> dict[str, Any] | None:
    url = policy.x_oembed_url
    try:
        answer = session.get(
            url,
            params={"url": f"https://twitter.com/{account}/status/{item.id}", "omit_script": "1"},
            headers={"User-Agent": policy.user_agent},
            timeout=policy.timeout,
        )
    except requests.RequestException as exc:
        raise PlatformUnreachable(f"{type(exc).__name__} from {url}") from None
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise PlatformUnreachable(f"{url} answered HTTP {answer.status_code}")
    try:
        body = answer.json()
    except ValueError:
        raise PlatformUnreachable(f"{url} did not answer oEmbed JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("html"), str):
        raise PlatformUnreachable(f"{url} did not answer oEmbed JSON")
    return body


def _compare(account: str, item: SampledItem, body: dict[str, Any] | None) -> ItemResult:
    name = f"tweet {item.id}"
    if body is None:
        reason = "not on X (deleted since the export, or never posted)"
        return ItemResult(
            ItemCheck(item=name, status=CheckStatus.NOT_AVAILABLE, reason=reason, gone=True)
        )
    text = tweet_text(body["html"])

    def result(status: CheckStatus, reason: str) -> ItemResult:
        return ItemResult(ItemCheck(item=name, status=status, reason=reason), text)

    author = str(body.get("author_url") or "").rstrip("/").rsplit("/", 1)[-1]
    if author.lower() != account.lower():
        return result(CheckStatus.FAIL, f"posted by @{author} on X, not by @{account}")
    if not same_text(item.text, text, lambda s: LINKS.sub("", html.unescape(s))):
        return result(CheckStatus.FAIL, "its text on X differs from the export's")
    return result(CheckStatus.PASS, "on X as exported")
