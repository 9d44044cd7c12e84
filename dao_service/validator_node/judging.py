"""A validator node judges an upload itself: it checks the contributor's statement, opens
the upload with the file key wrapped to its own key, validates it against its own dedup
index, refines it with the dataset's pseudonym key and seals that with the proposal's
blob key, and compares what it found with the collecting node's proposal. It agrees only
on the same fingerprint, the same refined records and a score at least the proposed one
(a lower proposed score mints less: a node whose index missed some records is generous,
never strict). Its verdict is kept, and its index takes the export's records, only when
it agrees. The plaintext exists only in memory, the two keys only for the request."""

import base64
import hashlib

from eth_utils import to_checksum_address

from dao_service.chain.validator_set import JudgeRequest, Proposal, Verdict
from dao_service.exceptions import IntakeRefused
from dao_service.intake import opening, statement
from dao_service.intake.records import stored_report
from dao_service.intake.refining import RefinedBlob, Refiner
from dao_service.intake.sharing import KeptKey
from dao_service.intake.upload import Upload
from dao_service.models import ValidatorVerdict
from dao_service.validator_node.node import ValidatorNode
from validators import Demand, IndexConflict, SignedInAccount, Validation

ATTEMPTS = 20  # against other exports committing the same records meanwhile
DEMAND_BOUNDS = (0.5, 2.0)  # what a demand factor can be (README, "demand"); taken on trust


def judge(node: ValidatorNode, request: JudgeRequest, ciphertext: bytes) -> Verdict:
    chain = node.chain()
    upload = _upload(request, ciphertext)
    statement.check_signature(upload, chain.chain_id, chain.registry_address)
    with node.sessions() as session:
        earlier = session.get(ValidatorVerdict, upload.nonce)
    if earlier is not None and earlier.contributor.lower() != upload.contributor.lower():
        raise IntakeRefused("This statement nonce was judged here for another contributor.", 409)
    if earlier is not None and earlier.agreed:  # asked again (the collector retried)
        return _verdict(node, earlier, _differences(earlier, request.proposal))

    _, plaintext = opening.open_plaintext(node.intake_key, upload)
    context = opening.validation_context(
        upload,
        chain.chain_id,
        chain.registry_address,
        node.settings.require_verification_code,
        node.settings.require_ownership_proof,
        node.settings.platform_policy(),
        node.intake_key.sample_key,
        chain.max_score(),
        {
            source: Demand(min(max(claim.factor, DEMAND_BOUNDS[0]), DEMAND_BOUNDS[1]), claim.reason)
            for source, claim in request.demand.items()
        },
    )
    validation = opening.validate(plaintext, context, node.index)
    del plaintext
    refiner = Refiner(node.intake_key.unwrap(_b64(request.sealed_pseudonym_key)))
    sealing = (node.intake_key.unwrap(_b64(request.sealed_blob_key)), _b64(request.blob_iv))
    for attempt in range(ATTEMPTS):
        if attempt:
            validation = validation.again(node.index)
        refined = (
            refiner.refine(
                validation,
                request.proposal.contribution_id,
                upload.contributor,
                lambda _id, _key: KeptKey(),  # compared by its hash, then dropped
                sealing,
            )
            if validation.report.accepted
            else None
        )
        row = _row(upload, request.proposal, validation, refined)
        try:
            with node.sessions.begin() as session:
                session.merge(row)
                if row.agreed:
                    session.flush()
                    validation.commit(node.index, session.connection())
            break
        except IndexConflict:
            continue
    else:
        raise IntakeRefused("The dataset is changing too fast here; ask again.", 503)
    validation.refinable = None
    return _verdict(node, row, row.reasons)


def _upload(request: JudgeRequest, ciphertext: bytes) -> Upload:
    return Upload(
        contributor=to_checksum_address(request.contributor),
        sha256=bytes.fromhex(request.sha256[2:]),
        source=request.source[:32],
        nonce=request.nonce[:64],
        signature=_hex(request.signature, "signature"),
        wrapped_key=_b64(request.wrapped_key),
        iv=_b64(request.iv),
        ciphertext=ciphertext,
        client="collecting node",
        signed_in=SignedInAccount(**request.signed_in.model_dump()) if request.signed_in else None,
    )


def _row(
    upload: Upload, proposal: Proposal, validation: Validation, refined: RefinedBlob | None
) -> ValidatorVerdict:
    report = validation.report
    signed_in = upload.signed_in
    stored = stored_report(
        report, *((signed_in.account_name, signed_in.account_id) if signed_in else ())
    )
    row = ValidatorVerdict(
        statement_nonce=upload.nonce,
        contributor=upload.contributor,
        contribution_id=proposal.contribution_id,
        accepted=refined is not None,
        agreed=False,
        fingerprint=report.fingerprint if refined is not None else None,
        score=report.score,
        refined_sha256=refined.sha256 if refined is not None else None,
        sealed_sha256="0x" + hashlib.sha256(refined.ciphertext).hexdigest() if refined else None,
        account_hash="0x" + validation.binding[0].hex() if refined and validation.binding else None,
        reasons=list(stored.get("rejection_reasons") or []),
    )
    row.reasons = row.reasons if not row.accepted else _differences(row, proposal)
    row.agreed = row.accepted and not row.reasons
    return row


def _differences(own: ValidatorVerdict, proposal: Proposal) -> list[str]:
    """Where the proposal differs from this node's own findings (none: it agrees)."""
    differences = []
    if own.fingerprint != proposal.fingerprint:
        differences.append(
            f"its fingerprint is {own.fingerprint}, not the proposed {proposal.fingerprint}"
        )
    if own.score < proposal.score:
        differences.append(f"it scores the export {own.score}, below the proposed {proposal.score}")
    if own.refined_sha256 != proposal.refined_sha256:
        differences.append(
            f"its refined records' SHA-256 is {own.refined_sha256}, not the proposed "
            f"{proposal.refined_sha256}"
        )
    return differences


def _verdict(node: ValidatorNode, row: ValidatorVerdict, reasons: list[str]) -> Verdict:
    return Verdict(
        validator=node.signer.address,
        status="agrees" if row.accepted and not reasons else "disagrees",
        accepted=row.accepted,
        fingerprint=row.fingerprint,
        score=row.score,
        refined_sha256=row.refined_sha256,
        reasons=reasons,
    )


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise IntakeRefused("A key or IV of the request is not base64.") from None


def _hex(value: str, what: str) -> bytes:
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise IntakeRefused(f"The {what} is not hex.") from None
