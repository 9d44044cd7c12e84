"""`datadao data refine-stored`: a contribution stored whole (as a service before the record
schema did) is refined, its refined CID recorded on-chain, and the upload unpinned; what
is stored and released afterwards holds nothing private."""

import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from sqlalchemy import select

from dao_service.chain.dev_accounts import dev_account
from dao_service.client.contribute import export_data
from dao_service.core.custody import open_upload
from dao_service.intake.refine_stored import StoredParts, refine_stored
from dao_service.models import Contribution
from dao_service.stack.sample_exports import SECRETS, reddit_full_export, reddit_spec
from tests.api.conftest import wait_for_stage
from tests.utils.chain import Dao
from tests.utils.participants import contribute
from validators.refine import SCHEMA_ID, from_parquet
from validators.selection import published

ALICE = dev_account(2)


def test_an_upload_stored_whole_is_refined_recorded_and_deleted(
    api: TestClient, dao: Dao, tmp_path: Path
) -> None:
    spec = reddit_spec(seed=71, account="stored_whole")
    whole = reddit_full_export(spec)
    upload = export_data(whole, published()).plaintext
    receipt = wait_for_stage(api, contribute(api, ALICE, upload).json()["id"], "minted")
    state = api.app.state  # type: ignore[attr-defined]
    intake, ipfs = state.intake, state.ipfs
    # As an older service stored it: the whole export, under a key the custody key wraps.
    key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    raw_cid = ipfs.add(AESGCM(key).encrypt(iv, whole, None), pin=True)
    with intake.sessions.begin() as session:
        row = session.scalars(
            select(Contribution).where(Contribution.public_id == receipt["id"])
        ).one()
        row.cid, row.iv, row.wrapped_key = raw_cid, iv, intake.custody.wrap(key)
        row.schema_id = row.refined_sha256 = row.record_count = None

    parts = StoredParts(
        intake.sessions, intake.custody, ipfs, intake.spool, intake.refiner, state.chain()
    )
    summary = refine_stored(parts)
    assert summary.refined == [receipt["id"]] and summary.failed == {}
    assert summary.unpinned == [raw_cid] and not ipfs.pinned(raw_cid)
    with intake.sessions() as session:
        row = session.scalars(
            select(Contribution).where(Contribution.public_id == receipt["id"])
        ).one()
    assert row.schema_id == SCHEMA_ID and row.cid != raw_cid and row.record_count
    stored = open_upload(intake.custody.unwrap(row.wrapped_key), row.iv, ipfs.cat(row.cid))
    assert from_parquet(stored).num_rows == row.record_count
    for secret in [*SECRETS.private_values(), *SECRETS.public_values(), spec.account]:
        assert secret.encode() not in stored, secret
    refined = dao.registry.events.ContributionRefined().get_logs(from_block=0)
    assert [(e["args"]["fingerprint"].hex(), e["args"]["cid"]) for e in refined] == [
        (receipt["attestation"]["fingerprint"][2:], row.cid)
    ]
    assert refine_stored(parts).refined == []  # nothing left to refine: safe to run twice
