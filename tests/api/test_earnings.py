"""Rental income by measured value, end to end on a real anvil, contracts and IPFS node:
contributors upload, a renter submits a validation sample and rents, the service values
each contribution against the sample, publishes the table and posts the root, and each
contributor claims exactly its amount with its proof."""

import base64
import hashlib
import json

from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.merkle import EarningsTree
from dao_service.chain.sample_statement import sample_statement
from dao_service.client.contribute import seal_export
from dao_service.core.config import Settings
from tests.api.conftest import wait_for_stage
from tests.utils.chain import Dao
from tests.utils.participants import contribute
from tests.utils.processes import run_cli

ALICE, BOB, CAROL, RENTER = dev_account(2), dev_account(3), dev_account(4), dev_account(5)
ETH = 10**18

ROUTER = [
    "My router keeps dropping the wifi connection every evening around eight.",
    "How do I reset the router to factory settings without the admin password?",
    "The modem light blinks orange and the internet connection is down again.",
    "Changing the wifi channel fixed the slow connection on my laptop for good.",
    "After the firmware update the router no longer hands out network addresses.",
    "My wifi signal is weak upstairs; would a mesh router help the connection?",
]
GARDEN = [
    "The tomatoes in my garden split after the heavy rain we had last week.",
    "Planting basil next to the tomatoes keeps the aphids away all summer.",
    "My roses need pruning before the first frost arrives in the valley.",
    "Compost with coffee grounds makes the soil rich enough for peppers.",
    "The cucumbers wilted in the afternoon sun despite the morning watering.",
    "Mulch keeps the weeds down between the strawberry plants in spring.",
]
NEAR_COPY = [t.replace("My ", "The ").replace("the ", "our ") for t in ROUTER] + [
    "The ethernet cable to the router was loose; since I fixed it the connection holds."
]
SAMPLE = "\n".join(
    [
        "Customer says the router drops the wifi connection at night, how to fix it",
        "Internet connection down, modem light orange: what should the customer try",
        "How to reset a router to factory settings",
    ]
).encode()


def export(texts: list[str]) -> bytes:
    return json.dumps([{"id": i, "text": t} for i, t in enumerate(texts)]).encode()


def sample_form(
    api: TestClient, renter: LocalAccount, plaintext: bytes, signed_sha256: bytes | None = None
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The form fields and file of a sample sealed to the service and signed by `renter`
    (over `signed_sha256`, the plaintext's by default)."""
    config = api.get("/api/config").json()
    sealed = seal_export(plaintext, config["intake_public_key"])
    sha256 = signed_sha256 or hashlib.sha256(plaintext).digest()
    nonce = api.post("/api/contributions/nonce", json={"wallet": renter.address}).json()["nonce"]
    text = sample_statement(renter.address, sha256, nonce, config["chain_id"], config["registry"])
    signature = renter.sign_message(encode_defunct(text=text)).signature
    fields = {
        "renter": renter.address,
        "sha256": "0x" + sha256.hex(),
        "wrapped_key": base64.b64encode(sealed.wrapped_key).decode(),
        "iv": base64.b64encode(sealed.iv).decode(),
        "nonce": nonce,
        "signature": "0x" + bytes(signature).hex(),
    }
    return fields, {"ciphertext": ("sample.bin", sealed.ciphertext)}


def submit_sample(api: TestClient, renter: LocalAccount, plaintext: bytes) -> dict[str, object]:
    fields, files = sample_form(api, renter, plaintext)
    response = api.post("/api/rentals/samples", data=fields, files=files)
    assert response.status_code == 200, response.text
    return dict(response.json())


def rent_with_sample(api: TestClient, dao: Dao, payment: int) -> int:
    receipt = submit_sample(api, RENTER, SAMPLE)
    sample = (bytes.fromhex(str(receipt["sha256"])[2:]), int(str(receipt["size"])))
    assert sample[1] == len(SAMPLE) and receipt["records"] == 3
    rental_id, proposal_id = dao.rent(RENTER, payment, sample=sample)
    dao.vote_through(proposal_id, [ALICE, CAROL])
    dao.queue_and_execute(dao.rental_call(rental_id), ALICE)
    return rental_id


def claim(dao: Dao, account: LocalAccount, tree: EarningsTree) -> int:
    cumulative, proof = tree.proof(account.address)
    before = dao.w3.eth.get_balance(account.address)
    receipt = dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), account)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    return dao.w3.eth.get_balance(account.address) - before + fee


