"""Rental income split by measured value: cumulative Merkle roots signed by the validator
set, claims with OpenZeppelin's MerkleProof, and the ways a root or a claim must fail."""

import hashlib

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.earnings_roots import EarningsRoot
from dao_service.chain.merkle import EarningsTree, verify
from tests.utils.chain import Dao

ETH = 10**18
SAMPLE = (hashlib.sha256(b"how do I reset my router?").digest(), 25)


def root_of(tree: EarningsTree, epoch: int, dataset_id: int = 1) -> EarningsRoot:
    cid = f"bafkrei-earnings-{dataset_id}-{epoch}"
    return EarningsRoot(
        dataset_id=dataset_id, epoch=epoch, root=tree.root, total=tree.total, cid=cid
    )


def claim(dao: Dao, account: LocalAccount, tree: EarningsTree, dataset_id: int = 1) -> int:
    """Claims with the tree's proof; returns the wei the account received."""
    cumulative, proof = tree.proof(account.address)
    before = dao.w3.eth.get_balance(account.address)
    fn = dao.pool.functions.claimEarnings(dataset_id, cumulative, proof)
    receipt = dao.transact(fn, account)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    return dao.w3.eth.get_balance(account.address) - before + fee


def approve_rental(
    dao: Dao,
    renter: LocalAccount,
    voters: list[LocalAccount],
    payment: int,
    *,
    sample: tuple[bytes, int] | None,
) -> int:
    rental_id, proposal_id = dao.rent(renter, payment, sample=sample)
    dao.vote_through(proposal_id, voters)
    dao.queue_and_execute(dao.rental_call(rental_id), voters[0])
    return rental_id


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_trees_built_here_verify_with_openzeppelin_merkleproof(
    dao: Dao, validator: LocalAccount, relayer: LocalAccount, outsider: LocalAccount, size: int
) -> None:
    accounts = [dev_account(i) for i in range(size)]
    tree = EarningsTree.of({a.address: (i + 1) * 10**15 + i for i, a in enumerate(accounts)})
    dao.transact(dao.pool.functions.depositValued(1), outsider, value=tree.total)
    dao.post_root(root_of(tree, 1), [validator], relayer)
    for i, account in enumerate(accounts):
        cumulative, proof = tree.proof(account.address)
        assert verify(tree.root, account.address, cumulative, proof)
        assert claim(dao, account, tree) == (i + 1) * 10**15 + i
    assert dao.pool.functions.earningsOf(1).call()[2:] == [tree.total, tree.total, tree.total]


def test_root_digest_matches_the_contract(dao: Dao, validator: LocalAccount) -> None:
    from eth_account.messages import encode_typed_data

    from dao_service.chain.earnings_roots import earnings_root_typed_data

    root = EarningsRoot(dataset_id=3, epoch=7, root=keccak(b"r"), total=5, cid="bafy-x")
    typed = earnings_root_typed_data(root, dao.chain_id, dao.pool.address)
    signable = encode_typed_data(full_message=typed)
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert dao.pool.functions.earningsRootDigest(root.as_tuple()).call() == expected


