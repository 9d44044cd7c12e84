"""Mutation fuzz: exports broken the way careless or hostile users break them (byte
flips, truncation, spliced junk, deep nesting, thousands of entries, nested zips, huge
fields) are each a rejection with a reason, never an unhandled exception.

Deterministic in CI (the first FUZZ_EXPORTS seeds, 300 by default); set
FUZZ_EXPORTS=10000 (and FUZZ_START to shift the window) for a deeper run.
"""

import io
import os
import zipfile
from collections import Counter
from collections.abc import Callable

import pytest

from dao_service.stack.sample_exports import x_files, x_spec, zip_files
from tests.utils.mutations import X_FILES, mutated
from tests.validators.conftest import context
from validators import DedupIndex, validate_export
from validators.pipeline import INTERNAL_ERROR

COUNT = int(os.environ.get("FUZZ_EXPORTS", "300"))
START = int(os.environ.get("FUZZ_START", "0"))


def test_mutated_exports_are_rejections_with_reasons_never_exceptions() -> None:
    index = DedupIndex(":memory:")
    raised: list[str] = []
    reasonless: list[str] = []
    internal: list[str] = []
    kinds: Counter[str] = Counter()
    for seed in range(START, START + COUNT):
        kind, data = mutated(seed)
        kinds[kind] += 1
        try:
            report = validate_export(data, context(), index).report
        except Exception as exc:
            raised.append(f"{seed} {kind}: {type(exc).__name__}")
            continue
        if not report.accepted and not all(r.strip() for r in report.rejection_reasons or [""]):
            reasonless.append(f"{seed} {kind}")
        if any(r.startswith(INTERNAL_ERROR) for r in report.rejection_reasons):
            internal.append(f"{seed} {kind}: {report.rejection_reasons}")
    assert len(kinds) == 7, kinds  # every kind of mutation was tried
    assert raised == [], raised
    assert reasonless == [], reasonless
    assert internal == [], internal  # the safety net caught nothing: no bug behind it


@pytest.mark.parametrize("depth", [1_100, 5_000, 100_000])
def test_deeply_nested_json_is_refused_as_nested_too_deeply(depth: int) -> None:
    nested = "[" * depth + "]" * depth
    files = x_files(x_spec(seed=22, tweets=12))  # as uploaded
    files["data/tweets.js"] = f"window.YTD.tweets.part0 = [{nested}]".encode()
    stored = zip_files(files, zipfile.ZIP_STORED)  # deflated, 100,000 brackets look like a bomb
    for data, name in ((stored, "data/tweets.js"), (nested.encode(), "export")):
        report = validate_export(data, context(), DedupIndex(":memory:")).report
        assert not report.accepted
        assert report.rejection_reasons == [
            f"{name} is nested too deeply (more than 1,024 levels of JSON arrays or objects, "
            "at line 1); no export nests like that."
        ]


def test_json_just_under_the_depth_limit_is_read() -> None:
    nested = "[" * 1_000 + "]" * 1_000
    data = f'[{{"text": "an item with enough words to be worth something", "body": {nested}}}]'
    report = validate_export(data.encode(), context(), DedupIndex(":memory:")).report
    assert report.accepted, report.rejection_reasons


def nameless_entry() -> bytes:
    """An X archive with one more entry whose name is empty."""
    buffer = io.BytesIO(zip_files(X_FILES))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"{}")
    return buffer.getvalue()


def encrypted_entry() -> bytes:
    """An X archive whose first entry is flagged as encrypted (general purpose bit 0),
    in its local header and in the central directory."""
    data = bytearray(zip_files(X_FILES))
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 6] |= 1
    data[central + 8] |= 1
    return bytes(data)


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (nameless_entry, "an entry without a name"),
        (encrypted_entry, "is encrypted; exports are not password"),
    ],
    ids=["nameless", "encrypted"],
)
def test_what_the_deep_fuzz_found_is_a_rejection(build: Callable[[], bytes], reason: str) -> None:
    report = validate_export(build(), context(), DedupIndex(":memory:")).report
    assert not report.accepted and reason in " ".join(report.rejection_reasons)
