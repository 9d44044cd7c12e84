"""IntakeService: the stages composed for the API (request side) and the worker
(background side)."""

import base64
import dataclasses
import threading
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.attestations import Attestation, attestation_typed_data
from dao_service.chain.dao import DaoChain
from dao_service.chain.validator_set import (
    AttestationClaim,
    CoValidators,
    DemandClaim,
    JudgeRequest,
    Proposal,
    SignAttestationRequest,
    SignedInClaim,
    ValidatorIdentity,
    Verdict,
    seal_to,
)
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey, IntakeKey, open_upload
from dao_service.earnings.demand import recent_demand
from dao_service.exceptions import ConfigurationError, IntakeRefused
from dao_service.intake import (
    delivery,
    minting,
    opening,
    receipt,
    records,
    sharing,
    statement,
    storing,
    withdrawal,
)
from dao_service.intake.limits import check_upload_limits
from dao_service.intake.node_set_trust import TrustedNodeSets
from dao_service.intake.refining import RefinedBlob, Refiner
from dao_service.intake.sharing import KeptKey
from dao_service.intake.upload import Upload
from dao_service.intake.worker import IntakeWorker
from dao_service.models import Contribution, StatementNonce
from dao_service.storage.ipfs import IpfsStore
from dao_service.storage.locks import SharedLock
from dao_service.storage.rate_limits import RateLimiter
from validators import DedupIndex, Demand, ExportRejected, IndexConflict
from validators.pipeline import preview_rows