def settle(api: TestClient, rental_id: int) -> tuple[dict[str, int], EarningsTree]:
    """Settles the rental; returns each contributor's amount from it and the new tree."""
    settled = api.post(f"/api/rentals/{rental_id}/settle")
    assert settled.status_code == 200, settled.text
    published = api.get("/api/earnings/1").json()
    assert published["cid"] == settled.json()["cid"]
    table = published["table"]
    assert table["rental_id"] == rental_id and "KNN-Shapley" in table["method"]
    amounts: dict[str, int] = {}
    for row in table["contributions"]:
        amounts[row["contributor"]] = amounts.get(row["contributor"], 0) + int(row["amount"])
    tree = EarningsTree.of({a: int(v) for a, v in table["cumulative"].items()})
    assert "0x" + tree.root.hex() == table["root"] == settled.json()["root"]
    return amounts, tree


def datadao(settings: Settings, *args: str) -> object:
    """The real command line against this deployment, with --json; must succeed."""
    result = run_cli(
        *args,
        "--json",
        "--rpc",
        settings.chain_rpc_url,
        "--manifest",
        str(settings.manifest_file),
        "--ipfs",
        settings.ipfs_api_url,
        "--data-dir",
        str(settings.data_dir),
    )
    assert result.returncode == 0, f"datadao {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return json.loads(result.stdout)


def test_each_contribution_earns_by_its_value_to_the_renters_sample(
    api: TestClient, dao: Dao, service_settings: Settings
) -> None:
    minted = {}
    for account, texts in ((ALICE, ROUTER), (BOB, GARDEN), (CAROL, NEAR_COPY)):
        response = contribute(api, account, export(texts))
        assert response.status_code == 200, response.text
        assert response.json()["accepted"], response.json()["rejection_reasons"]
        minted[account.address] = wait_for_stage(api, response.json()["id"], "minted")

    payment = 3 * ETH
    first = rent_with_sample(api, dao, payment)
    assert dao.pool.functions.claimable(1, ALICE.address).call() == 0  # not split by score
    amounts, tree = settle(api, first)
    alice, bob, carol = (amounts.get(a.address, 0) for a in (ALICE, BOB, CAROL))
    assert alice > 4 * carol > 0 and carol > bob  # matching most, near copy little, off-topic least
    assert bob < payment // 1000
    print(f"rental 1 of {payment} wei: matching {alice}, off-topic {bob}, near copy {carol}")
    assert 0 <= payment - (alice + bob + carol) <= 3  # dust, kept by the pool
    assert dao.pool.functions.earningsOf(1).call()[0] == tree.root

    assert claim(dao, CAROL, tree) == carol  # exactly its amount
    with dao.reverts("EarningsNothingToClaim"):  # the same proof again
        cumulative, proof = tree.proof(CAROL.address)
        dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), CAROL)

    # The flywheel: the next contribution's score has a demand line from this rental.
    later = contribute(api, CAROL, export(["A router reboot fixed the evening wifi drops."]))
    demand = [line for line in later.json()["report"]["breakdown"] if line["signal"] == "demand"]
    assert "renters valued generic/item records at 1.00 x the average" in demand[0]["reason"]

    # Bob withdraws: his contribution earns nothing from the next rental.
    fingerprint = bytes.fromhex(minted[BOB.address]["attestation"]["fingerprint"][2:])
    dao.transact(dao.registry.functions.withdraw(fingerprint), BOB)

    second = rent_with_sample(api, dao, 2 * ETH)
    again, tree2 = settle(api, second)
    assert again.get(BOB.address, 0) == 0
    assert dao.pool.functions.earningsOf(1).call()[:2] == [tree2.root, 2]
    # The command line reads the same tables, proves against the same root, and one claim
    # collects both rentals.
    owed = datadao(service_settings, "earnings", ALICE.address)
    (shown,) = owed["datasets"]  # type: ignore[index]
    assert [r["amount_wei"] for r in shown["rentals"]] == [alice, again[ALICE.address]]
    assert {r["split_by"] for r in shown["rentals"]} == {"measured value"}
    assert shown["claimable_wei"] == alice + again[ALICE.address]
    page = api.get(f"/api/contributors/{ALICE.address}").json()["income"]
    assert page["claimable"] == owed["claimable"]  # type: ignore[index]  # the page's figure
    before = dao.w3.eth.get_balance(ALICE.address)
    paid = datadao(service_settings, "claim", "--account", "test2")
    assert paid["paid_wei"] == alice + again[ALICE.address]  # type: ignore[index]
    assert dao.w3.eth.get_balance(ALICE.address) > before + paid["paid_wei"] - 10**15  # type: ignore[index]
    assert (
        dao.pool.functions.claimedEarnings(1, ALICE.address).call() == alice + again[ALICE.address]
    )
    assert claim(dao, CAROL, tree2) == again[CAROL.address]
    if bob:
        assert claim(dao, BOB, tree2) == bob  # earned before withdrawing, still his
    assert dao.w3.eth.get_balance(dao.pool.address) <= 6  # only dust left


