"""The parts of a receipt intake owns: the signed attestation
as the registry takes it (so a contributor can submit it themselves)."""

from typing import Any

from dao_service.intake.minting import attestation
from dao_service.models import Contribution


def receipt_extras(contribution: Contribution) -> dict[str, Any]:
    """The signed attestation as the registry takes it, for self-submission."""
    if not contribution.attestation_signature or not contribution.cid:
        return {}
    signed = attestation(contribution, contribution.attestation_deadline or 0)
    return {
        "attestation": {
            **signed.model_dump(mode="json", exclude={"fingerprint"}),
            "fingerprint": contribution.fingerprint,
        },
        "signatures": [contribution.attestation_signature],
    }
