"""The whole lifecycle on a real anvil: contribute -> mint -> rent -> vote -> queue -> execute
-> canDecrypt -> claim pro rata; and the ways it must refuse to go wrong."""

import pytest
from eth_account.signers.local import LocalAccount

from dao_service.chain.attestations import Attestation
from tests.utils.chain import Dao

ETH = 10**18
FOR, AGAINST = 1, 0
ACTIVE, DEFEATED, SUCCEEDED, QUEUED, EXECUTED = 1, 3, 4, 5, 7
PENDING, APPROVED, REFUNDED = 1, 2, 3


def test_contribute_mints_with_voting_power_and_weight(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> None:
    attestation = dao.attestation(alice.address, score=250)
    receipt = dao.contribute(attestation, [validator], relayer)
    event = dao.registry.events.ContributionRecorded().process_receipt(receipt)[0]["args"]
    assert event["cid"] == attestation.cid and event["tokens"] == 250 * ETH
    assert dao.token.functions.balanceOf(alice.address).call() == 250 * ETH
    # Never delegated, yet votes with its own balance.
    assert dao.token.functions.delegates(alice.address).call() == alice.address
    assert dao.token.functions.getVotes(alice.address).call() == 250 * ETH
    assert dao.pool.functions.weightOf(1, alice.address).call() == 250
    assert dao.registry.functions.contributionOf(attestation.fingerprint).call() == [
        alice.address,
        1,
        250,
        250 * ETH,
    ]
    assert dao.registry.functions.attestationDigest(
        attestation.as_tuple()
    ).call()  # same typed data


@pytest.mark.usefixtures("alice_contributed")
def test_explicit_delegation_moves_votes(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, bob: LocalAccount, relayer: LocalAccount
) -> None:
    dao.transact(dao.token.functions.delegate(bob.address), alice)
    assert dao.token.functions.getVotes(alice.address).call() == 0
    assert dao.token.functions.getVotes(bob.address).call() == 10 * ETH
    dao.contribute(dao.attestation(alice.address, score=5), [validator], relayer)
    assert dao.token.functions.getVotes(bob.address).call() == 15 * ETH  # chosen delegate kept


@pytest.mark.usefixtures("alice_holds_the_votes")
def test_rental_lifecycle_grants_access_and_pays_contributors_pro_rata(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    bob: LocalAccount,
    renter: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    dao.contribute(dao.attestation(bob.address, score=100), [validator], relayer)
    assert dao.token.functions.balanceOf(renter.address).call() == 0

    escrow_before = dao.w3.eth.get_balance(dao.escrow.address)
    rental_id, proposal_id = dao.rent(renter, payment=4 * ETH)  # the renter holds no tokens
    assert dao.w3.eth.get_balance(dao.escrow.address) == escrow_before + 4 * ETH
    assert dao.governor.functions.proposalProposer(proposal_id).call() == dao.escrow.address

    assert dao.governor.functions.state(proposal_id).call() == 0  # Pending: the voting delay
    dao.open_vote(proposal_id)
    assert dao.governor.functions.state(proposal_id).call() == ACTIVE
    dao.transact(dao.governor.functions.castVote(proposal_id, FOR), alice)
    dao.transact(dao.governor.functions.castVote(proposal_id, FOR), bob)
    dao.close_vote(proposal_id)
    assert dao.governor.functions.state(proposal_id).call() == SUCCEEDED

    call = dao.rental_call(rental_id)
    dao.transact(dao.governor.functions.queue(*call), outsider)
    assert dao.governor.functions.state(proposal_id).call() == QUEUED
    with dao.reverts("TimelockUnexpectedOperationState"):  # before the timelock delay
        dao.transact(dao.governor.functions.execute(*call), outsider)
    assert not dao.access.functions.canDecrypt(1, renter.address).call()

    dao.advance_time(61)
    dao.transact(dao.governor.functions.execute(*call), outsider)
    assert dao.governor.functions.state(proposal_id).call() == EXECUTED
    assert dao.access.functions.canDecrypt(1, renter.address).call()
    assert not dao.access.functions.canDecrypt(1, outsider.address).call()
    assert not dao.access.functions.canDecrypt(2, renter.address).call()
    assert dao.escrow.functions.rentalOf(rental_id).call()[3] == APPROVED

    assert dao.pool.functions.claimable(1, alice.address).call() == 3 * ETH
    assert dao.pool.functions.claimable(1, bob.address).call() == 1 * ETH
    before = dao.w3.eth.get_balance(alice.address)
    receipt = dao.transact(dao.pool.functions.claim(1), alice)
    gas_cost = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert dao.w3.eth.get_balance(alice.address) == before + 3 * ETH - gas_cost
    with dao.reverts("RevenuePoolNothingToClaim", 1, alice.address):  # double claim
        dao.transact(dao.pool.functions.claim(1), alice)
    with dao.reverts("RentalEscrowNotPending", rental_id, APPROVED):  # refund after success
        dao.transact(dao.escrow.functions.refund(rental_id), renter)

    dao.advance_time(3600)
    assert not dao.access.functions.canDecrypt(1, renter.address).call()  # grant expired


@pytest.mark.usefixtures("alice_holds_the_votes")
def test_defeated_rental_refunds_the_renter_once(
    dao: Dao, alice: LocalAccount, renter: LocalAccount, outsider: LocalAccount
) -> None:
    rental_id, proposal_id = dao.rent(renter, payment=2 * ETH)
    with dao.reverts("RentalEscrowNotRefundable", rental_id, 0):  # still pending a vote
        dao.transact(dao.escrow.functions.refund(rental_id), outsider)
    dao.open_vote(proposal_id)
    dao.transact(dao.governor.functions.castVote(proposal_id, AGAINST), alice)
    dao.close_vote(proposal_id)
    assert dao.governor.functions.state(proposal_id).call() == DEFEATED

    before = dao.w3.eth.get_balance(renter.address)
    dao.transact(
        dao.escrow.functions.refund(rental_id), outsider
    )  # anyone triggers; renter is paid
    assert dao.w3.eth.get_balance(renter.address) == before + 2 * ETH
    with dao.reverts("RentalEscrowNotPending", rental_id, REFUNDED):
        dao.transact(dao.escrow.functions.refund(rental_id), outsider)
    call = dao.rental_call(rental_id)
    with dao.reverts("GovernorUnexpectedProposalState"):
        dao.transact(dao.governor.functions.queue(*call), outsider)


@pytest.mark.usefixtures("alice_holds_the_votes")
def test_tokens_acquired_after_the_snapshot_do_not_vote(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    bob: LocalAccount,
    carol: LocalAccount,
    renter: LocalAccount,
    relayer: LocalAccount,
) -> None:
    _, proposal_id = dao.rent(renter, payment=ETH)
    dao.open_vote(proposal_id)
    dao.contribute(dao.attestation(carol.address, score=1000), [validator], relayer)  # minted late
    dao.transact(dao.token.functions.transfer(bob.address, 100 * ETH), alice)  # bought late
    for late in (carol, bob):
        receipt = dao.transact(dao.governor.functions.castVote(proposal_id, FOR), late)
        assert dao.governor.events.VoteCast().process_receipt(receipt)[0]["args"]["weight"] == 0
    assert dao.governor.functions.proposalVotes(proposal_id).call() == [0, 0, 0]
    dao.transact(dao.governor.functions.castVote(proposal_id, FOR), alice)
    assert dao.governor.functions.proposalVotes(proposal_id).call() == [0, 300 * ETH, 0]


def test_withdrawn_contribution_earns_nothing_after_withdrawal(
    dao: Dao,
    alice_and_bob_contributed: tuple[Attestation, Attestation],
    alice: LocalAccount,
    bob: LocalAccount,
    outsider: LocalAccount,
) -> None:
    withdrawn, _ = alice_and_bob_contributed
    dao.transact(dao.pool.functions.deposit(1), outsider, value=2 * ETH)  # 1 ETH each

    with dao.reverts("RegistryNotContributor", withdrawn.fingerprint, bob.address):
        dao.transact(dao.registry.functions.withdraw(withdrawn.fingerprint), bob)
    receipt = dao.transact(dao.registry.functions.withdraw(withdrawn.fingerprint), alice)
    assert dao.registry.events.ContributionWithdrawn().process_receipt(receipt)
    assert dao.registry.functions.contributionOf(withdrawn.fingerprint).call()[2] == 0
    assert dao.token.functions.balanceOf(alice.address).call() == 100 * ETH  # tokens stay

    dao.transact(dao.pool.functions.deposit(1), outsider, value=2 * ETH)  # all to bob now
    assert dao.pool.functions.claimable(1, alice.address).call() == 1 * ETH
    assert dao.pool.functions.claimable(1, bob.address).call() == 3 * ETH
    with dao.reverts("RegistryNotContributor", withdrawn.fingerprint, alice.address):
        dao.transact(dao.registry.functions.withdraw(withdrawn.fingerprint), alice)
