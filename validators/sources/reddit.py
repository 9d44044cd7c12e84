"""Reddit data-request export: a flat zip of CSVs with a checkfile of SHA-256 sums.

posts.csv and comments.csv stream through pyarrow a block at a time and are hashed as
they pass, so neither is ever held whole; the small files are read as they are."""

import hashlib
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from validators.decoding import csv_batches, parse_time, read_csv
from validators.report import Check, ParsedExport, RecordBatch
from validators.selection import REDDIT
from validators.sources.common import DateChecks, batch, failed, passed, times
from validators.unpack import Archive, ChunkReader

POSTS_COLUMNS = ("id", "permalink", "date", "subreddit", "title", "url", "body")
COMMENTS_COLUMNS = ("id", "permalink", "date", "subreddit", "link", "parent", "body")
STATISTICS_COLUMNS = ("statistic", "value")
RECORD_FILES = (("posts.csv", POSTS_COLUMNS, "post"), ("comments.csv", COMMENTS_COLUMNS, "comment"))
DATE_FORMAT = "%Y-%m-%d %H:%M:%S UTC"


class Checksums:
    """Every file matches its checkfile.csv SHA-256 (the record files are hashed while
    they stream past; the verdict comes once they have)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.streamed: dict[str, ChunkReader] = {}

    def observe(self, records: RecordBatch) -> None:
        pass

    def result(self) -> list[Check]:
        return [self._check()]

    def _digest(self, name: str) -> str:
        if name in self.streamed:
            self.streamed[name].drain()
            return self.streamed[name].sha256.hexdigest()
        digest = hashlib.sha256()
        for chunk in self.archive.chunks(name):
            digest.update(chunk)
        return digest.hexdigest()

    def _check(self) -> Check:
        files = self.archive.names
        if "checkfile.csv" not in files:
            return failed("checksums", "checkfile.csv is missing: the export cannot be verified")
        header, rows = read_csv("checkfile.csv", self.archive.read("checkfile.csv"))
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
                if REDDIT.takes(name):
                    return failed("checksums", f"{name} is listed in checkfile.csv but missing")
                continue  # a private file the contributor's machine kept
            if self._digest(name) != expected:
                return failed("checksums", f"{name} does not match its checkfile SHA-256: altered")
        unlisted = sorted(set(files) - set(listed) - {"checkfile.csv"})
        if unlisted:
            return failed("checksums", f"files not in checkfile.csv: {', '.join(unlisted)}")
        verified = sum(1 for name in listed if name in files)
        return passed("checksums", f"all {verified} uploaded files match checkfile.csv")


class RedditExport:
    name = "reddit"

    def detect(self, archive: Archive) -> bool:
        names = archive.names
        return "statistics.csv" in names and ("posts.csv" in names or "comments.csv" in names)

    def parse(self, archive: Archive) -> ParsedExport:
        checks: list[Check] = []
        header, rows = read_csv("statistics.csv", archive.read("statistics.csv"))
        checks.append(self._columns("statistics.csv", header, STATISTICS_COLUMNS))
        statistics = {
            (r.get("statistic") or "").strip().lower(): (r.get("value") or "").strip() for r in rows
        }
        account_name = statistics.get("account name") or None
        export_time = parse_time(statistics.get("export time"))
        registered_at = parse_time(statistics.get("registration date"))
        checks.append(
            passed("account identity", "statistics.csv names the account")
            if account_name
            else failed("account identity", "statistics.csv has no 'account name'")
        )
        checksums = Checksums(archive)
        return ParsedExport(
            source=self.name,
            account_id=account_name.lower() if account_name else None,
            account_name=account_name,
            export_time=export_time,
            registered_at=registered_at,
            authenticity=checks,
            batches=self._records(archive, checks, checksums),
            record_checks=[checksums, DateChecks(export_time, registered_at)],
        )

    def _records(
        self, archive: Archive, checks: list[Check], checksums: Checksums
    ) -> Iterator[RecordBatch]:
        for name, columns, kind in RECORD_FILES:
            if name not in archive.names:
                continue
            reader = checksums.streamed[name] = ChunkReader(archive.chunks(name, 1 << 20))
            header, blocks = csv_batches(name, archive, reader)
            checks.append(self._columns(name, header, columns))
            # Python's DictReader keeps the last of two columns of the same name.
            position = {column: i for i, column in enumerate(header)}
            for block in blocks:
                yield self._batch(kind, block, position)

    @staticmethod
    def _batch(kind: str, block: pa.RecordBatch, position: dict[str, int]) -> RecordBatch:
        def column(name: str) -> pa.Array:
            if name in position and position[name] < block.num_columns:
                return block.column(position[name])
            return pa.array([""] * block.num_rows, pa.large_string())

        if kind == "comment":
            text = column("body")
        else:  # "\n".join of the non-empty title and body
            title, body = column("title"), column("body")
            both = pc.binary_join_element_wise(title, body, pa.scalar("\n", pa.large_string()))
            text = pc.if_else(
                pc.equal(title, ""), body, pc.if_else(pc.equal(body, ""), title, both)
            )
        created = times(column("date"), DATE_FORMAT)
        return batch(kind, column("id"), text, created, community=column("subreddit"))

    @staticmethod
    def _columns(name: str, header: list[str], required: tuple[str, ...]) -> Check:
        missing = [c for c in required if c not in header]
        if missing:
            return failed(f"{name} columns", f"{name} lacks columns: {', '.join(missing)}")
        return passed(f"{name} columns", f"{name} has every expected column")
