"""Keys for settling a valued rental, on a real anvil with the real contracts and three
real node processes (M = 2): a validator naming an approved valued rental of the dataset,
within its settlement window and not yet settled, receives each node's shares sealed to
its key, and each node audits it; anyone else, or any other rental, gets nothing."""

import secrets
import time
from typing import Any

import ecies
import requests
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from sqlalchemy import create_engine, text

from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.earnings_roots import EarningsRoot
from dao_service.chain.settlement_request import settlement_text
from dao_service.core.shares import Share, combine_key
from dao_service.stack.custody_nodes import node_env
from tests.custody.test_release import deposited, opens
from tests.utils.chain import Dao
from tests.utils.custody import RELAYER, VALIDATOR, RunningNodes, deposit, new_blob, record

RENTER, CONTRIBUTOR = dev_account(5), dev_account(7)
SAMPLE = (b"\x07" * 32, 100)


def settlement_body(
    dao: Dao, signer: LocalAccount, rental_id: int, dataset_id: int = 1, **over: Any
) -> dict[str, Any]:
    """The request as the service signs it (`over` changes the body after signing)."""
    nonce, expires = secrets.token_hex(16), int(time.time()) + 120
    address = over.pop("address", signer.address)
    signed = settlement_text(
        address, rental_id, dataset_id, dao.chain_id, dao.escrow.address, nonce, expires
    )
    signature = signer.sign_message(encode_defunct(text=signed)).signature
    body = {"address": address, "rental_id": rental_id, "dataset_id": dataset_id,
            "chain_id": dao.chain_id, "nonce": nonce, "expires_at": expires,
            "signature": "0x" + bytes(signature).hex(), "limit": 1000}  # fmt: skip
    return {**body, **over}


def ask(nodes: RunningNodes, body: dict[str, Any], index: int = 1) -> requests.Response:
    url = nodes.node_set.nodes[index - 1].url
    return requests.post(f"{url}/api/keys/settlement", json=body, timeout=30)


def refused(nodes: RunningNodes, body: dict[str, Any]) -> str:
    """Every node refuses `body`; returns what the first said."""
    answers = [ask(nodes, body, i) for i in (1, 2, 3)]
    assert [a.status_code for a in answers] == [403, 403, 403], [a.text for a in answers]
    return str(answers[0].json()["detail"])


def approved(dao: Dao, sample: tuple[bytes, int] | None = SAMPLE, dataset_id: int = 1) -> int:
    rental_id, proposal_id = dao.rent(RENTER, 10**16, dataset_id=dataset_id, sample=sample)
    dao.vote_through(proposal_id, [CONTRIBUTOR])
    dao.queue_and_execute(dao.rental_call(rental_id), CONTRIBUTOR)
    return rental_id


