"""X/Twitter archive: `data/*.js` files assigning JSON to `window.YTD.<name>.part0`,
described by `data/manifest.js` (account, generation date, files and their counts)."""

import re
from typing import Any

from validators._utils.text import parse_time, parse_ytd
from validators.exceptions import ExportRejected
from validators.report import Check, ParsedExport, Record
from validators.sources.common import date_checks, failed, passed

TWEET_FILE = re.compile(r"^data/(tweets?|tweets-part\d+)\.js$")


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class TwitterArchive:
    name = "twitter"

    def detect(self, files: dict[str, bytes]) -> bool:
        return "data/account.js" in files and "data/manifest.js" in files

    def parse(self, files: dict[str, bytes]) -> ParsedExport:
        account_items = parse_ytd("data/account.js", files["data/account.js"])
        account = (
            _dig(account_items[0], "account")
            if isinstance(account_items, list) and account_items
            else None
        )
        if not isinstance(account, dict):
            raise ExportRejected("data/account.js holds no account record.")
        manifest = parse_ytd("data/manifest.js", files["data/manifest.js"])
        if not isinstance(manifest, dict):
            raise ExportRejected("data/manifest.js holds no manifest object.")

        account_id = str(account.get("accountId") or "") or None
        username = account.get("username") or None
        export_time = parse_time(_dig(manifest, "archiveInfo", "generationDate"))
        registered_at = parse_time(account.get("createdAt"))
        checks: list[Check] = [self._identity(manifest, account_id, username)]

        parsed: dict[str, Any] = {}
        for name in sorted(files):
            if TWEET_FILE.match(name):
                parsed[name] = parse_ytd(name, files[name])
        checks.append(self._manifest_files(manifest, files, parsed))

        records: list[Record] = []
        for name, items in parsed.items():
            if not isinstance(items, list):
                raise ExportRejected(f"{name} does not hold a list of tweets.")
            for item in items:
                tweet = _dig(item, "tweet")
                if not isinstance(tweet, dict):
                    raise ExportRejected(f"{name} has an entry without a tweet object.")
                text = str(tweet.get("full_text") or tweet.get("text") or "")
                records.append(
                    Record(
                        record_id=f"tweet:{tweet.get('id_str') or tweet.get('id') or ''}",
                        kind="tweet",
                        text=text,
                        created_at=parse_time(tweet.get("created_at")),
                        authored_by_account=not text.startswith("RT @"),
                    )
                )
        checks.extend(date_checks(records, export_time, registered_at))
        return ParsedExport(
            source=self.name,
            account_id=account_id,
            account_name=username,
            export_time=export_time,
            registered_at=registered_at,
            records=records,
            authenticity=checks,
        )

    @staticmethod
    def _identity(manifest: dict[str, Any], account_id: str | None, username: str | None) -> Check:
        info = manifest.get("userInfo") or {}
        if not account_id or not username:
            return failed("account identity", "data/account.js lacks accountId or username")
        if str(info.get("accountId")) != account_id or info.get("userName") != username:
            return failed("account identity", "manifest.js and account.js name different accounts")
        return passed("account identity", "manifest.js and account.js name the same account")

    @staticmethod
    def _manifest_files(
        manifest: dict[str, Any], files: dict[str, bytes], parsed: dict[str, Any]
    ) -> Check:
        described: dict[str, int] = {}
        for data_type in (manifest.get("dataTypes") or {}).values():
            for entry in (data_type or {}).get("files", []) or []:
                try:
                    described[str(entry["fileName"]).removeprefix("./")] = int(
                        entry.get("count", 0)
                    )
                except (KeyError, TypeError, ValueError):
                    return failed("manifest", "a manifest file entry lacks fileName or count")
        for name, count in sorted(described.items()):
            if name not in files:
                return failed("manifest", f"the manifest lists {name}, which the archive lacks")
            if name in parsed and not isinstance(parsed[name], list):
                return failed("manifest", f"{name} does not hold a list of items")
            if name in parsed and len(parsed[name]) != count:
                return failed(
                    "manifest", f"{name} holds {len(parsed[name])} items, the manifest says {count}"
                )
        stray = sorted(set(parsed) - set(described))
        if stray:
            return failed("manifest", f"tweet files missing from the manifest: {', '.join(stray)}")
        return passed("manifest", f"all {len(described)} described files present with their counts")
