"""Safe, in-memory unpacking of export archives.

Every limit is checked against what is actually decompressed, not what the archive
declares, and reading stops at the first chunk past a limit: a zip bomb is refused
after at most `max_ratio` x its compressed size (or `max_uncompressed`) of memory.
"""

import io
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from validators.exceptions import ExportRejected

CHUNK = 1 << 16
# What zipfile raises on damaged or unsupported archives (NotImplementedError: a
# compression method or zip version it does not know).
UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, NotImplementedError)


@dataclass(frozen=True)
class UnpackLimits:
    max_compressed: int = 512 * 1024 * 1024
    max_uncompressed: int = 2 * 1024 * 1024 * 1024
    max_ratio: float = 100.0
    max_entries: int = 20_000
    max_depth: int = 8
    max_entry: int = 1024 * 1024 * 1024


def is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _check_name(name: str) -> str:
    if "\\" in name or "\x00" in name:
        raise ExportRejected(f"Archive entry {name!r} has a backslash or NUL in its name.")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise ExportRejected(f"Archive entry {name!r} has an absolute path.")
    if ".." in path.parts:
        raise ExportRejected(f"Archive entry {name!r} climbs out of the archive with '..'.")
    return path.as_posix()


def unpack_zip(data: bytes, limits: UnpackLimits = UnpackLimits()) -> dict[str, bytes]:
    """The archive's files (path -> bytes), or ExportRejected naming the broken rule."""
    if len(data) > limits.max_compressed:
        raise ExportRejected(
            f"The archive is {len(data):,} bytes; the limit is {limits.max_compressed:,}."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise ExportRejected(f"The archive is not a readable zip file ({exc}).") from exc
    if len(entries) > limits.max_entries:
        raise ExportRejected(
            f"The archive has {len(entries):,} entries; the limit is {limits.max_entries:,}."
        )
    files: dict[str, bytes] = {}
    total = 0
    for entry in entries:
        name = _check_name(entry.filename)
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise ExportRejected(f"Archive entry {name!r} is a symbolic link.")
        if entry.is_dir():
            continue
        if len(PurePosixPath(name).parts) > limits.max_depth:
            raise ExportRejected(
                f"Archive entry {name!r} is nested deeper than {limits.max_depth}."
            )
        if name in files:
            raise ExportRejected(f"The archive has two entries named {name!r}.")
        content = _read_entry(archive, entry, name, limits, limits.max_uncompressed - total)
        total += len(content)
        files[name] = content
    return files


def _read_entry(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, name: str, limits: UnpackLimits, budget: int
) -> bytes:
    allowed = min(limits.max_entry, budget)
    ratio_cap = max(entry.compress_size, 1) * limits.max_ratio
    out = bytearray()
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(CHUNK):
                out += chunk
                if len(out) > allowed:
                    raise ExportRejected(
                        f"Archive entry {name!r} unpacks past the size limit "
                        f"({allowed:,} bytes left of {limits.max_uncompressed:,})."
                    )
                if len(out) > ratio_cap and len(out) > CHUNK:
                    raise ExportRejected(
                        f"Archive entry {name!r} expands more than {limits.max_ratio:.0f}x: "
                        f"a likely zip bomb."
                    )
    except ExportRejected:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise ExportRejected(f"Archive entry {name!r} is damaged ({exc}).") from exc
    return bytes(out)