def audited(nodes: RunningNodes, index: int) -> list[tuple[str, str, str]]:
    engine = create_engine(node_env(nodes.settings, index)["DATADAO_NODE_DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT address, outcome, detail FROM audit_events ORDER BY id")
        ).all()
    engine.dispose()
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def test_only_a_validator_settling_an_approved_valued_rental_in_its_window_gets_shares(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    blobs = deposited(custody_nodes, dao, 3)
    other = new_blob(50)  # dataset 2's: never released for a rental of dataset 1
    record(dao, other, CONTRIBUTOR.address, dataset_id=2)
    deposit(custody_nodes.node_set, other, CONTRIBUTOR.address, dataset_id=2)
    pending, _ = dao.rent(RENTER, 10**16, sample=SAMPLE)  # requested, never voted on
    rental = approved(dao)
    by_score = approved(dao, sample=None)
    of_dataset_2 = approved(dao, dataset_id=2)

    # Before anything: a request naming a rental the DAO has not approved gets nothing.
    assert refused(custody_nodes, settlement_body(dao, VALIDATOR, pending)) == (
        f"rental {pending} has not been approved by the DAO"
    )
    # The validator, for the approved valued rental: each node's shares, sealed to its key.
    body = settlement_body(dao, VALIDATOR, rental)
    shares: dict[str, list[Share]] = {}
    for index in (1, 2, 3):
        answer = ask(custody_nodes, body, index)
        assert answer.status_code == 200, answer.text
        for item in answer.json()["keys"]:
            value = ecies.decrypt(VALIDATOR.key.hex(), bytes.fromhex(item["encrypted_share"]))
            shares.setdefault(item["contribution_id"], []).append(Share(index, value))
    assert set(shares) == {b.contribution_id for b in blobs}  # dataset 1's only
    for blob in blobs:
        assert opens(combine_key(shares[blob.contribution_id][:2], 2), blob)
    # Each node audited it, naming the validator and the rental.
    for index in (1, 2, 3):
        who, outcome, detail = audited(custody_nodes, index)[-1]
        assert (who, outcome) == (VALIDATOR.address, "settlement")
        assert detail == f"3 shares for settling rental {rental}, challenge {body['nonce']}"

    # The same request again: the nonce is used.
    assert refused(custody_nodes, body) == "the challenge was already used"
    # Not a validator (the renter, who holds a grant, or anyone): refused.
    assert refused(custody_nodes, settlement_body(dao, RENTER, rental)) == (
        f"{RENTER.address} is not a validator of this DAO: only validators settle"
    )
    # Signed by someone else in the validator's name.
    forged = settlement_body(dao, RENTER, rental, address=VALIDATOR.address)
    assert refused(custody_nodes, forged).startswith(f"the request is signed by {RENTER.address}")
    # Another dataset than the rental's; a rental without a sample.
    assert refused(custody_nodes, settlement_body(dao, VALIDATOR, rental, dataset_id=2)) == (
        f"rental {rental} is of dataset 1, not 2"
    )
    assert refused(custody_nodes, settlement_body(dao, VALIDATOR, of_dataset_2, 1)) == (
        f"rental {of_dataset_2} is of dataset 2, not 1"
    )
    assert refused(custody_nodes, settlement_body(dao, VALIDATOR, by_score)) == (
        f"rental {by_score} has no validation sample: its income is split by score"
    )
    assert refused(custody_nodes, settlement_body(dao, VALIDATOR, 99)) == (
        "rental 99 has not been approved by the DAO"
    )

    # Settled: an earnings root allocates the dataset's valued income.
    funded = dao.pool.functions.earningsOf(1).call()[3]
    root = EarningsRoot(dataset_id=1, epoch=1, root=b"\x01" * 32, total=funded, cid="bafytable")
    dao.post_root(root, [VALIDATOR], RELAYER)
    assert refused(custody_nodes, settlement_body(dao, VALIDATOR, rental)) == (
        f"rental {rental} is settled: the dataset's earnings roots allocate its income"
    )
    # Past the settlement window (a day on the local stack): dataset 2's rental, unsettled.
    assert ask(custody_nodes, settlement_body(dao, VALIDATOR, of_dataset_2, 2)).status_code == 200
    dao.advance_time(dao.pool.functions.settlementWindow().call() + 1)
    closed = refused(custody_nodes, settlement_body(dao, VALIDATOR, of_dataset_2, 2))
    assert closed.startswith(f"rental {of_dataset_2}'s settlement window closed at ")
    assert closed.endswith(" UTC: its income is split by score")
    # Every refusal was audited too.
    outcomes = [outcome for _, outcome, _ in audited(custody_nodes, 1)]
    assert outcomes.count("refused") >= 9 and outcomes.count("settlement") == 2


def test_a_settlement_release_pages_with_a_cursor_checked_again_for_every_page(
    custody_nodes: RunningNodes, dao: Dao
) -> None:
    blobs = deposited(custody_nodes, dao, 5)
    rental = approved(dao)
    url = custody_nodes.node_set.nodes[0].url
    first = ask(custody_nodes, {**settlement_body(dao, VALIDATOR, rental), "limit": 2}).json()
    assert len(first["keys"]) == 2 and first["next_cursor"].startswith("settle.")
    second = requests.post(
        f"{url}/api/keys/settlement/next",
        json={"cursor": first["next_cursor"], "limit": 2},
        timeout=30,
    )
    assert second.status_code == 200 and len(second.json()["keys"]) == 2
    ids = [k["contribution_id"] for k in first["keys"] + second.json()["keys"]]
    assert ids == [b.contribution_id for b in blobs[:4]]
    # A renter's release cursor is no settlement cursor, and a tampered one is refused.
    tampered = second.json()["next_cursor"].replace(f".{rental}.", f".{rental + 1}.")
    for cursor in (tampered, "x.y"):
        refused_ = requests.post(
            f"{url}/api/keys/settlement/next", json={"cursor": cursor, "limit": 2}, timeout=30
        )
        assert refused_.status_code == 403
        assert refused_.json()["detail"] == "unknown cursor: start the settlement's release again"
    # Once the rental is settled, the cursor of its release gets no further page.
    funded = dao.pool.functions.earningsOf(1).call()[3]
    root = EarningsRoot(dataset_id=1, epoch=1, root=b"\x01" * 32, total=funded, cid="bafytable")
    dao.post_root(root, [VALIDATOR], RELAYER)
    late = requests.post(
        f"{url}/api/keys/settlement/next",
        json={"cursor": second.json()["next_cursor"], "limit": 2},
        timeout=30,
    )
    assert late.status_code == 403 and "is settled" in late.json()["detail"]
