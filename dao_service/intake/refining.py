"""Refine an accepted export into the dataset's record schema and seal it for storage:
the records (Parquet) are encrypted under a fresh key this service makes, and only that
ciphertext is spooled and pinned. The upload itself is never stored."""

import hashlib
import os
import threading
from dataclasses import dataclass

import pyarrow as pa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from validators import Validation
from validators.pipeline import preview_records
from validators.refine import SCHEMA_ID, Pseudonyms, to_parquet
from validators.scrub import Scrubber


@dataclass(frozen=True)
class RefinedBlob:
    """A contribution's refined records, sealed: nothing here is plaintext but the key."""

    key: bytes
    iv: bytes
    ciphertext: bytes
    sha256: str  # 0x-hex of the Parquet bytes: what a renter checks after decrypting
    records: int
    schema_id: str = SCHEMA_ID


class Refiner:
    """One per process: the pseudonym key and a scrubber per source (handles are
    pseudonymised per platform)."""

    def __init__(self, pseudonym_key: bytes) -> None:
        self.pseudonyms = Pseudonyms(pseudonym_key)
        self._scrubbers: dict[str, Scrubber] = {}
        self._lock = threading.Lock()

    def _scrubber(self, source: str) -> Scrubber:
        with self._lock:
            if source not in self._scrubbers:
                self._scrubbers[source] = Scrubber(lambda h: self.pseudonyms.of(source, h))
            return self._scrubbers[source]

    @staticmethod
    def preview(plaintext: bytes, contributor: str, limit: int) -> pa.Table:
        """The first records an export would give the dataset, refined as they would be
        stored (the contribution id is not known yet: "preview"), under a throwaway key:
        pseudonyms, record ids and clusters shown to anyone who asks must not be the
        dataset's, or a made-up export mentioning a handle would name its pseudonym."""
        refinable = preview_records(plaintext, limit)
        pseudonyms = Pseudonyms(os.urandom(32))
        scrubber = Scrubber(lambda handle: pseudonyms.of(refinable.source, handle))
        return refinable.table("preview", contributor, pseudonyms, scrubber.scrub)

    def refine(self, validation: Validation, contribution_id: str, contributor: str) -> RefinedBlob:
        refinable = validation.refinable
        if refinable is None:
            raise ValueError("only an accepted export is refined")
        table = refinable.table(
            contribution_id, contributor, self.pseudonyms, self._scrubber(refinable.source).scrub
        )
        parquet = to_parquet(table)
        key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
        return RefinedBlob(
            key,
            iv,
            AESGCM(key).encrypt(iv, parquet, None),
            "0x" + hashlib.sha256(parquet).hexdigest(),
            table.num_rows,
        )
