"""Intake's stages on their own: a real SQLite database, fakes for the chain and IPFS."""

import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.attestations import Attestation
from dao_service.intake.records import Spool
from dao_service.models import Contribution, Stage, StatementNonce


class FakeIpfs:
    """Content-addressed in memory; `down` makes it unreachable."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.down = False

    def add(self, data: bytes, *, pin: bool = True) -> str:
        if self.down:
            raise ConnectionError("IPFS is not answering")
        cid = "bafk" + secrets.token_hex(8)
        self.blobs[cid] = data
        return cid


class FakeChain:
    """The registry as minting sees it: fingerprint -> (contributor, tx hash)."""

    chain_id = 31337
    registry_address = "0x" + "42" * 20

    def __init__(self) -> None:
        self.recorded: dict[bytes, tuple[str, str]] = {}
        self.sent: list[Attestation] = []
        self.batches: list[int] = []  # the size of each contributeBatch
        self.time = 1_700_000_000
        self.depth = 1  # blocks confirming each recording transaction

    validator_address = "0x" + "11" * 20

    def custody_nodes(self, epoch: int | None = None) -> None:
        return None  # no node set: file keys stay under the custody key

    def sign(self, attestation: Attestation) -> bytes:
        return b"\x01" * 65

    def required_signatures(self) -> int:
        return 1

    def max_score(self) -> int:
        return 10_000_000

    def recorded_contributor(self, fingerprint: bytes) -> str | None:
        entry = self.recorded.get(fingerprint)
        return entry[0] if entry else None

    def record(self, attestation: Attestation, signatures: list[bytes]) -> str:
        self.sent.append(attestation)
        tx = "0x" + secrets.token_hex(32)
        self.recorded[attestation.fingerprint] = (attestation.contributor, tx)
        return tx

    def record_batch(self, signed: list[tuple[Attestation, list[bytes]]]) -> tuple[str, set[bytes]]:
        self.batches.append(len(signed))
        tx = "0x" + secrets.token_hex(32)
        fresh = {a.fingerprint for a, _ in signed if a.fingerprint not in self.recorded}
        for a, _ in signed:
            if a.fingerprint in fresh:
                self.sent.append(a)
                self.recorded[a.fingerprint] = (a.contributor, tx)
        return tx, fresh

    def recording_tx(self, fingerprint: bytes) -> str | None:
        entry = self.recorded.get(fingerprint)
        return entry[1] if entry else None

    def confirmations(self, tx_hash: str) -> int | None:
        """`depth` for a transaction that recorded something, None for one the chain lost."""
        known = any(tx == tx_hash for _, tx in self.recorded.values())
        return self.depth if known else None

    def now(self) -> int:
        return self.time


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


ALICE = "0x" + "a1" * 20


def new_contribution(
    sessions: sessionmaker[Session], stage: Stage = Stage.VALIDATED, **fields: object
) -> Contribution:
    """A contribution as validation builds it (not stored yet); its nonce is issued."""
    nonce = secrets.token_hex(16)
    values: dict[str, object] = {
        "fingerprint": "0x" + secrets.token_hex(32),
        "report": {"accepted": True},
        **fields,
    }
    row = Contribution(
        public_id=str(uuid.uuid4()),
        contributor=ALICE,
        dataset_id=1,
        source="reddit",
        plaintext_sha256="0x" + secrets.token_hex(32),
        statement_nonce=nonce,
        stage=stage,
        score=10,
        wrapped_key=b"k",
        iv=b"\0" * 12,
        ciphertext_size=3,
        **values,
    )
    with sessions.begin() as session:
        session.add(StatementNonce(nonce=nonce, wallet=ALICE, expires_at=datetime.now(UTC)))
    return row


def add_contribution(
    sessions: sessionmaker[Session], stage: Stage = Stage.VALIDATED, **fields: object
) -> Contribution:
    row = new_contribution(sessions, stage, **fields)
    with sessions.begin() as session:
        session.add(row)
    return row


def reload(sessions: sessionmaker[Session], row: Contribution) -> Contribution:
    with sessions() as session:
        found = session.get(Contribution, row.id)
        assert found is not None
        return found
