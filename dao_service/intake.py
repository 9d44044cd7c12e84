"""Contribution intake: check the signed statement, open the upload in memory, validate,
persist, then (in the background, durably) store on IPFS and mint on-chain.

Stages, each committed before the next starts:
  received+validated (one transaction, with the ciphertext already fsynced to the spool)
  -> stored (pinned on IPFS, CID recorded) -> minted (registry transaction confirmed).
A crash at any point resumes from the last committed stage. Minting is exactly-once
because the registry refuses a fingerprint twice and the worker asks the chain whether
the fingerprint is already recorded before sending.
"""

import hashlib
import logging
import secrets
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.attestations import Attestation, recover_typed_signer, statement_typed_data
from dao_service.chain.dao import ChainRefused, DaoChain
from dao_service.core.config import Settings
from dao_service.custody import CustodyKey, IntakeKey, open_upload
from dao_service.exceptions import DataDaoError
from dao_service.models import Contribution, Stage, StatementNonce
from dao_service.storage.files import write_private_file
from dao_service.storage.ipfs import IpfsStore
from validators import DedupIndex, SignedInAccount, ValidationContext, validate_export
from validators.dedup import RecordKeys

log = logging.getLogger("dao_service.intake")


class IntakeRefused(DataDaoError, ValueError):
    """The request is wrong (4xx); `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    contributor: str
    sha256: bytes
    source: str
    nonce: str
    signature: bytes
    wrapped_key: bytes
    iv: bytes
    ciphertext: bytes
    client: str
    signed_in: SignedInAccount | None = None  # from a sign-in with the platform


class RateLimiter:
    """Sliding-window counts per key, in this process."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, window: float) -> bool:
        now = time.monotonic()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - window:
                events.popleft()
            if len(events) >= limit:
                return False
            events.append(now)
            return True


