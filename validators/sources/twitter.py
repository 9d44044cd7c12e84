"""X/Twitter archive: `data/*.js` files assigning JSON to `window.YTD.<name>.part0`,
described by `data/manifest.js` (account, generation date, files and their counts).

Tweet files are read one at a time (an archive splits its tweets into parts), each
parsed by orjson and turned into one batch of records; only the counts stay behind
for the manifest check."""

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from validators.decoding import parse_time, parse_ytd
from validators.exceptions import ExportRejected
from validators.report import Check, ParsedExport, RecordBatch
from validators.sources.common import DateChecks, batch, failed, micros, passed, times
from validators.unpack import Archive

TWEET_FILE = re.compile(r"^data/(tweets?|tweets-part\d+)\.js$")


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


DATE_FORMAT = "%a %b %d %H:%M:%S %z %Y"


class ManifestCheck:
    """The manifest lists every tweet file, with its count of items."""

    def __init__(self, manifest: dict[str, Any], archive: Archive) -> None:
        self.manifest, self.archive = manifest, archive
        self.counts: dict[str, int] = {}  # tweet file -> items, as they are read

    def observe(self, records: RecordBatch) -> None:
        pass

    def result(self) -> list[Check]:
        return [self._check()]

    def _check(self) -> Check:
        described: dict[str, int] = {}
        try:
            for data_type in (self.manifest.get("dataTypes") or {}).values():
                for entry in (data_type or {}).get("files", []) or []:
                    described[str(entry["fileName"]).removeprefix("./")] = int(
                        entry.get("count", 0)
                    )
        except (KeyError, TypeError, ValueError, AttributeError):
            return failed("manifest", "a manifest file entry lacks fileName or count")
        for name, count in sorted(described.items()):
            if name not in self.archive.names:
                if TWEET_FILE.match(name):
                    return failed("manifest", f"the manifest lists {name}, which the archive lacks")
                continue  # a private file the contributor's machine kept
            if name in self.counts and self.counts[name] != count:
                return failed(
                    "manifest", f"{name} holds {self.counts[name]} items, the manifest says {count}"
                )
        stray = sorted(set(self.counts) - set(described))
        if stray:
            return failed("manifest", f"tweet files missing from the manifest: {', '.join(stray)}")
        tweets = sum(1 for name in described if TWEET_FILE.match(name))
        return passed("manifest", f"all {tweets} described tweet files present with their counts")


class TwitterArchive:
    name = "twitter"

    def detect(self, archive: Archive) -> bool:
        return "data/account.js" in archive and "data/manifest.js" in archive

    def parse(self, archive: Archive) -> ParsedExport:
        account_items = parse_ytd("data/account.js", archive.read("data/account.js"))
        account = (
            _dig(account_items[0], "account")
            if isinstance(account_items, list) and account_items
            else None
        )
        if not isinstance(account, dict):
            raise ExportRejected("data/account.js holds no account record.")
        manifest = parse_ytd("data/manifest.js", archive.read("data/manifest.js"))
        if not isinstance(manifest, dict):
            raise ExportRejected("data/manifest.js holds no manifest object.")

        account_id = str(account.get("accountId") or "") or None
        username = account.get("username") or None
        export_time = parse_time(_dig(manifest, "archiveInfo", "generationDate"))
        registered_at = parse_time(account.get("createdAt"))
        manifest_check = ManifestCheck(manifest, archive)
        return ParsedExport(
            source=self.name,
            account_id=account_id,
            account_name=str(username) if username is not None else None,
            export_time=export_time,
            registered_at=registered_at,
            authenticity=[self._identity(manifest, account_id, username)],
            batches=self._records(archive, manifest_check),
            record_checks=[manifest_check, DateChecks(export_time, registered_at)],
        )

    @staticmethod
    def _records(archive: Archive, manifest: ManifestCheck) -> Iterator[RecordBatch]:
        for name in sorted(archive.names):
            if not TWEET_FILE.match(name):
                continue
            items = parse_ytd(name, archive.read(name))
            if not isinstance(items, list):
                raise ExportRejected(f"{name} does not hold a list of tweets.")
            manifest.counts[name] = len(items)
            ids, texts, created, other_times = [], [], [], {}
            for row, item in enumerate(items):
                tweet = _dig(item, "tweet")
                if not isinstance(tweet, dict):
                    raise ExportRejected(f"{name} has an entry without a tweet object.")
                texts.append(str(tweet.get("full_text") or tweet.get("text") or ""))
                ids.append(str(tweet.get("id_str") or tweet.get("id") or ""))
                when = tweet.get("created_at")
                created.append(when if isinstance(when, str) and when else None)
                if when is not None and not isinstance(when, str):
                    other_times[row] = micros(parse_time(when))  # epoch numbers, say
            del items
            text = pa.array(texts, pa.large_string())
            authored = ~np.fromiter((t.startswith("RT @") for t in texts), bool, len(texts))
            moments = times(pa.array(created, pa.string()), DATE_FORMAT)
            for row, moment in other_times.items():
                moments[row] = moment
            yield batch("tweet", ids, text, moments, authored)

    @staticmethod
    def _identity(manifest: dict[str, Any], account_id: str | None, username: Any) -> Check:
        info = manifest.get("userInfo") or {}
        if not isinstance(info, dict):
            info = {}
        if not account_id or not username:
            return failed("account identity", "data/account.js lacks accountId or username")
        if str(info.get("accountId")) != account_id or info.get("userName") != username:
            return failed("account identity", "manifest.js and account.js name different accounts")
        return passed("account identity", "manifest.js and account.js name the same account")
