"""A custody node process: `python -m dao_service.custody_node`, settings from
`DATADAO_NODE_*` (see dao_service/custody/settings.py). Stops on SIGTERM or SIGINT."""

import sys

import uvicorn

from dao_service.custody.app import create_app
from dao_service.custody.settings import get_node_settings
from dao_service.exceptions import DataDaoError


def main() -> None:
    settings = get_node_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,  # a line per release would cost more than the release
    )


if __name__ == "__main__":
    try:
        main()
    except DataDaoError as exc:  # a refused setting: one line, no traceback
        sys.exit(f"custody node: {exc.user_message}")