VALIDATION_ATTEMPTS = 20  # against other exports committing the same records meanwhile


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
        co_validators: CoValidators,
    ) -> None:
        self.settings, self.sessions, self.index = settings, sessions, index
        self.co_validators = co_validators
        self.intake_key, self.custody, self.ipfs, self._chain = intake_key, custody, ipfs, chain
        self.limits = RateLimiter(sessions)
        self.refiner = Refiner(intake_key.pseudonym_key)
        self._previews = threading.BoundedSemaphore(settings.previews_at_once)
        self.spool = records.Spool(settings.spool_dir)
        self._retry_lock = SharedLock(sessions.kw["bind"], "dedup-retry")
        self._delivery = delivery.ShareDelivery()
        self._node_sets = TrustedNodeSets()
        self.worker = IntakeWorker(
            sessions,
            store=lambda c: storing.store(self.sessions, self.spool, self.ipfs, c),
            mint=lambda cs: minting.mint_batch(
                self.sessions,
                self._chain(),
                self.settings.attestation_ttl_seconds,
                cs,
                self.settings.confirmations_needed,
                self.cosign if co_validators else None,
            ),
            deliver=self._deliver_shares,
            lease_seconds=settings.work_lease_seconds,
            batch_size=settings.mint_batch_size,
            recheck=(
                (
                    lambda: minting.recheck_minted(
                        self.sessions, self._chain(), settings.mint_recheck_seconds
                    )
                )
                if settings.mint_recheck_seconds
                else None
            ),
            release=lambda: minting.release_matured(self._chain()),
        )

    def _deliver_shares(self) -> int:
        chain = self._chain()
        return self._delivery.deliver_pending(self.sessions, chain.custody_nodes, chain.validator)

    # --- request side -------------------------------------------------------------

    def issue_nonce(self, wallet: str, client: str = "unknown") -> StatementNonce:
        """A fresh nonce for `wallet`'s next statement, within the client's rate limit;
        expired nonces are deleted as it is issued (an expired one is refused anyway)."""
        if not self.limits.allow(
            f"nonce-client:{client}", self.settings.nonces_per_client_per_minute, 60
        ):
            raise IntakeRefused("Too many nonces asked for from this address; wait a minute.", 429)
        nonce = statement.new_nonce(wallet)
        with self.sessions.begin() as session:
            session.execute(
                delete(StatementNonce).where(StatementNonce.expires_at < datetime.now(UTC))
            )
            session.add(nonce)
        return nonce

    def submit(self, upload: Upload) -> Contribution:
        check_upload_limits(self.settings, self.limits, upload)
        chain = self._chain()
        required = chain.required_signatures()
        if required > 1 + len(self.co_validators.urls):
            raise ConfigurationError(
                f"The registry takes a contribution with {required} validators' signatures "
                f"and this service knows {1 + len(self.co_validators.urls)} validator(s): "
                "set DATADAO_CO_VALIDATORS to the other validator nodes' URLs."
            )
        statement.check_signature(upload, chain.chain_id, chain.registry_address)
        with self.sessions() as session:
            existing = statement.earlier_contribution(session, upload)
            if existing is not None:
                return existing  # the same export again: one contribution, one mint
            statement.check_nonce(session, upload)

        file_key, plaintext = opening.open_plaintext(self.intake_key, upload)
        demand = recent_demand(self.sessions, self.settings.dataset_id)
        context = opening.validation_context(
            upload,
            chain.chain_id,
            chain.registry_address,
            self.settings.require_verification_code,
            self.settings.require_ownership_proof,
            self.settings.platform_policy(),
            self.intake_key.sample_key,
            chain.max_score(),
            demand,
        )
        # No lock: exports validate in parallel, and the database refuses a commit whose
        # new records another export committed meanwhile; that export is judged again
        # against the index as it now is (its reading, sketches and spot-check kept).
        # Retries take turns (a lock shared by every process), so that under contention
        # a retry competes only with first attempts, and each makes progress.
        validation = opening.validate(plaintext, context, self.index)
        del plaintext, file_key
        public_id = str(uuid.uuid4())
        node_set = self._node_sets.current(chain)  # the current set: this key is split for it
        judges = self.co_validators.identities() if self.co_validators else []

        def keep(contribution_id: str, key: bytes) -> KeptKey:
            kept = sharing.keep_key(node_set, self.custody, contribution_id, key)
            sealed = {j.address.lower(): seal_to(j.intake_public_key, key) for j in judges}
            return dataclasses.replace(kept, for_co_validators=sealed)

        for attempt in range(VALIDATION_ATTEMPTS):
            with self._retry_lock.held() if attempt else nullcontext():
                if attempt:
                    validation = validation.again(self.index)
                # The upload is never stored: an accepted one is refined into the dataset's
                # records, and those are sealed under a key of the service's making.
                refined = (
                    self.refiner.refine(validation, public_id, upload.contributor, keep)
                    if validation.report.accepted
                    else None
                )
                contribution = records.new_contribution(
                    upload, validation, self.settings.dataset_id, public_id, refined
                )
                if refined is not None and self.co_validators:
                    verdicts = self._verdicts(chain, upload, contribution, refined, demand)
                    records.with_verdicts(contribution, verdicts, required)
                try:
                    records.persist(
                        self.sessions,
                        self.spool,
                        contribution,
                        refined.ciphertext if refined is not None else b"",
                        self.index,
                        validation,
                        refined.kept.sealed_shares if refined is not None else None,
                    )
                    break
                except IndexConflict:
                    continue
        else:
            raise IntakeRefused("The dataset is changing too fast; try again in a moment.", 503)
        validation.refinable = None
        self.worker.wake()
        return contribution

    def _verdicts(
        self,
        chain: DaoChain,
        upload: Upload,
        contribution: Contribution,
        refined: RefinedBlob,
        demand: dict[str, Demand],
    ) -> list[Verdict]:
        """This node's verdict and every co-validator's on the same upload (each opens it
        with the file key wrapped to it, judges, refines and seals it itself)."""
        assert contribution.fingerprint is not None and contribution.refined_sha256
        proposal = Proposal(
            contribution_id=contribution.public_id,
            fingerprint=contribution.fingerprint,
            score=contribution.score,
            refined_sha256=contribution.refined_sha256,
        )
        signed_in = upload.signed_in

        def request(identity: ValidatorIdentity) -> JudgeRequest | str:
            wrapped = upload.co_wrapped_keys.get(identity.address.lower())
            if wrapped is None:
                return (
                    "the upload carries no file key wrapped to its key (it did not answer "
                    "when the client asked /api/config)"
                )
            sealed_key = refined.kept.for_co_validators.get(identity.address.lower())
            if sealed_key is None:
                return "it did not answer when the upload was refined (no blob key sealed to it)"
            return JudgeRequest(
                contributor=upload.contributor,
                sha256="0x" + upload.sha256.hex(),
                source=upload.source,
                nonce=upload.nonce,
                signature="0x" + upload.signature.hex(),
                wrapped_key=base64.b64encode(wrapped).decode(),
                iv=base64.b64encode(upload.iv).decode(),
                signed_in=SignedInClaim(**dataclasses.asdict(signed_in)) if signed_in else None,
                demand={
                    source: DemandClaim(factor=d.factor, reason=d.reason)
                    for source, d in demand.items()
                },
                sealed_pseudonym_key=seal_to(
                    identity.intake_public_key, self.intake_key.pseudonym_key
                ),
                sealed_blob_key=sealed_key,
                blob_iv=base64.b64encode(refined.iv).decode(),
                proposal=proposal,
            )

        own = Verdict(
            validator=chain.validator_address,
            url=self.settings.public_url,
            status="agrees",
            accepted=True,
            fingerprint=proposal.fingerprint,
            score=proposal.score,
            refined_sha256=proposal.refined_sha256,
        )
        return [own, *self.co_validators.judge(request, upload.ciphertext)]

    def cosign(
        self, contribution: Contribution, attestation: Attestation
    ) -> tuple[list[tuple[str, bytes]], list[str]]:
        """The signatures of the co-validators that agreed on the contribution's upload
        (each checks the attestation against its own verdict and the CID's content)."""
        agreed = {
            verdict["url"]
            for verdict in contribution.report.get("verdicts") or []
            if verdict["status"] == "agrees"
        }
        chain = self._chain()
        return self.co_validators.signatures(
            [url for url in self.co_validators.urls if url in agreed],
            "/api/attestations/signature",
            SignAttestationRequest(
                statement_nonce=contribution.statement_nonce,
                attestation=AttestationClaim.of(attestation),
            ),
            attestation_typed_data(attestation, chain.chain_id, chain.registry_address),
        )

    def preview(self, upload: Upload, limit: int) -> list[dict[str, Any]]:
        """What renters would receive of a sealed export's first records, before the
        contributor signs: decrypted and refined in memory, nothing kept."""
        if not self.limits.allow(
            f"preview:{upload.client}", self.settings.uploads_per_client_per_minute, 60
        ):
            raise IntakeRefused("Too many previews from this address; try again in a minute.", 429)
        if len(upload.ciphertext) > self.settings.preview_max_bytes + 16:
            raise IntakeRefused(
                f"Previews take exports of at most {self.settings.preview_max_bytes:,} bytes.", 413
            )
        if not self._previews.acquire(blocking=False):
            raise IntakeRefused("Previews are busy; try again in a moment.", 503)
        try:
            plaintext = open_upload(
                self.intake_key.unwrap(upload.wrapped_key), upload.iv, upload.ciphertext
            )
            rows = preview_rows(plaintext, upload.contributor, limit)
            del plaintext
        except ExportRejected as exc:
            raise IntakeRefused(exc.user_message, 422) from exc
        finally:
            self._previews.release()
        return rows

    # --- background side ----------------------------------------------------------

    def start(self) -> None:
        """Run the worker in this process, unless separate worker processes do."""
        if self.settings.embedded_worker:
            self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self._delivery.close()

    # --- receipts and withdrawal ---------------------------------------------------

    def find(self, public_id: str) -> Contribution:
        return receipt.find_contribution(self.sessions, public_id)

    def receipt_extras(self, contribution: Contribution) -> dict[str, Any]:
        extras = receipt.receipt_extras(contribution)
        epoch = contribution.custody_epoch
        if epoch is not None and contribution.fingerprint and contribution.wrapped_key is None:
            node_set = self._chain().custody_nodes(epoch)
            assert node_set is not None  # a recorded epoch's set
            extras["key_custody"] = receipt.key_custody(self.sessions, contribution, node_set)
        return extras

    def withdraw(
        self, dao: DaoChain, public_id: str, deadline: int, signature: bytes
    ) -> tuple[Contribution, withdrawal.KeyDestruction | None]:
        return withdrawal.withdraw(self.sessions, dao, public_id, deadline, signature)
