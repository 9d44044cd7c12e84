"""Which stack runs for a data directory, and on which ports: what `datadao up` recorded.

Kept apart from the supervisor so that every command can find the running stack
without importing what it takes to start one.
"""

import json
from pathlib import Path
from typing import Any

from dao_service.core.config import Settings
from dao_service.stack.process import pid_alive


def stack_file(settings: Settings) -> Path:
    return settings.run_dir / "stack.json"


def read_stack(settings: Settings) -> dict[str, Any] | None:
    """What a running supervisor of this data directory recorded, if one runs."""
    path = stack_file(settings)
    try:
        stack: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stack if pid_alive(int(stack.get("supervisor_pid", 0))) else None


def settings_of_running_stack(settings: Settings) -> Settings:
    """The settings a running stack was started with (its ports), else `settings`."""
    stack = read_stack(settings)
    if stack is None:
        return settings
    return Settings(data_dir=settings.data_dir, **stack["settings"])