def test_a_sample_the_service_never_received_splits_by_score(api: TestClient, dao: Dao) -> None:
    """The hash on-chain names a sample nobody gave the service: the rental still settles
    (by score, as one without a sample), so its payment is not stuck and later rentals
    of the dataset are not held up behind it."""
    for account, texts in ((ALICE, ROUTER), (BOB, GARDEN)):
        response = contribute(api, account, export(texts))
        assert response.json()["accepted"], response.json()["rejection_reasons"]
        wait_for_stage(api, response.json()["id"], "minted")
    rental_id, proposal_id = dao.rent(RENTER, ETH, sample=(b"\x42" * 32, 1_000))
    dao.vote_through(proposal_id, [ALICE, BOB])
    dao.queue_and_execute(dao.rental_call(rental_id), ALICE)
    amounts, _ = settle(api, rental_id)
    table = api.get("/api/earnings/1").json()["table"]
    assert table["sample_held"] is False and table["split_by"].startswith("score")
    assert amounts[ALICE.address] > 0 and amounts[BOB.address] > 0  # by score: both paid
    assert 0 <= ETH - sum(amounts.values()) <= 2


def test_a_bad_sample_is_refused_with_the_reason(
    api: TestClient, service_settings: Settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    fields, files = sample_form(api, RENTER, SAMPLE, hashlib.sha256(b"something else").digest())
    wrong = api.post("/api/rentals/samples", data=fields, files=files)
    assert wrong.status_code == 400 and "SHA-256 does not match" in wrong.json()["detail"]
    binary = bytes(range(256)) * 4
    fields, files = sample_form(api, RENTER, binary)
    unreadable = api.post("/api/rentals/samples", data=fields, files=files)
    assert unreadable.status_code == 400, unreadable.text
    assert "neither a JSON/NDJSON/CSV export nor UTF-8 text" in unreadable.json()["detail"]
    monkeypatch.setattr(service_settings, "max_sample_bytes", 100)
    big = api.post(
        "/api/rentals/samples", data=fields, files={"ciphertext": ("s.bin", b"x" * 5000)}
    )
    assert big.status_code == 413 and "exceeds 100 bytes" in big.json()["detail"]