class IntakeService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        index: DedupIndex,
        intake_key: IntakeKey,
        custody: CustodyKey,
        ipfs: IpfsStore,
        chain: Callable[[], DaoChain],
    ) -> None:
        self.settings, self.sessions, self.index = settings, sessions, index
        self.intake_key, self.custody, self.ipfs, self._chain = intake_key, custody, ipfs, chain
        self.limits = RateLimiter()
        self._validate_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        settings.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    # --- request side -------------------------------------------------------------

    def issue_nonce(self, wallet: str) -> StatementNonce:
        nonce = StatementNonce(
            nonce=secrets.token_hex(16),
            wallet=wallet,
            expires_at=datetime.now(UTC) + timedelta(minutes=30),
        )
        with self.sessions.begin() as session:
            session.add(nonce)
        return nonce

    def submit(self, upload: Upload) -> Contribution:
        self._check_limits(upload)
        chain = self._chain()
        typed = statement_typed_data(
            upload.contributor,
            upload.sha256,
            upload.source,
            upload.nonce,
            chain.chain_id,
            chain.registry_address,
        )
        try:
            signer = recover_typed_signer(typed, upload.signature)
        except (ValueError, TypeError) as exc:
            raise IntakeRefused(f"The statement signature is malformed: {exc}.") from exc
        if signer.lower() != upload.contributor.lower():
            who = f"{signer}, not by the contributor {upload.contributor}"
            raise IntakeRefused(f"The statement is signed by {who}.", 403)

        with self.sessions() as session:
            existing = session.scalars(
                select(Contribution).where(
                    Contribution.contributor == upload.contributor,
                    Contribution.plaintext_sha256 == "0x" + upload.sha256.hex(),
                    Contribution.stage != Stage.REJECTED,
                )
            ).first()
            if existing is not None:
                return existing  # the same export again: one contribution, one mint
            nonce = session.get(StatementNonce, upload.nonce)
            if nonce is None or nonce.wallet.lower() != upload.contributor.lower():
                raise IntakeRefused("The statement's nonce was not issued to this wallet.", 403)
            if nonce.used:
                raise IntakeRefused("The statement's nonce was already used.", 409)
            if nonce.expires_at.replace(tzinfo=UTC) < datetime.now(UTC):
                raise IntakeRefused("The statement's nonce has expired; ask for a new one.", 403)

        file_key = self.intake_key.unwrap(upload.wrapped_key)
        plaintext = open_upload(file_key, upload.iv, upload.ciphertext)
        if hashlib.sha256(plaintext).digest() != upload.sha256:
            raise IntakeRefused("The decrypted export's SHA-256 differs from the signed statement.")
        context = ValidationContext(
            wallet=upload.contributor,
            chain_id=chain.chain_id,
            registry=chain.registry_address,
            require_code=self.settings.require_verification_code,
            signature_verified=True,
            nonce=upload.nonce,
            platform=self.settings.platform_policy(),
            signed_in=upload.signed_in,
        )
        with self._validate_lock:  # validate and index one export at a time: no double counting
            validation = validate_export(plaintext, context, self.index)
            del plaintext
            report = validation.report
            contribution = Contribution(
                public_id=str(uuid.uuid4()),
                contributor=upload.contributor,
                dataset_id=self.settings.dataset_id,
                source=report.source or upload.source,
                plaintext_sha256="0x" + upload.sha256.hex(),
                statement_nonce=upload.nonce,
                stage=Stage.VALIDATED if report.accepted else Stage.REJECTED,
                # The account's name and id stay out of the database (they come from the export).
                report={
                    **report.model_dump(mode="json", exclude={"account_id", "account_name"}),
                    "record_keys": [
                        [k.fingerprint.hex(), list(k.band_keys)] for k in validation.new_records
                    ],
                    "binding": [validation.binding[0].hex(), validation.binding[1]]
                    if validation.binding
                    else None,
                    "indexed": False,
                },
                fingerprint=report.fingerprint if report.accepted else None,
                score=report.score,
                wrapped_key=self.custody.wrap(file_key) if report.accepted else None,
                iv=upload.iv,
                ciphertext_size=len(upload.ciphertext),
            )
            with self.sessions.begin() as session:
                session.get(StatementNonce, upload.nonce).used = True  # type: ignore[union-attr]
                if report.accepted and self._fingerprint_taken(session, report.fingerprint):
                    contribution.stage = Stage.REJECTED
                    contribution.fingerprint = None
                    contribution.wrapped_key = None
                    contribution.report["accepted"] = False
                    contribution.report["rejection_reasons"] = [
                        "this export's content is already in the dataset"
                    ]
                session.add(contribution)
                session.flush()
                if contribution.stage == Stage.VALIDATED:
                    self._spool(contribution.public_id, upload.ciphertext)
            if contribution.stage == Stage.VALIDATED:
                self._index(contribution)
        self._wake.set()
        return contribution

    def _check_limits(self, upload: Upload) -> None:
        if len(upload.ciphertext) > self.settings.max_upload_bytes + 16:
            raise IntakeRefused(
                f"The upload exceeds {self.settings.max_upload_bytes:,} bytes.", 413
            )
        if not self.limits.allow(
            f"wallet:{upload.contributor.lower()}", self.settings.uploads_per_wallet_per_hour, 3600
        ):
            raise IntakeRefused("Too many uploads from this wallet; try again later.", 429)
        if not self.limits.allow(
            f"client:{upload.client}", self.settings.uploads_per_client_per_minute, 60
        ):
            raise IntakeRefused("Too many uploads from this address; try again in a minute.", 429)

    @staticmethod
    def _fingerprint_taken(session: Session, fingerprint: str | None) -> bool:
        return (
            session.scalars(
                select(Contribution.id).where(Contribution.fingerprint == fingerprint)
            ).first()
            is not None
        )

    def _spool_path(self, public_id: str) -> Path:
        return self.settings.spool_dir / f"{public_id}.bin"

    def _spool(self, public_id: str, ciphertext: bytes) -> None:
        write_private_file(self._spool_path(public_id), ciphertext)

    def _index(self, contribution: Contribution) -> None:
        """Add the contribution's records to the dedup index (idempotent), then mark it."""
        report = contribution.report
        if report.get("indexed"):
            return
        keys = [RecordKeys(bytes.fromhex(fp), bands) for fp, bands in report["record_keys"]]
        binding = (
            (bytes.fromhex(report["binding"][0]), report["binding"][1])
            if report.get("binding")
            else None
        )
        self.index.commit(keys, binding)
        with self.sessions.begin() as session:
            row = session.get(Contribution, contribution.id)
            assert row is not None
            row.report = {**row.report, "indexed": True, "record_keys": []}

    # --- background side ----------------------------------------------------------

    def start(self) -> None:
        self._worker = threading.Thread(target=self._run, name="intake-worker", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=10)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            progressed = False
            try:
                progressed = self.process_pending()
                backoff = 0.5
            except Exception as exc:  # the chain or IPFS is down: wait and retry
                log.warning("intake worker: %s; retrying in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if not progressed:
                self._wake.wait(timeout=1.0)
                self._wake.clear()

    def process_pending(self) -> bool:
        """Advance every unfinished contribution one stage; True if any moved."""
        with self.sessions() as session:
            pending = session.scalars(
                select(Contribution)
                .where(Contribution.stage.in_([Stage.VALIDATED, Stage.STORED]))
                .order_by(Contribution.id)
            ).all()
        moved = False
        for contribution in pending:
            try:
                if contribution.stage == Stage.VALIDATED:
                    self._index(contribution)
                    self._store(contribution)
                    moved = True
                if contribution.stage == Stage.STORED:
                    self._mint(contribution)
                    moved = True
            except ChainRefused as exc:
                self._note_error(contribution, f"the chain refused: {exc.reason}")
            except Exception as exc:  # IPFS or chain unreachable: say so on the receipt, retry
                self._note_error(
                    contribution, f"waiting to retry: {type(exc).__name__}: {exc}"[:500]
                )
                raise
        return moved

    def _store(self, contribution: Contribution) -> None:
        ciphertext = self._spool_path(contribution.public_id).read_bytes()
        cid = self.ipfs.add(ciphertext, pin=True)
        with self.sessions.begin() as session:
            row = session.get(Contribution, contribution.id)
            assert row is not None
            row.cid, row.stage, row.last_error = cid, Stage.STORED, None
        contribution.cid, contribution.stage = cid, Stage.STORED
        self._spool_path(contribution.public_id).unlink(missing_ok=True)

    def attestation(self, contribution: Contribution, deadline: int) -> Attestation:
        assert contribution.fingerprint and contribution.cid
        return Attestation(
            contributor=contribution.contributor,
            dataset_id=contribution.dataset_id,
            fingerprint=bytes.fromhex(contribution.fingerprint[2:]),
            cid=contribution.cid,
            score=contribution.score,
            deadline=deadline,
            nonce=contribution.id,
        )

    def _mint(self, contribution: Contribution) -> None:
        chain = self._chain()
        assert contribution.fingerprint
        fingerprint = bytes.fromhex(contribution.fingerprint[2:])
        recorded = chain.recorded_contributor(fingerprint)
        if recorded is None:
            deadline = contribution.attestation_deadline or 0
            if deadline <= chain.now() + 60:
                deadline = chain.now() + self.settings.attestation_ttl_seconds
            attestation = self.attestation(contribution, deadline)
            signature = chain.sign(attestation)
            with self.sessions.begin() as session:  # the receipt carries it even if minting waits
                row = session.get(Contribution, contribution.id)
                assert row is not None
                row.attestation_deadline, row.attestation_signature = (
                    deadline,
                    "0x" + signature.hex(),
                )
            tx_hash = chain.record(attestation, signature)
        elif recorded.lower() == contribution.contributor.lower():
            tx_hash = chain.recording_tx(fingerprint) or ""
        else:
            raise ChainRefused(f"the fingerprint is recorded for another contributor ({recorded})")
        with self.sessions.begin() as session:
            row = session.get(Contribution, contribution.id)
            assert row is not None
            row.stage, row.tx_hash, row.last_error = Stage.MINTED, tx_hash or None, None
        contribution.stage = Stage.MINTED

    def _note_error(self, contribution: Contribution, message: str) -> None:
        with self.sessions.begin() as session:
            row = session.get(Contribution, contribution.id)
            if row is not None:
                row.last_error = message

    def receipt_extras(self, contribution: Contribution) -> dict[str, Any]:
        """The signed attestation as the registry takes it, for self-submission."""
        if not contribution.attestation_signature or not contribution.cid:
            return {}
        attestation = self.attestation(contribution, contribution.attestation_deadline or 0)
        return {
            "attestation": {
                **attestation.model_dump(mode="json", exclude={"fingerprint"}),
                "fingerprint": contribution.fingerprint,
            },
            "signatures": [contribution.attestation_signature],
        }
