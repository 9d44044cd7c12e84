"""Refine an accepted export into the dataset's record schema and seal it for storage:
the records (Parquet) are encrypted under a fresh key this service makes, and only that
ciphertext is spooled and pinned. The upload itself is never stored. The fresh key
leaves `refine` only as `keep` turns it (`sharing.keep_key`: shares sealed to the
custody nodes)."""

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dao_service.intake.sharing import KeptKey
from validators import Validation
from validators.refine import SCHEMA_ID, Pseudonyms, to_parquet
from validators.scrub import Scrubber


@dataclass(frozen=True)
class RefinedBlob:
    """A contribution's refined records, sealed: nothing here is plaintext, and the key
    only as `kept` (shares sealed to the custody nodes)."""

    kept: KeptKey
    iv: bytes
    ciphertext: bytes
    sha256: str  # 0x-hex of the Parquet bytes: what a renter checks after decrypting
    records: int
    schema_id: str = SCHEMA_ID


class Refiner:
    """One per process: the dataset's pseudonym key (a Scrubber is a few microseconds to
    make; its recognisers load once per process)."""

    def __init__(self, pseudonym_key: bytes) -> None:
        self.pseudonyms = Pseudonyms(pseudonym_key)

    def refine(
        self,
        validation: Validation,
        contribution_id: str,
        contributor: str,
        keep: Callable[[str, bytes], KeptKey],
        sealing: tuple[bytes, bytes] | None = None,
    ) -> RefinedBlob:
        """The export's records sealed under a fresh key, or under `sealing` (key, IV): a
        co-validator seals its own refinement as the collecting node did, to know the
        stored blob by its hash. The key leaves only as `keep` turns it."""
        refinable = validation.refinable
        if refinable is None:
            raise ValueError("only an accepted export is refined")
        source = refinable.source
        scrubber = Scrubber(lambda handle: self.pseudonyms.of(source, handle))
        table = refinable.table(contribution_id, contributor, self.pseudonyms, scrubber.scrub)
        parquet = to_parquet(table)
        key, iv = sealing or (AESGCM.generate_key(bit_length=256), os.urandom(12))
        ciphertext = AESGCM(key).encrypt(iv, parquet, None)
        return RefinedBlob(
            keep(contribution_id, key),
            iv,
            ciphertext,
            "0x" + hashlib.sha256(parquet).hexdigest(),
            table.num_rows,
        )
