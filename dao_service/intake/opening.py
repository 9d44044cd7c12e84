"""Open the upload in memory (unwrap the file key, decrypt, check the SHA-256 the
statement signed) and validate it. The plaintext is never written anywhere."""

import hashlib

from dao_service.core.custody import IntakeKey, open_upload
from dao_service.exceptions import IntakeRefused
from dao_service.intake.upload import Upload
from validators import DedupIndex, Demand, Validation, ValidationContext, validate_export
from validators.platforms import PlatformPolicy


def open_plaintext(intake_key: IntakeKey, upload: Upload) -> tuple[bytes, bytes]:
    """(file key, plaintext) of the upload, refused if it is not the export signed for."""
    file_key = intake_key.unwrap(upload.wrapped_key)
    plaintext = open_upload(file_key, upload.iv, upload.ciphertext)
    if hashlib.sha256(plaintext).digest() != upload.sha256:
        raise IntakeRefused("The decrypted export's SHA-256 differs from the signed statement.")
    return file_key, plaintext


def validation_context(
    upload: Upload,
    chain_id: int,
    registry: str,
    require_code: bool,
    require_proof: bool,
    platform: PlatformPolicy,
    sample_key: bytes,
    max_score: int,
    demand: dict[str, Demand] | None = None,
) -> ValidationContext:
    return ValidationContext(
        wallet=upload.contributor,
        chain_id=chain_id,
        registry=registry,
        require_code=require_code,
        require_proof=require_proof,
        signature_verified=True,
        nonce=upload.nonce,  # seeds the platform spot-check's sample, with the secret
        sample_key=sample_key,
        max_score=max_score,
        platform=platform,
        signed_in=upload.signed_in,
        demand=demand or {},
    )


def validate(plaintext: bytes, context: ValidationContext, index: DedupIndex) -> Validation:
    return validate_export(plaintext, context, index)
