"""The data card beside a fetched dataset (`datacard.json` and `datacard.md`): the schema
it follows, how many records of each source, kind and language, the days they span, the
rental's terms and expiry, and each contribution's CID and hash. Counted one part file at
a time, so memory follows the largest contribution, not the dataset."""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

COUNTED = ("source", "kind", "language")
TRAINING_NOTE = (
    "Texts are public posts of the contributors, with emails, phone numbers, IP addresses, "
    "card numbers and IBANs replaced by typed placeholders and people's handles by "
    "pseudonyms. A public post can still be found by searching for its text."
)


@dataclass
class Counts:
    records: int = 0
    by: dict[str, Counter[str]] = field(default_factory=lambda: {c: Counter() for c in COUNTED})
    first_day: date | None = None
    last_day: date | None = None

    def add_part(self, path: Path) -> int:
        """Count one part file (Parquet or JSON lines); its number of records."""
        import pyarrow.compute as pc

        table = read_part(path, [*COUNTED, "day"])
        for column in COUNTED:
            counted = pc.value_counts(table.column(column).combine_chunks()).to_pylist()
            self.by[column].update({c["values"]: c["counts"] for c in counted})
        days = pc.min_max(table.column("day"))
        for moment in (days["min"].as_py(), days["max"].as_py()):
            if isinstance(moment, str):
                moment = date.fromisoformat(moment)
            if moment is not None:
                self.first_day = min(self.first_day or moment, moment)
                self.last_day = max(self.last_day or moment, moment)
        self.records += table.num_rows
        return int(table.num_rows)


def read_part(path: Path, columns: list[str] | None = None) -> Any:
    """A part file (Parquet or JSON lines) as a pyarrow table, `columns` only if given."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path, columns=columns)
    import pyarrow.json as pj

    table = pj.read_json(path)
    return table if columns is None else table.select(columns)


def part_schema(path: Path) -> Any:
    """A part file's schema (Parquet's from its footer)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(path)
    return read_part(path).schema


def write_datacard(
    out: Path, body: dict[str, Any], counts: Counts, contributions: list[dict[str, Any]]
) -> dict[str, Any]:
    """datacard.json and datacard.md in `out`; returns the JSON body."""
    card = {
        **body,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "records": counts.records,
        "by_source": dict(counts.by["source"].most_common()),
        "by_kind": dict(counts.by["kind"].most_common()),
        "by_language": dict(counts.by["language"].most_common()),
        "date_range": {
            "first_day": counts.first_day.isoformat() if counts.first_day else None,
            "last_day": counts.last_day.isoformat() if counts.last_day else None,
        },
        "contributions": contributions,
        "privacy": TRAINING_NOTE,
    }
    from dao_service.client.fetch import write_atomically

    write_atomically(out / "datacard.json", json.dumps(card, indent=2).encode())
    write_atomically(out / "datacard.md", _markdown(card).encode())
    return card


def _markdown(card: dict[str, Any]) -> str:
    def table(title: str, counts: dict[str, int]) -> list[str]:
        rows = [f"| {name} | {count:,} |" for name, count in counts.items()]
        return [f"| {title} | records |", "| --- | ---: |", *rows, ""]

    schema, rental = card["schema"], card["rental"]
    lines = [
        f"# Dataset {card['dataset_id']}",
        "",
        f"{card['records']:,} records of schema `{schema['id']}` in `{card['data_dir']}/` "
        f"({card['format']}), from {len(card['contributions'])} contributions, written "
        f"{card['date_range']['first_day']} to {card['date_range']['last_day']}.",
        "",
        "## Rental",
        "",
        f"- renter: {card['renter']}",
        f"- access until: {rental['access_expires_at'] or 'no grant'}",
        *[
            f"- rental {r['id']}: {r['days']} days for {r['payment_eth']} ETH"
            for r in rental["rentals"]
        ],
        "",
        "## Schema",
        "",
        "| field | type |",
        "| --- | --- |",
        *[f"| {name} | {kind} |" for name, kind in schema["fields"]],
        "",
        "## Counts",
        "",
        *table("source", card["by_source"]),
        *table("kind", card["by_kind"]),
        *table("language", card["by_language"]),
        "## Privacy",
        "",
        card["privacy"],
        "",
        "## Contributions",
        "",
        "| contribution | records | CID | SHA-256 |",
        "| --- | ---: | --- | --- |",
        *[
            f"| {c['contribution_id']} | {c['records']:,} | {c['cid']} | {c['sha256']} |"
            for c in card["contributions"]
        ],
        "",
    ]
    return "\n".join(lines)
