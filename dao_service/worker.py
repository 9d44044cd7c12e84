"""An intake worker process: `python -m dao_service.worker`, settings from the
environment as for the API. Run any number, on any machines sharing the database; each
claims work under a lease. Stops on SIGTERM or SIGINT."""

import logging
import signal
import sys
import threading

from dao_service.core.config import get_settings
from dao_service.exceptions import DataDaoError
from dao_service.runtime import open_runtime


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    with open_runtime(get_settings()) as parts:
        worker = parts.intake.worker
        worker.start()
        logging.getLogger("dao_service.intake").info("worker %s started", worker.name)
        stopped.wait()
        worker.stop()


if __name__ == "__main__":
    try:
        main()
    except DataDaoError as exc:  # a refused setting: one line, no traceback
        sys.exit(f"intake worker: {exc.user_message}")
