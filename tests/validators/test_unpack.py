"""Safe unpacking: bombs, traversal, links, duplicates and damage are refused, in bounded memory."""

import io
import time
import tracemalloc
import zipfile

import pytest

from dao_service.stack.sample_exports import zip_files
from validators.exceptions import ExportRejected
from validators.unpack import Archive, UnpackLimits


def unpack_zip(data: bytes, limits: UnpackLimits = UnpackLimits()) -> dict[str, bytes]:
    """Every file of the archive, read the way the sources read them."""
    archive = Archive(data, limits)
    return {name: archive.read(name) for name in archive.names}


def test_zip_bomb_is_refused_fast_in_bounded_memory() -> None:
    bomb = zip_files(
        {"comments.csv": b"\0" * (300 * 1024 * 1024)}
    )  # 300 MiB of zeros, ~300 KiB zipped
    assert len(bomb) < 1024 * 1024
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ExportRejected, match="expands more than 100x"):
        unpack_zip(bomb)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 100 * len(bomb) + 8 * 1024 * 1024  # the ratio limit bounds what is read


def test_total_size_limit_counts_real_bytes_not_declared_sizes() -> None:
    data = zip_files({f"f{i}.csv": bytes(range(256)) * 400 for i in range(5)}, zipfile.ZIP_STORED)
    with pytest.raises(ExportRejected, match="past the size limit"):
        unpack_zip(data, UnpackLimits(max_uncompressed=300_000))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.csv", "climbs out"),
        ("a/../../evil.csv", "climbs out"),
        ("/etc/passwd", "absolute path"),
        ("dir\\evil.csv", "backslash"),
    ],
)
def test_unsafe_names_are_refused(name: str, message: str) -> None:
    with pytest.raises(ExportRejected, match=message):
        unpack_zip(zip_files({name: b"x"}))


def test_symlink_entries_are_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(ExportRejected, match="symbolic link"):
        unpack_zip(buffer.getvalue())


def test_duplicate_names_are_refused() -> None:
    buffer = io.BytesIO()
    with pytest.warns(UserWarning), zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("posts.csv", b"a")
        archive.writestr("posts.csv", b"b")
    with pytest.raises(ExportRejected, match=r"two entries named 'posts\.csv'"):
        unpack_zip(buffer.getvalue())


def test_entry_count_and_depth_limits() -> None:
    with pytest.raises(ExportRejected, match="entries"):
        unpack_zip(zip_files({f"{i}.csv": b"x" for i in range(30)}), UnpackLimits(max_entries=20))
    with pytest.raises(ExportRejected, match="nested deeper"):
        unpack_zip(zip_files({"a/b/c/d/e/f/g/h/i/j.csv": b"x"}))


def test_truncated_zip_is_refused() -> None:
    data = zip_files({"posts.csv": b"id,body\n" + b"1,hello\n" * 1000})
    with pytest.raises(ExportRejected, match=r"not a readable zip|damaged"):
        unpack_zip(data[: len(data) // 2])


def test_corrupted_entry_is_refused() -> None:
    data = bytearray(zip_files({"posts.csv": b"id,body\n" + b"1,hello world\n" * 500}))
    data[60] ^= 0xFF  # inside the compressed stream
    with pytest.raises(ExportRejected):
        unpack_zip(bytes(data))
