"""A throwaway local stack for benchmarks, brought up by the product's own
`datadao up --detach` on free ports and stopped with `datadao down`."""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dao_service.core.config import Settings, get_settings
from tests.utils.processes import port_flags, settings_for


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dao_service.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


@contextmanager
def local_stack(*up_options: str) -> Iterator[Settings]:
    """`up_options`: more options of `datadao up` (e.g. "--api-workers", "1")."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(Path(tmp) / "data")
        flags = port_flags(settings)
        up = _cli("up", "--detach", *flags, *up_options)
        if up.returncode != 0:
            raise SystemExit(f"datadao up failed:\n{up.stdout}\n{up.stderr}")
        # What the benchmarks contribute is published on the stack's platform stand-in
        # (tests.utils.participants.publish), as its accounts' own items.
        os.environ["DATADAO_REDDIT_API_URL"] = settings.platform_stand_in_url
        get_settings.cache_clear()
        try:
            yield settings
        finally:
            _cli("down", "--data-dir", str(settings.data_dir))
