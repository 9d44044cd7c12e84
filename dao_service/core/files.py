"""Private files (the service's keys and spool, a user's keystores): owner-only, fsynced,
replaced atomically."""

import os
from pathlib import Path


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` (mode 600) so that a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover from a crash would keep its own permissions
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