@pytest.mark.usefixtures("alice_and_bob_contributed")
def test_valued_rental_pays_the_root_not_the_weights_and_one_claim_collects_both(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    bob: LocalAccount,
    renter: LocalAccount,
    relayer: LocalAccount,
) -> None:
    first = approve_rental(dao, renter, [alice, bob], 3 * ETH, sample=SAMPLE)
    assert dao.escrow.functions.sampleOf(first).call() == SAMPLE
    assert dao.pool.functions.claimable(1, alice.address).call() == 0  # not by score
    assert dao.pool.functions.earningsOf(1).call()[3] == 3 * ETH  # funded, awaiting a root
    one = EarningsTree.of({alice.address: 2 * ETH, bob.address: ETH - 1})  # 1 wei dust kept
    dao.post_root(root_of(one, 1), [validator], relayer)
    assert claim(dao, bob, one) == ETH - 1

    approve_rental(dao, renter, [alice, bob], 2 * ETH, sample=SAMPLE)
    two = EarningsTree.of({alice.address: 2 * ETH + 15 * ETH // 10, bob.address: ETH + ETH // 2})
    assert two.total == 5 * ETH
    receipt = dao.post_root(root_of(two, 2), [validator], relayer)
    event = dao.pool.events.EarningsRootPosted().process_receipt(receipt)[0]["args"]
    assert (event["epoch"], event["root"], event["total"]) == (2, two.root, 5 * ETH)

    assert claim(dao, alice, two) == 35 * ETH // 10  # both rentals, one claim
    assert claim(dao, bob, two) == ETH // 2 + 1  # the dust of the first root included
    assert dao.w3.eth.get_balance(dao.pool.address) == 0

    # A rental without a sample still splits by score.
    unvalued = approve_rental(dao, renter, [alice, bob], 2 * ETH, sample=None)
    assert dao.escrow.functions.sampleOf(unvalued).call() == (b"\x00" * 32, 0)
    assert dao.pool.functions.claimable(1, alice.address).call() == ETH


def test_forged_replayed_and_stale_claims_revert(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    bob: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    dao.transact(dao.pool.functions.depositValued(1), outsider, value=4 * ETH)
    tree = EarningsTree.of({alice.address: 3 * ETH, bob.address: ETH})
    dao.post_root(root_of(tree, 1), [validator], relayer)
    cumulative, proof = tree.proof(alice.address)

    with dao.reverts("EarningsInvalidProof", 1, alice.address, 4 * ETH):  # inflated amount
        dao.transact(dao.pool.functions.claimEarnings(1, 4 * ETH, proof), alice)
    with dao.reverts("EarningsInvalidProof", 1, outsider.address, 3 * ETH):  # someone else's
        dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), outsider)
    forged = [keccak(b"forged"), *proof[1:]]
    with dao.reverts("EarningsInvalidProof", 1, alice.address, 3 * ETH):
        dao.transact(dao.pool.functions.claimEarnings(1, cumulative, forged), alice)
    with dao.reverts("EarningsInvalidProof", 2, alice.address, 3 * ETH):  # other dataset
        dao.transact(dao.pool.functions.claimEarnings(2, cumulative, proof), alice)

    dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), alice)
    with dao.reverts("EarningsNothingToClaim", 1, alice.address, 3 * ETH, 3 * ETH):  # replay
        dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), alice)

    # The next root replaces this one: its proofs no longer verify.
    dao.transact(dao.pool.functions.depositValued(1), outsider, value=ETH)
    nxt = EarningsTree.of({alice.address: 3 * ETH, bob.address: 2 * ETH})
    dao.post_root(root_of(nxt, 2), [validator], relayer)
    old_cumulative, old_proof = tree.proof(bob.address)
    with dao.reverts("EarningsInvalidProof", 1, bob.address, ETH):
        dao.transact(dao.pool.functions.claimEarnings(1, old_cumulative, old_proof), bob)
    assert claim(dao, bob, nxt) == 2 * ETH


def test_roots_need_the_validator_set_the_next_epoch_and_funding(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    dao.transact(dao.pool.functions.depositValued(1), outsider, value=2 * ETH)
    tree = EarningsTree.of({alice.address: 2 * ETH})
    with dao.reverts("RegistryUnknownValidator", outsider.address):
        dao.post_root(root_of(tree, 1), [outsider], relayer)
    with dao.reverts("RegistryNotEnoughSignatures", 0, 1):
        dao.transact(dao.pool.functions.postEarningsRoot(root_of(tree, 1).as_tuple(), []), relayer)
    greedy = EarningsTree.of({alice.address: 2 * ETH + 1})  # more than was paid in
    with dao.reverts("EarningsUnderfunded", 1, 2 * ETH + 1, 2 * ETH):
        dao.post_root(root_of(greedy, 1), [validator], relayer)
    with dao.reverts("EarningsWrongEpoch", 1, 2, 1):
        dao.post_root(root_of(tree, 2), [validator], relayer)
    signed = root_of(tree, 1)
    signatures = dao.sign_root(signed, validator)
    dao.transact(dao.pool.functions.postEarningsRoot(signed.as_tuple(), signatures), relayer)
    with dao.reverts("EarningsWrongEpoch", 1, 1, 2):  # the same signed root, replayed
        dao.transact(dao.pool.functions.postEarningsRoot(signed.as_tuple(), signatures), relayer)
    smaller = EarningsTree.of({alice.address: ETH})
    with dao.reverts("EarningsTotalDecreased", 1, ETH, 2 * ETH):
        dao.post_root(root_of(smaller, 2), [validator], relayer)
    # A root signed for another dataset cannot raid this one's funding.
    with dao.reverts("EarningsUnderfunded", 2, 2 * ETH, 0):
        dao.post_root(root_of(tree, 1, dataset_id=2), [validator], relayer)


def test_valued_rental_needs_a_real_sample(dao: Dao, renter: LocalAccount) -> None:
    fn = dao.escrow.functions.requestValuedRental(1, 60, "x", (b"\x00" * 32, 10))
    with dao.reverts("RentalEscrowInvalidSample", b"\x00" * 32, 10):
        dao.transact(fn, renter, value=ETH)
