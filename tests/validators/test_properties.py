"""Property-based: malformed exports of every kind get a clear rejection, never an
unhandled exception."""

import io
import json
import os
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dao_service.stack.sample_exports import (
    reddit_export,
    reddit_files,
    reddit_spec,
    with_checkfile,
    x_archive,
    zip_files,
)
from tests.validators.conftest import context
from validators import DedupIndex, validate_export

INDEX = DedupIndex(":memory:")
REDDIT = reddit_export(reddit_spec(comments=10, posts=2))
X = x_archive()
SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    derandomize=not os.environ.get("HYPOTHESIS_EXAMPLES"),  # CI: the same cases every run
    suppress_health_check=[HealthCheck.too_slow],
)


def check(data: bytes) -> None:
    report = validate_export(data, context(), INDEX).report
    if not report.accepted:
        assert report.rejection_reasons and all(r.strip() for r in report.rejection_reasons)


@SETTINGS
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@SETTINGS
@given(
    st.sampled_from([REDDIT, X]),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=20),
)
def test_corrupted_archives(archive: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(archive)
    for position, value in flips:
        data[position % len(data)] = value
    check(bytes(data))


@SETTINGS
@given(st.sampled_from([REDDIT, X]), st.floats(0, 1))
def test_truncated_archives(archive: bytes, fraction: float) -> None:
    check(archive[: int(len(archive) * fraction)])


@SETTINGS
@given(
    st.sampled_from(["posts.csv", "comments.csv", "statistics.csv", "checkfile.csv"]),
    st.text(max_size=2000),
)
def test_reddit_files_with_arbitrary_content(name: str, content: str) -> None:
    files = with_checkfile(reddit_files(reddit_spec(comments=3, posts=1)))
    files[name] = content.encode("utf-8", "replace")
    check(zip_files(files))


@SETTINGS
@given(
    st.sampled_from(["data/tweets.js", "data/account.js", "data/manifest.js"]),
    st.text(max_size=2000),
)
def test_x_files_with_arbitrary_content(name: str, content: str) -> None:
    buffer = io.BytesIO(X)
    with zipfile.ZipFile(buffer) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    files[name] = f"window.YTD.x.part0 = {content}".encode("utf-8", "replace")
    check(zip_files(files))


JSON_LEAVES = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda kids: (
        st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=10), kids, max_size=5)
    ),
    max_leaves=30,
)


@SETTINGS
@given(JSON_VALUES)
def test_generic_json_of_any_shape(value: object) -> None:
    check(json.dumps(value).encode())
