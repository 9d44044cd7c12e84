"""Safe, in-memory unpacking of export archives.

Every limit is checked against what is actually decompressed, not what the archive
declares, and reading stops at the first chunk past a limit: a zip bomb is refused
after at most `max_ratio` x its compressed size (or `max_uncompressed`) of memory.
"""

import hashlib
import io
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

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
    if not name:
        raise ExportRejected("The archive has an entry without a name.")
    if "\\" in name or "\x00" in name:
        raise ExportRejected(f"Archive entry {name!r} has a backslash or NUL in its name.")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise ExportRejected(f"Archive entry {name!r} has an absolute path.")
    if ".." in path.parts:
        raise ExportRejected(f"Archive entry {name!r} climbs out of the archive with '..'.")
    return path.as_posix()


class Archive:
    """An export's files, read lazily: names and safety checks up front (from the
    central directory), contents only when a source asks, one file at a time, each
    read checked against the size and ratio limits as it decompresses. A bare JSON,
    NDJSON or CSV upload is an archive of one file named "export"."""

    def __init__(self, data: bytes, limits: UnpackLimits = UnpackLimits()) -> None:
        self.limits = limits
        self._bare: bytes | None = None
        self._entries: dict[str, zipfile.ZipInfo] = {}
        self._used = 0
        if not is_zip(data):
            self._bare = data
            return
        if len(data) > limits.max_compressed:
            raise ExportRejected(
                f"The archive is {len(data):,} bytes; the limit is {limits.max_compressed:,}."
            )
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            entries = self._zip.infolist()
        except UNREADABLE as exc:
            raise ExportRejected(f"The archive is not a readable zip file ({exc}).") from exc
        if len(entries) > limits.max_entries:
            raise ExportRejected(
                f"The archive has {len(entries):,} entries; the limit is {limits.max_entries:,}."
            )
        for entry in entries:
            name = _check_name(entry.filename)
            if stat.S_ISLNK(entry.external_attr >> 16):
                raise ExportRejected(f"Archive entry {name!r} is a symbolic link.")
            if entry.flag_bits & 0x1:
                raise ExportRejected(
                    f"Archive entry {name!r} is encrypted; exports are not password-protected."
                )
            if entry.is_dir():
                continue
            if len(PurePosixPath(name).parts) > limits.max_depth:
                raise ExportRejected(
                    f"Archive entry {name!r} is nested deeper than {limits.max_depth}."
                )
            if name in self._entries:
                raise ExportRejected(f"The archive has two entries named {name!r}.")
            self._entries[name] = entry

    @property
    def names(self) -> list[str]:
        return ["export"] if self._bare is not None else list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def size(self, name: str) -> int:
        """The size the archive declares (a hint for buffers; reads check real sizes)."""
        return len(self._bare) if self._bare is not None else self._entries[name].file_size

    def read(self, name: str) -> bytes:
        return b"".join(self.chunks(name))

    def chunks(self, name: str, size: int = CHUNK) -> Iterator[bytes]:
        """The file's bytes, chunk by chunk, or ExportRejected naming the broken rule."""
        if self._bare is not None:
            for start in range(0, len(self._bare), size):
                yield self._bare[start : start + size]
            return
        entry = self._entries[name]
        allowed = min(self.limits.max_entry, self.limits.max_uncompressed - self._used)
        ratio_cap = max(entry.compress_size, 1) * self.limits.max_ratio
        read = 0
        try:
            with self._zip.open(entry) as stream:
                while chunk := stream.read(size):
                    read += len(chunk)
                    if read > allowed:
                        raise ExportRejected(
                            f"Archive entry {name!r} unpacks past the size limit "
                            f"({allowed:,} bytes left of {self.limits.max_uncompressed:,})."
                        )
                    if read > ratio_cap and read > CHUNK:
                        raise ExportRejected(
                            f"Archive entry {name!r} expands more than "
                            f"{self.limits.max_ratio:.0f}x: a likely zip bomb."
                        )
                    yield chunk
        except ExportRejected:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, *UNREADABLE) as exc:
            raise ExportRejected(f"Archive entry {name!r} is damaged ({exc}).") from exc
        finally:
            self._used += read


class ChunkReader(io.RawIOBase):
    """A file-like view of `Archive.chunks` (for pyarrow's streaming CSV reader) that
    hashes what passes through, so a checksum costs no second read."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def _pull(self) -> bool:
        chunk = next(self._chunks, None)
        if chunk is None:
            return False
        self.sha256.update(chunk)
        self._pending += chunk
        return True

    def peek(self, size: int) -> bytes:
        """Up to `size` bytes from the start of what is unread, leaving them unread."""
        while len(self._pending) < size and self._pull():
            pass
        return self._pending[:size]

    def readinto(self, buffer: Any) -> int:
        if not self._pending and not self._pull():
            return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def drain(self) -> None:
        """Read to the end (the checksum then covers the whole file)."""
        self._pending = b""
        while self._pull():
            self._pending = b""
