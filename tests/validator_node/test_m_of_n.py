"""Validators as independent nodes, M of N (issue #21, F9), end to end: the production
profile (2 of 3 validator signatures) on a real anvil, with the service in-process as
the collecting node, two co-validator processes of their own (own key, database, intake
key), a real IPFS node and the platform stand-in."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import select

from dao_service.chain.attestations import Attestation, attestation_typed_data
from dao_service.chain.dev_accounts import CO_VALIDATOR_INDEXES, VALIDATOR_INDEX, dev_account
from dao_service.chain.manifest import DeploymentManifest
from dao_service.chain.validator_set import SignAttestationRequest
from dao_service.core.config import Settings, get_settings
from dao_service.intake import records
from dao_service.main import create_app
from dao_service.models import Contribution
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.api.conftest import wait_for_stage
from tests.conftest import DeployDao
from tests.utils.chain import Dao
from tests.utils.participants import contribute
from tests.utils.platform_standin import StandIn
from tests.utils.raw_http import declared_only
from tests.utils.validator_nodes import ValidatorNodeProcess, post_as, validator_nodes

SERVICE_VALIDATOR = dev_account(VALIDATOR_INDEX)
CO_VALIDATORS = [dev_account(i) for i in CO_VALIDATOR_INDEXES]
GUARDIAN = dev_account(8)
ALICE, BOB, CAROL, DORA = dev_account(2), dev_account(3), dev_account(4), dev_account(5)


@pytest.fixture
def manifest(deploy_dao: DeployDao) -> DeploymentManifest:
    """The production profile: two of the three validators must sign."""
    validators = [v.address for v in (SERVICE_VALIDATOR, *CO_VALIDATORS)]
    return deploy_dao("production", validators=validators, guardian=GUARDIAN.address)


@pytest.fixture
def nodes(
    service_settings: Settings, platform: StandIn, tmp_path: Path
) -> Iterator[list[ValidatorNodeProcess]]:
    with validator_nodes(service_settings, platform.url, CO_VALIDATORS, tmp_path) as running:
        yield running


@pytest.fixture
def collector(
    nodes: list[ValidatorNodeProcess], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The service, knowing the two co-validators."""
    monkeypatch.setenv("DATADAO_CO_VALIDATORS", ",".join(n.url for n in nodes))
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client
    get_settings.cache_clear()


def signer_of(attestation: dict[str, object], signature: str, dao: Dao) -> str:
    signed = Attestation(
        **{k: v for k, v in attestation.items() if k not in ("fingerprint", "account")},  # type: ignore[arg-type]
        fingerprint=bytes.fromhex(str(attestation["fingerprint"])[2:]),
        account=bytes.fromhex(str(attestation["account"])[2:]),
    )
    typed = attestation_typed_data(signed, dao.chain_id, dao.registry.address)
    return str(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))


def test_production_mints_with_two_of_three_validators_one_stopped(
    collector: TestClient, nodes: list[ValidatorNodeProcess], dao: Dao
) -> None:
    """F9: on the production profile a contribution relayed with one signature reverts
    RegistryNotEnoughSignatures(1, 2); with the co-validator's it mints, while the third
    validator is stopped."""
    config = collector.get("/api/config").json()
    assert config["required_signatures"] == 2
    assert {v["address"] for v in config["co_validators"]} == {v.address for v in CO_VALIDATORS}
    assert (
        len(
            {
                config["intake_public_key"],
                *(v["intake_public_key"] for v in config["co_validators"]),
            }
        )
        == 3
    )
    nodes[1].stop()

    response = contribute(collector, ALICE, reddit_export(reddit_spec(seed=2101)))
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["accepted"], receipt["rejection_reasons"]
    verdicts = {v["validator"]: v for v in receipt["verdicts"]}
    assert verdicts[SERVICE_VALIDATOR.address]["status"] == "agrees"
    assert verdicts[nodes[0].account.address]["status"] == "agrees"
    assert verdicts[nodes[0].account.address]["score"] == receipt["score"]
    assert verdicts[nodes[0].account.address]["refined_sha256"] == receipt["refined_sha256"]
    assert [v["status"] for v in receipt["verdicts"]].count("away") == 1

    minted = wait_for_stage(collector, receipt["id"], "minted", timeout=120)
    # Production's tokens mature in the registry's custody before they vote or move.
    held = dao.token.functions.balanceOf(dao.registry.address).call()
    assert held == minted["score"] * 10**18
    assert dao.token.functions.balanceOf(ALICE.address).call() == 0
    signers = [signer_of(minted["attestation"], s, dao) for s in minted["signatures"]]
    assert signers == sorted(
        [SERVICE_VALIDATOR.address, nodes[0].account.address], key=lambda a: int(a, 16)
    )

    # F9 as it was: the service's signature alone is not enough on this profile.
    alone = dao.attestation(BOB.address, 5)
    with dao.reverts("RegistryNotEnoughSignatures", 1, 2):
        dao.contribute(alone, [SERVICE_VALIDATOR], BOB)


