"""Contributions as intake leaves them, written straight into a data dir: for the jobs
that re-read stored contributions (`datadao index rebuild`)."""

import os
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey
from dao_service.models import Contribution, Stage
from dao_service.storage.database import make_engine, migrate, session_factory


def store(settings: Settings, plaintext: bytes, contributor: str, stage: Stage) -> str:
    """A contribution as intake leaves it: ciphertext spooled, file key wrapped; its id."""
    custody = CustodyKey("", settings.keys_dir / "custody.key")
    file_key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    ciphertext = AESGCM(file_key).encrypt(iv, plaintext, None)
    public_id = str(uuid.uuid4())
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    (settings.spool_dir / f"{public_id}.bin").write_bytes(ciphertext)
    engine = make_engine(settings.database_url)
    migrate(engine)
    with session_factory(engine).begin() as session:
        session.add(
            Contribution(
                public_id=public_id, contributor=contributor, dataset_id=1, source="reddit",
                plaintext_sha256="0x" + "00" * 32, statement_nonce=public_id, stage=stage,
                report={}, score=1, wrapped_key=custody.wrap(file_key), iv=iv,
                ciphertext_size=len(ciphertext),
            )
        )  # fmt: skip
    engine.dispose()
    return public_id
