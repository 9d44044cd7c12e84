#!/usr/bin/env python
"""The cost of each step of one key release (5 keys), in this process, without HTTP:
what a release does between reading its request and writing its answer.

    .venv/bin/python bench/key_release_steps.py [--runs 2000]

A generated SQLite database (5 minted contributions), the grant already known for the
current block (the common case), the release log committing one release at a time.
Median microseconds per step. Results: bench/RESULTS.md.
"""

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dao_service.chain.challenges import challenge_text, recover_public_key
from dao_service.chain.dev_accounts import dev_account
from dao_service.client.fetch import sign_challenge
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey, SealingKeys
from dao_service.keys.grants import SharedGrants
from dao_service.keys.release import LIVE_KEYS, KeyReleaseService, SignedRequest
from dao_service.keys.release_log import LogEntry, UsedChallenge
from dao_service.storage.database import make_engine, migrate, session_factory
from tests.keys.test_paging import generate

RENTER = dev_account(5)
ACCESS = "0x" + "ac" * 20


class Chain:
    chain_id = 31337
    access_registry = ACCESS

    def latest_block(self) -> int:
        return 7

    def grant_at(self, dataset_id: int, account: str, block: int) -> tuple[bool, int, bool]:
        return True, 2_000_000_000, False


def median_us(step: Callable[[], Any], runs: int) -> float:
    for _ in range(min(100, runs)):
        step()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        step()
        samples.append((time.perf_counter() - began) * 1e6)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'keys.sqlite3'}")
        migrate(engine)
        custody = CustodyKey("", Path(tmp) / "custody.key")
        generate(session_factory(engine), custody, 5)
        chain = Chain()
        grants = SharedGrants(engine, lambda: chain)
        grants.start()  # as the service does: the block is watched in the background
        grants.grant(1, RENTER.address)
        settings = Settings(data_dir=Path(tmp))
        service = KeyReleaseService(settings, engine, custody, lambda: chain, grants)

        def signed() -> tuple[str, int, bytes]:
            nonce, expires = secrets.token_hex(16), int(time.time()) + 60
            text = challenge_text(RENTER.address, 1, 31337, ACCESS, nonce, expires)
            return nonce, expires, bytes.fromhex(sign_challenge(RENTER, text)[2:])

        nonce, expires, signature = signed()
        text = challenge_text(RENTER.address, 1, 31337, ACCESS, nonce, expires)
        public_key = recover_public_key(text, signature)
        assert public_key is not None
        params = {"dataset_id": 1, "after": 0, "rows": 1001, "contributor": ""}
        with engine.connect() as connection:
            rows = connection.execute(LIVE_KEYS, params).all()
        file_keys = [custody.unwrap(row.wrapped_key) for row in rows]

        def query() -> None:
            with engine.connect() as connection:
                connection.execute(LIVE_KEYS, params).all()

        def commit() -> None:
            used = UsedChallenge(secrets.token_hex(16), RENTER.address, expires)
            service.log.submit(LogEntry(RENTER.address, 1, "released", "5 keys", used)).result()

        async def releases() -> float:
            """Median of whole releases, one after another on one event loop."""
            signatures = [signed() for _ in range(runs)]
            samples = []
            for nonce, expires, signature in signatures:
                began = time.perf_counter()
                request = SignedRequest(RENTER.address, 1, 31337, nonce, expires, signature)
                await service.release(request, 1000)
                samples.append((time.perf_counter() - began) * 1e6)
            return statistics.median(samples)

        renter_key = public_key.to_bytes()
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("compose the signed text",
             lambda: challenge_text(RENTER.address, 1, 31337, ACCESS, nonce, expires)),
            ("recover the signer's public key", lambda: recover_public_key(text, signature)),
            ("its checksum address", public_key.to_checksum_address),
            ("grant known for this block", lambda: grants.remembered(1, RENTER.address)),
            ("query the keys (SQLite)", query),
            ("unwrap 5 file keys", lambda: [custody.unwrap(row.wrapped_key) for row in rows]),
            ("seal 5 keys to the renter (ECIES)",
             lambda: SealingKeys().seal(renter_key, file_keys)),
            ("seal 5 keys, sealing key made",
             lambda: service.sealing.seal(renter_key, file_keys)),
            ("commit nonce + audit row (alone)", commit),
        ]  # fmt: skip
        print(f"median of {runs:,} runs, microseconds")
        for name, step in steps:
            print(f"  {name:<34} {median_us(step, runs):8.1f}")
        print(f"  {'whole release, in process':<34} {asyncio.run(releases()):8.1f}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
