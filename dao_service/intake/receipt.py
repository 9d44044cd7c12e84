"""The parts of a receipt intake owns: the contribution looked up by its public id, and
the signed attestation as the registry takes it (so a contributor can submit it
themselves)."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.exceptions import IntakeRefused
from dao_service.intake.minting import attestation
from dao_service.models import Contribution, PendingShare, Stage


def find_contribution(sessions: sessionmaker[Session], public_id: str) -> Contribution:
    """The contribution `public_id`; a 404 refusal if there is none."""
    with sessions() as session:
        row = session.scalars(
            select(Contribution).where(Contribution.public_id == public_id)
        ).first()
    if row is None:
        raise IntakeRefused(f"No contribution {public_id}.", 404)
    return row


def receipt_extras(contribution: Contribution) -> dict[str, Any]:
    """The signed attestation as the registry takes it, for self-submission (its
    validators' signatures in the order the registry takes them)."""
    if not contribution.attestation_signature or not contribution.cid:
        return {}
    signed = attestation(contribution, contribution.attestation_deadline or 0)
    return {
        "attestation": {
            **signed.model_dump(mode="json", exclude={"fingerprint", "account"}),
            "fingerprint": contribution.fingerprint,
            "account": "0x" + signed.account.hex(),
        },
        "signatures": contribution.attestation_signature.split(","),
    }


def key_custody(
    sessions: sessionmaker[Session], contribution: Contribution, node_set: CustodyNodeSet
) -> dict[str, int]:
    """How many custody nodes hold their share: shares go out once it is minted, and a
    share still waiting here is one its node does not hold yet."""
    with sessions() as session:
        waiting = session.scalar(
            select(func.count())
            .select_from(PendingShare)
            .where(PendingShare.contribution_id == contribution.id)
        )
    nodes = len(node_set.nodes)
    holding = nodes - (waiting or 0) if contribution.stage == Stage.MINTED else 0
    return {"nodes": nodes, "threshold": node_set.threshold, "holding": holding}
