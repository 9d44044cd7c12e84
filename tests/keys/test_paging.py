"""Paged key release on a generated database (no chain, no IPFS: a fake grant): pages
follow a cursor to the end, the cursor cannot be forged, a revoked renter gets no more,
and a dataset of a million contributions is released in full."""

import asyncio
import os
import time
from pathlib import Path

import ecies
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.dev_accounts import dev_account
from dao_service.client.fetch import sign_challenge
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey
from dao_service.exceptions import KeyRefused, StackError
from dao_service.keys.release import KeyReleaseService, ReleasedPage, SignedRequest
from validators.refine import SCHEMA_ID

RENTER = dev_account(5)


class Grants:
    chain_id = 31337
    access_registry = "0x" + "ac" * 20

    def __init__(self) -> None:
        self.allowed = True
        self.expires = 2_000_000_000

    def remembered(self, dataset_id: int, account: str) -> tuple[bool, int, bool] | None:
        return None

    def grant(self, dataset_id: int, account: str) -> tuple[bool, int, bool]:
        return (self.allowed, self.expires, not self.allowed)


def generate(sessions: sessionmaker[Session], custody: CustodyKey, count: int) -> bytes:
    """`count` minted contributions sharing one file key (the key is not what is tested),
    written through the driver: a million rows in seconds."""
    file_key = os.urandom(32)
    wrapped, now = custody.wrap(file_key), "2026-11-23 00:00:00.000000"
    columns = (
        "public_id, statement_nonce, contributor, dataset_id, source, plaintext_sha256, "
        "stage, report, score, wrapped_key, iv, ciphertext_size, withdrawn, cid, "
        "refined_sha256, record_count, schema_id, created_at, updated_at"
    )
    fixed = ("0x" + "11" * 20, 1, "reddit", "0x" + "00" * 32, "MINTED", "{}", 1, wrapped,
             b"\0" * 12, 1, False, "bafk", "0x" + "22" * 32, 1, SCHEMA_ID, now, now)  # fmt: skip
    with sessions.begin() as session:
        session.connection().exec_driver_sql(
            f"INSERT INTO contributions ({columns}) VALUES ({', '.join(['?'] * 19)})",
            [(f"c{i}", f"n{i}", *fixed) for i in range(count)],
        )
    return file_key


def first_page(service: KeyReleaseService, limit: int) -> ReleasedPage:
    nonce, text, expires = service.challenge(RENTER.address, 1)
    signature = bytes.fromhex(sign_challenge(RENTER, text)[2:])
    request = SignedRequest(RENTER.address, 1, 31337, nonce, expires, signature)
    return asyncio.run(service.release(request, limit))


def next_page(service: KeyReleaseService, cursor: str, limit: int) -> ReleasedPage:
    return asyncio.run(service.next_page(cursor, limit))


def service_for(
    tmp_path: Path, sessions: sessionmaker[Session], grants: Grants
) -> KeyReleaseService:
    custody = CustodyKey("", tmp_path / "custody.key")
    return KeyReleaseService(
        Settings(data_dir=tmp_path), sessions.kw["bind"], custody, lambda: grants, grants
    )


def test_pages_follow_the_cursor_to_the_end_and_the_cursor_cannot_be_forged(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    grants = Grants()
    service = service_for(tmp_path, sessions, grants)
    file_key = generate(sessions, service.custody, 7)
    page = first_page(service, 3)
    pages = [page]
    while page.cursor:
        page = next_page(service, page.cursor, 3)
        pages.append(page)
    assert [len(p.keys) for p in pages] == [3, 3, 1]
    assert [k.contribution_id for p in pages for k in p.keys] == [f"c{i}" for i in range(7)]
    assert ecies.decrypt(RENTER.key.hex(), pages[2].keys[0].encrypted_key) == file_key

    cursor = first_page(service, 3).cursor
    assert cursor is not None
    fields = cursor.split(".")
    fields[2] = "0"  # start over without a new signature: the MAC no longer matches
    with pytest.raises(KeyRefused, match="unknown cursor"):
        next_page(service, ".".join(fields), 3)
    grants.allowed = False  # revoked between two pages: nothing more
    assert next_page(service, cursor, 3).keys == []


def test_a_grant_past_its_expiry_by_the_clock_releases_nothing(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    """A chain that makes no new blocks still says canDecrypt at its last block's time."""
    grants = Grants()
    service = service_for(tmp_path, sessions, grants)
    generate(sessions, service.custody, 3)
    assert len(first_page(service, 3).keys) == 3
    grants.expires = int(time.time()) - 1  # the chain's answer has not changed
    with pytest.raises(KeyRefused, match="expired at"):
        first_page(service, 3)


def test_a_million_contributions_are_released_page_by_page(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    service = service_for(tmp_path, sessions, Grants())
    generate(sessions, service.custody, 1_000_000)
    started = time.monotonic()
    page, released, last = first_page(service, 5000), 0, ""
    while True:
        released += len(page.keys)
        assert page.keys[-1].contribution_id != last
        last = page.keys[-1].contribution_id
        if page.cursor is None:
            break
        page = next_page(service, page.cursor, 5000)
    assert released == 1_000_000 and last == "c999999"
    print(f"released 1,000,000 keys in {time.monotonic() - started:.1f} s")


def test_a_chain_that_does_not_answer_is_a_clear_error(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    class Unreachable(Grants):
        def grant(self, dataset_id: int, account: str) -> tuple[bool, int, bool]:
            raise ConnectionError("connection refused")

    service = service_for(tmp_path, sessions, Unreachable())
    generate(sessions, service.custody, 1)
    with pytest.raises(StackError, match="did not answer"):
        first_page(service, 3)
