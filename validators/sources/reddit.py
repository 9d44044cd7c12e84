"""Reddit data-request export: a flat zip of CSVs with a checkfile of SHA-256 sums."""

import hashlib

from validators._utils.text import parse_time, read_csv
from validators.report import Check, ParsedExport, Record
from validators.sources.common import date_checks, failed, passed

POSTS_COLUMNS = ("id", "permalink", "date", "subreddit", "title", "url", "body")
COMMENTS_COLUMNS = ("id", "permalink", "date", "subreddit", "link", "parent", "body")
STATISTICS_COLUMNS = ("statistic", "value")


class RedditExport:
    name = "reddit"

    def detect(self, files: dict[str, bytes]) -> bool:
        return "statistics.csv" in files and ("posts.csv" in files or "comments.csv" in files)

    def parse(self, files: dict[str, bytes]) -> ParsedExport:
        checks: list[Check] = [self._checkfile(files)]
        header, rows = read_csv("statistics.csv", files["statistics.csv"])
        checks.append(self._columns("statistics.csv", header, STATISTICS_COLUMNS))
        statistics = {
            r.get("statistic", "").strip().lower(): (r.get("value") or "").strip() for r in rows
        }
        account_name = statistics.get("account name") or None
        export_time = parse_time(statistics.get("export time"))
        registered_at = parse_time(statistics.get("registration date"))
        checks.append(
            passed("account identity", "statistics.csv names the account")
            if account_name
            else failed("account identity", "statistics.csv has no 'account name'")
        )

        records: list[Record] = []
        for name, columns, kind in (
            ("posts.csv", POSTS_COLUMNS, "post"),
            ("comments.csv", COMMENTS_COLUMNS, "comment"),
        ):
            if name not in files:
                continue
            header, rows = read_csv(name, files[name])
            checks.append(self._columns(name, header, columns))
            for row in rows:
                text = (
                    (row.get("body") or "")
                    if kind == "comment"
                    else "\n".join(part for part in (row.get("title"), row.get("body")) if part)
                )
                records.append(
                    Record(
                        record_id=f"{kind}:{row.get('id', '')}",
                        kind=kind,
                        text=text,
                        created_at=parse_time(row.get("date")),
                    )
                )
        checks.extend(date_checks(records, export_time, registered_at))
        return ParsedExport(
            source=self.name,
            account_id=account_name.lower() if account_name else None,
            account_name=account_name,
            export_time=export_time,
            registered_at=registered_at,
            records=records,
            authenticity=checks,
        )

    @staticmethod
    def _columns(name: str, header: list[str], required: tuple[str, ...]) -> Check:
        missing = [c for c in required if c not in header]
        if missing:
            return failed(f"{name} columns", f"{name} lacks columns: {', '.join(missing)}")
        return passed(f"{name} columns", f"{name} has every expected column")

    @staticmethod
    def _checkfile(files: dict[str, bytes]) -> Check:
        if "checkfile.csv" not in files:
            return failed("checksums", "checkfile.csv is missing: the export cannot be verified")
        header, rows = read_csv("checkfile.csv", files["checkfile.csv"])
        if "filename" not in header or "sha256" not in header:
            return failed("checksums", "checkfile.csv lacks its filename/sha256 columns")
        listed: dict[str, str] = {}
        for line, row in enumerate(rows, 2):
            name, digest = (row.get("filename") or "").strip(), (row.get("sha256") or "").strip()
            if not name or not digest:
                return failed("checksums", f"checkfile.csv line {line} lacks a filename or sha256")
            listed[name] = digest.lower()
        for name, expected in sorted(listed.items()):
            if name not in files:
                return failed("checksums", f"{name} is listed in checkfile.csv but missing")
            if hashlib.sha256(files[name]).hexdigest() != expected:
                return failed("checksums", f"{name} does not match its checkfile SHA-256: altered")
        unlisted = sorted(set(files) - set(listed) - {"checkfile.csv"})
        if unlisted:
            return failed("checksums", f"files not in checkfile.csv: {', '.join(unlisted)}")
        return passed("checksums", f"all {len(listed)} files match checkfile.csv")
