"""A node destroys its shares of contributions the chain records withdrawn or voided, as
it reads them through its own RPC: nobody has to ask it (a node that was down during a
withdrawal, a void the service never hears of), and until then it releases them only to
renters the chain grants access to."""

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine, select

from dao_service.custody import holding
from dao_service.custody.chain import NodeChain
from dao_service.models import CustodyShare

log = logging.getLogger(__name__)

ENDINGS = ("ContributionWithdrawn", "ContributionVoided")
BLOCKS_PER_READ = 10_000  # a log query's range; an RPC provider may refuse larger ones


class Shredder:
    def __init__(self, engine: Engine, chain: Callable[[], NodeChain], poll_seconds: float) -> None:
        self.engine, self._chain, self.poll_seconds = engine, chain, poll_seconds
        self._next_block: int | None = None  # the first block not read yet
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.poll_seconds <= 0:
            return
        self._thread = threading.Thread(target=self._watch, name="shredder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def poll(self) -> int:
        """Read the ended contributions since the last poll; destroy the shares held of
        them. Returns how many shares were destroyed."""
        chain = self._chain()
        latest = chain.w3.eth.block_number
        deployed = chain.manifest.contracts["ContributionRegistry"].block_number
        start = self._next_block if self._next_block is not None else deployed
        ended: set[str] = set()
        for first in range(start, latest + 1, BLOCKS_PER_READ):
            last = min(first + BLOCKS_PER_READ - 1, latest)
            for name in ENDINGS:
                event = getattr(chain.registry.events, name)()
                for entry in event.get_logs(from_block=first, to_block=last):
                    ended.add("0x" + bytes(entry["args"]["fingerprint"]).hex())
        destroyed = 0
        if ended:
            with self.engine.connect() as connection:
                held = set(
                    connection.execute(
                        select(CustodyShare.fingerprint).where(
                            CustodyShare.fingerprint.in_(sorted(ended))
                        )
                    ).scalars()
                )
            for fingerprint in sorted(held):
                destroyed += holding.destroy(self.engine, chain, fingerprint)
        self._next_block = latest + 1
        return destroyed

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                if destroyed := self.poll():
                    log.info("destroyed %d shares of withdrawn or voided contributions", destroyed)
            except Exception as exc:  # the chain away: read again at the next poll
                log.warning("could not read ended contributions: %s", exc)
            self._stopping.wait(self.poll_seconds)
