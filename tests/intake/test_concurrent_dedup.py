"""Two exports that share records, validated at the same moment: the database (not a
lock) keeps them from both counting the shared records. On SQLite and on PostgreSQL."""

import hashlib
import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from dao_service.chain.attestations import statement_typed_data
from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.validator_set import CoValidators
from dao_service.client.contribute import seal_export, sign_typed
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey, IntakeKey
from dao_service.intake import IntakeService, Upload, opening
from dao_service.models import Contribution
from dao_service.stack.sample_exports import sentence
from dao_service.storage.database import make_engine, migrate, session_factory
from tests.intake.conftest import FakeChain, FakeIpfs
from tests.utils import postgres
from validators import DedupIndex, Validation
from validators.refine import SCHEMA_ID


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'datadao.sqlite3'}"
        return
    if not postgres.available():
        pytest.skip("PostgreSQL server binaries not installed")
    with postgres.postgres_cluster() as url:
        yield url


def upload(service: IntakeService, chain: FakeChain, key: bytes, plaintext: bytes) -> Upload:
    account = Account.from_key(key)
    nonce = service.issue_nonce(account.address).nonce
    digest = hashlib.sha256(plaintext).digest()
    typed = statement_typed_data(
        account.address,
        digest,
        "auto",
        nonce,
        chain.chain_id,
        chain.registry_address,
        schema=SCHEMA_ID,
    )
    sealed = seal_export(plaintext, service.intake_key.public_spki_base64())
    return Upload(
        contributor=account.address,
        sha256=digest,
        source="auto",
        nonce=nonce,
        signature=bytes.fromhex(sign_typed(account, typed).removeprefix("0x")),
        wrapped_key=sealed.wrapped_key,
        iv=sealed.iv,
        ciphertext=sealed.ciphertext,
        client=account.address,
    )


def test_exports_sharing_records_validated_at_once_count_them_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(11)
    texts = [sentence(rng, rng.randint(15, 40)) for _ in range(30)]

    def export(first: int, last: int) -> bytes:
        return json.dumps([{"id": i, "text": texts[i]} for i in range(first, last)]).encode()

    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        require_platform_check=False,
        require_ownership_proof=False,
    )
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    chain = FakeChain()
    service = IntakeService(
        settings,
        sessions,
        DedupIndex(engine),
        IntakeKey(tmp_path / "intake.pem"),
        CustodyKey("", tmp_path / "custody.key"),
        FakeIpfs(),  # type: ignore[arg-type]
        lambda: chain,  # type: ignore[arg-type,return-value]
        CoValidators([], timeout=1, signer=lambda: dev_account(1)),
    )
    # Both validations finish before either commits: the moment a lock used to prevent.
    both_validated = threading.Barrier(2)
    validations: list[int] = []
    real_validate = opening.validate

    def validate_then_wait(*args: Any) -> Any:
        result = real_validate(*args)
        validations.append(result.report.new_records)
        if len(validations) <= 2:
            both_validated.wait(timeout=30)
        return result

    monkeypatch.setattr(opening, "validate", validate_then_wait)
    judged_again: list[int] = []
    real_again = Validation.again

    def again(self: Validation, index: DedupIndex) -> Validation:
        result = real_again(self, index)
        judged_again.append(result.report.new_records)
        return result

    monkeypatch.setattr(Validation, "again", again)
    uploads = [
        upload(service, chain, b"\x01" * 32, export(0, 20)),
        upload(service, chain, b"\x02" * 32, export(10, 30)),  # shares texts 10-19
    ]
    receipts: list[Contribution] = []
    threads = [
        threading.Thread(target=lambda u=u: receipts.append(service.submit(u))) for u in uploads
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert validations[:2] == [20, 20]  # each alone would count all of its records
    assert len(receipts) == 2 and all(r.report["accepted"] for r in receipts), [
        r.report["rejection_reasons"] for r in receipts
    ]
    counted = sorted(r.report["new_records"] for r in receipts)
    assert counted == [10, 20]  # the shared ten once: the later one was judged again
    assert len(validations) == 2 and judged_again == [10]  # not read and sketched again
    assert service.index.record_count() == 30
    service.index.close()
    engine.dispose()