def test_a_co_validator_signs_only_what_it_judged(
    collector: TestClient, nodes: list[ValidatorNodeProcess], dao: Dao
) -> None:
    """Asked to sign the attestation of an upload it agreed on with a higher score, another
    fingerprint or another CID, a co-validator refuses (409, saying why); as judged, it signs."""
    response = contribute(collector, CAROL, reddit_export(reddit_spec(seed=2102, account="carol")))
    receipt = response.json()
    assert receipt["accepted"], receipt["rejection_reasons"]
    minted = wait_for_stage(collector, receipt["id"], "minted", timeout=120)
    nonce = collector.app.state.intake.find(receipt["id"]).statement_nonce  # type: ignore[attr-defined]
    attestation = minted["attestation"]
    node = nodes[1]

    def ask_as(signer: LocalAccount, body: dict[str, object]) -> httpx.Response:
        request = SignAttestationRequest.model_validate(body)
        return post_as(signer, node.url, "/api/attestations/signature", request)

    def ask(**changed: object) -> httpx.Response:
        body = {"statement_nonce": nonce, "attestation": {**attestation, **changed}}
        return ask_as(SERVICE_VALIDATOR, body)

    higher = ask(score=attestation["score"] + 1)
    assert higher.status_code == 409 and "below" in higher.json()["detail"], higher.text
    other = ask(fingerprint="0x" + "ab" * 32)
    assert other.status_code == 409 and "fingerprint" in other.json()["detail"], other.text
    elsewhere = ask(cid=dao_cid_of(collector, b"not the refined records"))
    assert elsewhere.status_code == 409 and "does not hold" in elsewhere.json()["detail"]
    unknown = ask_as(SERVICE_VALIDATOR, {"statement_nonce": "f" * 32, "attestation": attestation})
    assert unknown.status_code == 409, unknown.text
    # Only a validator may ask: a stranger is refused before anything is looked at.
    stranger = ask_as(BOB, {"statement_nonce": nonce, "attestation": attestation})
    assert stranger.status_code == 403 and "is not a validator" in stranger.json()["detail"]
    # Nor may a stranger have an upload judged (its sign-in claim would be taken as said).
    judged = httpx.post(
        f"{node.url}/api/verdicts",
        data={"request": "{}"},
        files={"ciphertext": ("upload.bin", b"sealed")},
        timeout=60,
    )
    assert judged.status_code == 403 and "X-Validator-Signature" in judged.text
    # A body over the node's limits is refused from its headers, before a byte is read.
    status, raw = declared_only(int(node.url.rsplit(":", 1)[1]), "/api/verdicts", 1024**4)
    assert status == 413, raw

    signed = ask()
    assert signed.status_code == 200, signed.text
    assert signer_of(attestation, signed.json()["signature"], dao) == node.account.address


def dao_cid_of(collector: TestClient, data: bytes) -> str:
    return str(collector.app.state.ipfs.add(data, pin=True))  # type: ignore[attr-defined]


def test_fewer_than_m_agreeing_rejects_with_the_verdicts_side_by_side(
    collector: TestClient,
    nodes: list[ValidatorNodeProcess],
    dao: Dao,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A collecting node that proposes a higher score than the export earns: both
    co-validators find the real score, disagree and sign nothing; one of three agrees, two
    must: rejected, each verdict on the receipt, nothing minted."""
    made = records.new_contribution

    def inflated(*args, **kwargs):  # type: ignore[no-untyped-def]
        contribution = made(*args, **kwargs)
        contribution.score += 7
        return contribution

    monkeypatch.setattr(records, "new_contribution", inflated)
    response = contribute(collector, BOB, reddit_export(reddit_spec(seed=2103, account="bob")))
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert not receipt["accepted"] and receipt["status"] == "rejected"
    assert [v["status"] for v in receipt["verdicts"]] == ["agrees", "disagrees", "disagrees"]
    proposed = receipt["verdicts"][0]["score"]
    for verdict, node in zip(receipt["verdicts"][1:], nodes, strict=True):
        assert verdict["validator"] == node.account.address
        assert verdict["accepted"] and verdict["score"] == proposed - 7
        assert verdict["reasons"] == [
            f"it scores the export {proposed - 7}, below the proposed {proposed}"
        ]
    (reason,) = receipt["rejection_reasons"]
    assert "1 of 3 validators agreed" in reason and "2 must sign" in reason
    assert all(n.account.address in reason for n in nodes)
    assert dao.token.functions.balanceOf(BOB.address).call() == 0


def test_validators_away_is_try_again_not_a_rejection(
    collector: TestClient, nodes: list[ValidatorNodeProcess], dao: Dao
) -> None:
    """With both co-validators down, 2 of 3 cannot agree now but could once they are back:
    the upload is answered 503 with Retry-After and nothing is kept (the same upload may
    be sent again)."""
    for node in nodes:
        node.stop()
    export = reddit_export(reddit_spec(seed=2104, account="dora"))
    response = contribute(collector, DORA, export)
    assert response.status_code == 503 and response.headers["Retry-After"], response.text
    detail = response.json()["detail"]
    assert "1 of the 2 validators this export needs agreed" in detail
    assert "2 did not answer" in detail and "send it again shortly" in detail
    with collector.app.state.intake.sessions() as session:  # type: ignore[attr-defined]
        kept = session.scalars(select(Contribution).where(Contribution.contributor == DORA.address))
        assert kept.all() == []


def test_a_service_without_its_co_validators_says_so_instead_of_relaying_in_vain(
    service_settings: Settings, dao: Dao
) -> None:
    """F9 as it was: a service that signs alone on a deployment requiring two signatures.
    It refuses the upload naming the setting (503), rather than accept it and have every
    relay revert RegistryNotEnoughSignatures(1, 2)."""
    with TestClient(create_app()) as alone:
        response = contribute(alone, ALICE, reddit_export(reddit_spec(seed=2106)))
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert "with 2 validators' signatures" in detail and "knows 1 validator(s)" in detail
    assert "DATADAO_CO_VALIDATORS" in detail
    get_settings.cache_clear()
