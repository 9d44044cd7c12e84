"""Issue #21, an attacker's read on a production deployment: each finding's attack,
run again, and refused (with the exact custom error where there is one)."""

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from dao_service.chain.attestations import Attestation
from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.earnings_roots import EarningsRoot
from dao_service.chain.merkle import EarningsTree
from dao_service.exceptions import ContractReverted, DeploymentError
from tests.conftest import DeployDao
from tests.utils.chain import Dao

ETH = 10**18
DAY = 86_400
MILLION = 10**6 * ETH
FOR = 1
CANCELED, QUEUED = 2, 5


@pytest.fixture
def second_validator() -> LocalAccount:
    return dev_account(6)


@pytest.fixture
def guardian() -> LocalAccount:
    return dev_account(9)


@pytest.fixture
def production(
    w3: Web3,
    deploy_dao: DeployDao,
    validator: LocalAccount,
    second_validator: LocalAccount,
    guardian: LocalAccount,
) -> Dao:
    """The production profile, as deployed for real: two validator signatures, a guardian."""
    validators = sorted([validator.address, second_validator.address], key=lambda a: int(a, 16))
    return Dao(w3, deploy_dao("production", validators, guardian.address))


def honest_supply(
    dao: Dao, holders: dict[LocalAccount, int], keys: list[LocalAccount], relayer: LocalAccount
) -> None:
    """Mint each holder its tokens (in millions), matured: the supply honest contributors
    built over months, minted here in one go with the limits lifted, then put back."""
    limits = dao.registry.functions.mintLimits().call()
    delay = dao.registry.functions.maturityDelay().call()
    dao.as_timelock(dao.registry.functions.setMintLimits((2**40 - 1, DAY, 10_000, 10_000, 2**127)))
    dao.as_timelock(dao.registry.functions.setMaturityDelay(0))
    for holder, millions in holders.items():
        for _ in range(millions // 10):  # the score cap: 10M a contribution
            account = keccak(text=f"reddit:{holder.address}")
            attestation = dao.attestation(holder.address, score=10_000_000, account=account)
            dao.contribute(attestation, keys, relayer)
    dao.as_timelock(dao.registry.functions.setMintLimits(tuple(limits)))
    dao.as_timelock(dao.registry.functions.setMaturityDelay(delay))
    dao.advance_time(30 * DAY)  # months ago, as far as the mint budgets remember


def timelock_operation(dao: Dao, call: tuple[Any, ...]) -> bytes:
    """The timelock's id of a proposal the Governor queued."""
    targets, values, calldatas, description_hash = call
    # GovernorTimelockControl's salt: bytes20(governor) ^ descriptionHash.
    governor = bytes.fromhex(dao.manifest.address_of("DataGovernor")[2:]) + bytes(12)
    salt = bytes(a ^ b for a, b in zip(governor, description_hash, strict=True))
    return bytes(
        dao.timelock.functions.hashOperationBatch(
            targets, values, calldatas, bytes(32), salt
        ).call()
    )


def test_f1_two_validator_keys_no_longer_capture_the_dao(
    production: Dao,
    validator: LocalAccount,
    second_validator: LocalAccount,
    guardian: LocalAccount,
    alice: LocalAccount,
    bob: LocalAccount,
    relayer: LocalAccount,
) -> None:
    # F1: the production quorum of two keys minted 200M tokens to 5 sybils in 4 minutes
    # across a period boundary, against an honest supply of 50M, and voted the DAO away.
    dao, keys = production, [validator, second_validator]
    honest_supply(dao, {alice: 30, bob: 20}, keys, relayer)
    assert dao.token.functions.votingSupply().call() == 50 * MILLION
    dao.advance_time(DAY - dao.now() % DAY - 120)  # two minutes before midnight UTC

    sybils = [Web3.to_checksum_address(keccak(text=f"sybil-{i}")[:20]) for i in range(5)]
    minted, refusals, started, attempt = [], [], dao.now(), 0
    while dao.now() < started + 240:  # four minutes, one attestation after another
        attempt += 1
        sybil = sybils[attempt % 5]
        # The captured keys sign any account they like; a fresh one each time.
        account = keccak(text=f"made-up-account-{attempt}")
        attestation = dao.attestation(sybil, score=250_000, account=account)
        try:
            dao.contribute(attestation, keys, relayer)
            minted.append(attestation)
        except ContractReverted as refused:
            refusals.append(refused.name)
        dao.advance_time(4)
    # At most 5% of the voting supply a day, drained over the day: no boundary to straddle.
    budget = 50 * MILLION * 500 // 10_000
    assert len(minted) * 250_000 * ETH <= budget + budget * 240 // DAY
    assert len(minted) * 250_000 * ETH >= budget - 250_000 * ETH
    assert set(refusals) == {"MintLimitsTotalBudgetExceeded"}, refusals[:3]
    assert len(refusals) > 40

    # What was minted is held by the registry until it matures: no votes, no transfers.
    registry = dao.manifest.address_of("ContributionRegistry")
    assert dao.token.functions.balanceOf(registry).call() == len(minted) * 250_000 * ETH
    for sybil in sybils:
        assert dao.token.functions.balanceOf(sybil).call() == 0
        assert dao.token.functions.getVotes(sybil).call() == 0
    assert dao.token.functions.votingSupply().call() == 50 * MILLION
    maturity = dao.registry.functions.maturityOf(minted[0].fingerprint).call()[0]
    with pytest.raises(ContractReverted) as refused:
        dao.transact(dao.registry.functions.release([minted[0].fingerprint]), relayer)
    assert refused.value.name == "RegistryNotMatured"
    assert refused.value.args_[:2] == (minted[0].fingerprint, maturity)

    # The guardian pauses at once: nothing more is minted or released.
    dao.transact(dao.registry.functions.pause(), guardian)
    dao.advance_time(15 * DAY)  # past maturity
    with dao.reverts("EnforcedPause"):
        dao.transact(dao.registry.functions.release([minted[0].fingerprint]), relayer)
    # A vote voids every fraudulent contribution; a void before release burns it all.
    for attestation in minted:
        receipt = dao.as_timelock(dao.registry.functions.voidContribution(attestation.fingerprint))
        voided = dao.registry.events.ContributionVoided().process_receipt(receipt)[0]["args"]
        assert voided["tokensBurned"] == 250_000 * ETH
    assert dao.token.functions.totalSupply().call() == 50 * MILLION


def test_f1_the_guardian_vetoes_a_queued_proposal(
    production: Dao,
    validator: LocalAccount,
    second_validator: LocalAccount,
    guardian: LocalAccount,
    alice: LocalAccount,
    outsider: LocalAccount,
    relayer: LocalAccount,
) -> None:
    # F1: a proposal passed by votes that should not have counted went through the
    # timelock (unpause, guardian replaced, caps lifted, a 10-year grant): no veto.
    dao = production
    honest_supply(dao, {alice: 10}, [validator, second_validator], relayer)
    actions = [
        (dao.registry, dao.registry.functions.setGuardian(outsider.address)),
        (
            dao.registry,
            dao.registry.functions.setMintLimits((2**40 - 1, DAY, 10_000, 10_000, 2**127)),
        ),
        (dao.access, dao.access.functions.grantAccess(outsider.address, 1, 10 * 365 * DAY)),
    ]
    targets = [contract.address for contract, _ in actions]
    calldatas = [bytes.fromhex(fn._encode_transaction_data()[2:]) for _, fn in actions]
    text = "Housekeeping"
    receipt = dao.transact(dao.governor.functions.propose(targets, [0] * 3, calldatas, text), alice)
    proposal_id = dao.governor.events.ProposalCreated().process_receipt(receipt)[0]["args"][
        "proposalId"
    ]
    dao.vote_through(proposal_id, [alice])
    call = (targets, [0] * 3, calldatas, keccak(text=text))
    dao.transact(dao.governor.functions.queue(*call), alice)
    assert dao.governor.functions.state(proposal_id).call() == QUEUED

    operation = timelock_operation(dao, call)
    role = dao.timelock.functions.CANCELLER_ROLE().call()
    with dao.reverts("AccessControlUnauthorizedAccount", outsider.address, role):
        dao.transact(dao.timelock.functions.cancel(operation), outsider)
    dao.transact(dao.timelock.functions.cancel(operation), guardian)
    assert dao.governor.functions.state(proposal_id).call() == CANCELED
    dao.advance_time(2 * DAY + 1)
    with pytest.raises(ContractReverted):
        dao.transact(dao.governor.functions.execute(*call), alice)
    assert dao.registry.functions.guardian().call() == guardian.address
    assert not dao.access.functions.canDecrypt(1, outsider.address).call()
    # The veto itself moves only by a vote: the timelock is the role's only admin.
    admin = dao.timelock.functions.DEFAULT_ADMIN_ROLE().call()
    with dao.reverts("AccessControlUnauthorizedAccount", guardian.address, admin):
        dao.transact(dao.timelock.functions.grantRole(role, outsider.address), guardian)


def test_the_guardians_veto_ends_with_its_term_unless_a_vote_extends_it(
    production: Dao, guardian: LocalAccount
) -> None:
    # An attacker's read of the veto: a captured guardian cancels, forever, every proposal
    # that replaces it. Now its veto has a term; only a vote extends it.
    dao = production
    unknown = keccak(text="no such operation")
    term = dao.timelock.functions.guardianVetoUntil().call()
    assert term - dao.now() > 300 * DAY  # production: a year from deployment
    with dao.reverts("TimelockUnexpectedOperationState"):  # within its term: it may cancel
        dao.transact(dao.timelock.functions.cancel(unknown), guardian)
    with dao.reverts("TimelockUnauthorizedCaller", guardian.address):
        dao.transact(dao.timelock.functions.setGuardianVetoUntil(2**47), guardian)
    dao.advance_time(term - dao.now() + 1)
    with dao.reverts("DataTimelockVetoExpired", term):
        dao.transact(dao.timelock.functions.cancel(unknown), guardian)
    dao.as_timelock(dao.timelock.functions.setGuardianVetoUntil(dao.now() + 30 * DAY))
    with dao.reverts("TimelockUnexpectedOperationState"):  # a vote gave it a new term
        dao.transact(dao.timelock.functions.cancel(unknown), guardian)


def test_f4_production_windows_fit_a_one_second_block_chain(
    production: Dao,
    validator: LocalAccount,
    second_validator: LocalAccount,
    alice: LocalAccount,
    renter: LocalAccount,
    relayer: LocalAccount,
) -> None:
    # F4: windows counted in blocks assumed 12 s blocks while the timelock counts seconds;
    # on a 1 s-block chain no rental could ever be approved. Now all count seconds: a
    # rental passes on anvil, which mines a block per transaction, whatever the block time.
    dao = production
    honest_supply(dao, {alice: 10}, [validator, second_validator], relayer)
    assert dao.token.functions.CLOCK_MODE().call() == "mode=timestamp"
    assert dao.governor.functions.clock().call() == dao.now()
    rental_id, proposal_id = dao.rent(renter, payment=ETH)
    snapshot = dao.governor.functions.proposalSnapshot(proposal_id).call()
    deadline = dao.governor.functions.proposalDeadline(proposal_id).call()
    assert (snapshot - dao.now(), deadline - snapshot) == (DAY, 7 * DAY)
    dao.vote_through(proposal_id, [alice])
    dao.queue_and_execute(dao.rental_call(rental_id), alice)
    assert dao.access.functions.canDecrypt(1, renter.address).call()


def test_f4_deploy_refuses_windows_that_do_not_fit(deploy_dao: DeployDao) -> None:
    with pytest.raises(DeploymentError) as refused:
        deploy_dao(maturity_seconds=300, challenge_delay_seconds=60)
    said = refused.value.user_message
    assert "maturity_seconds (300 s) is shorter than a void proposal takes (voting" in said
    assert "challenge_delay_seconds (60 s)" in said
    with pytest.raises(DeploymentError, match="would be split by score before"):
        deploy_dao(settlement_window_seconds=0)
    with pytest.raises(DeploymentError, match="no rental could execute"):
        deploy_dao(execution_window_seconds=60)


def test_f2_the_validator_quorum_cannot_pay_itself(
    production: Dao,
    validator: LocalAccount,
    second_validator: LocalAccount,
    guardian: LocalAccount,
    alice: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    # F2: the quorum posted an earnings root paying all valued income to itself and claimed
    # at once, even while minting was paused. No delay, no challenge.
    dao, keys = production, [validator, second_validator]
    dao.transact(dao.pool.functions.depositValued(1), outsider, value=5 * ETH)
    greedy = EarningsTree.of({validator.address: 5 * ETH})
    root = EarningsRoot(dataset_id=1, epoch=1, root=greedy.root, total=5 * ETH, cid="bafkrei-x")
    receipt = dao.post_root(root, keys, relayer)
    pending = dao.pool.events.EarningsRootPending().process_receipt(receipt)[0]["args"]
    assert pending["claimableAt"] == dao.now() + 11 * DAY
    cumulative, proof = greedy.proof(validator.address)
    with dao.reverts("EarningsInvalidProof", 1, validator.address, 5 * ETH):  # not yet
        dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), validator)

    dao.transact(dao.pool.functions.cancelEarningsRoot(1), guardian)
    dao.advance_time(12 * DAY)
    with dao.reverts("EarningsInvalidProof", 1, validator.address, 5 * ETH):
        dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), validator)
    with dao.reverts("EarningsWrongEpoch", 1, 1, 2):  # its epoch is spent
        dao.post_root(root, keys, relayer)

    # Posting respects the pause, and a root waiting when the pause comes stays waiting.
    honest = EarningsTree.of({alice.address: 3 * ETH, outsider.address: 2 * ETH})
    second = EarningsRoot(dataset_id=1, epoch=2, root=honest.root, total=5 * ETH, cid="bafkrei-y")
    dao.post_root(second, keys, relayer)
    dao.transact(dao.registry.functions.pause(), guardian)
    third = second.model_copy(update={"epoch": 3})
    with dao.reverts("EarningsPaused", 1):
        dao.post_root(third, keys, relayer)
    dao.advance_time(12 * DAY)
    assert dao.pool.functions.earningsOf(1).call()[0] == bytes(32)
    dao.as_timelock(dao.registry.functions.unpause())
    assert dao.pool.functions.earningsOf(1).call()[0] == honest.root
    cumulative, proof = honest.proof(alice.address)
    dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), alice)


def test_f2_claims_never_exceed_the_signed_total(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    bob: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    dao.transact(dao.pool.functions.depositValued(1), outsider, value=10 * ETH)
    tree = EarningsTree.of({alice.address: 3 * ETH, bob.address: 3 * ETH})
    # The leaves add up to 6 ETH; the signed total says 4.
    dao.post_root(
        EarningsRoot(dataset_id=1, epoch=1, root=tree.root, total=4 * ETH, cid="bafkrei-z"),
        [validator],
        relayer,
    )
    cumulative, proof = tree.proof(alice.address)
    dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), alice)
    cumulative, proof = tree.proof(bob.address)
    with dao.reverts("EarningsAboveSignedTotal", 1, 6 * ETH, 4 * ETH):
        dao.transact(dao.pool.functions.claimEarnings(1, cumulative, proof), bob)


def test_f3_a_void_takes_back_the_income_the_voided_weight_earned(
    dao: Dao,
    alice_and_bob_contributed: tuple[Attestation, Attestation],
    alice: LocalAccount,
    bob: LocalAccount,
    carol: LocalAccount,
    outsider: LocalAccount,
) -> None:
    # F3: a fraudulent contributor moved the minted tokens away before the void (burned: 0)
    # and still claimed the 5 ETH of income the voided weight earned.
    fraud, _ = alice_and_bob_contributed
    dao.transact(dao.pool.functions.deposit(1), outsider, value=10 * ETH)
    assert dao.pool.functions.claimable(1, alice.address).call() == 5 * ETH
    dao.transact(dao.token.functions.transfer(carol.address, 100 * ETH), alice)

    receipt = dao.as_timelock(dao.registry.functions.voidContribution(fraud.fingerprint))
    voided = dao.registry.events.ContributionVoided().process_receipt(receipt)[0]["args"]
    assert (voided["tokensBurned"], voided["incomeTakenBack"]) == (0, 5 * ETH)
    assert dao.pool.functions.claimable(1, alice.address).call() == 0
    assert dao.pool.functions.claimable(1, bob.address).call() == 10 * ETH
    with dao.reverts("RevenuePoolNothingToClaim", 1, alice.address):
        dao.transact(dao.pool.functions.claim(1), alice)


def test_f3_what_was_claimed_before_stays_claimed_and_a_withdrawal_does_not_shield(
    dao: Dao,
    alice_and_bob_contributed: tuple[Attestation, Attestation],
    alice: LocalAccount,
    bob: LocalAccount,
    outsider: LocalAccount,
) -> None:
    fraud, _ = alice_and_bob_contributed
    dao.transact(dao.pool.functions.deposit(1), outsider, value=2 * ETH)
    dao.transact(dao.pool.functions.claim(1), alice)  # 1 ETH, gone before the void
    dao.transact(dao.pool.functions.deposit(1), outsider, value=4 * ETH)
    dao.transact(dao.registry.functions.withdraw(fraud.fingerprint), alice)  # keeps 2 ETH owed
    dao.transact(dao.pool.functions.deposit(1), outsider, value=4 * ETH)  # all to bob
    assert dao.pool.functions.claimable(1, alice.address).call() == 2 * ETH

    receipt = dao.as_timelock(dao.registry.functions.voidContribution(fraud.fingerprint))
    voided = dao.registry.events.ContributionVoided().process_receipt(receipt)[0]["args"]
    assert (voided["weightRemoved"], voided["incomeTakenBack"]) == (0, 2 * ETH)
    assert dao.pool.functions.claimable(1, alice.address).call() == 0
    # Bob's: 1 + 2 of the deposits both earned from, 4 alone, and the 2 taken back.
    assert dao.pool.functions.claimable(1, bob.address).call() == 9 * ETH


def test_f3_a_void_before_maturity_burns_every_token(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    bob: LocalAccount,
    relayer: LocalAccount,
) -> None:
    dao.as_timelock(dao.registry.functions.setMaturityDelay(3_600))
    fraud = dao.attestation(alice.address, score=100)
    dao.contribute(fraud, [validator], relayer)
    assert dao.token.functions.balanceOf(alice.address).call() == 0  # nothing to move away
    with dao.reverts("ERC20InsufficientBalance", alice.address, 0, ETH):
        dao.transact(dao.token.functions.transfer(bob.address, ETH), alice)
    receipt = dao.as_timelock(dao.registry.functions.voidContribution(fraud.fingerprint))
    voided = dao.registry.events.ContributionVoided().process_receipt(receipt)[0]["args"]
    assert (voided["weightRemoved"], voided["tokensBurned"]) == (0, 100 * ETH)
    assert dao.token.functions.totalSupply().call() == 0
    dao.advance_time(3_600)
    with dao.reverts("RegistryNothingToRelease", fraud.fingerprint):
        dao.transact(dao.registry.functions.release([fraud.fingerprint]), relayer)


def test_releasing_one_of_a_batch_first_does_not_revert_the_batch(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    bob: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    # Anyone may release: one front-running the service's batch with one of its items
    # used to revert the whole batch.
    dao.as_timelock(dao.registry.functions.setMaturityDelay(3_600))
    first, second = (dao.attestation(a.address, score=100) for a in (alice, bob))
    for attestation in (first, second):
        dao.contribute(attestation, [validator], relayer)
    dao.advance_time(3_600)
    dao.transact(dao.registry.functions.release([first.fingerprint]), outsider)
    dao.transact(dao.registry.functions.release([first.fingerprint, second.fingerprint]), relayer)
    assert dao.token.functions.balanceOf(alice.address).call() == 100 * ETH
    assert dao.token.functions.balanceOf(bob.address).call() == 100 * ETH


def test_f6_weight_earns_only_once_matured(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    carol: LocalAccount,
    renter: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    # F6: an attestation submitted just before a rental's execution and withdrawn right
    # after kept a full pro-rata share.
    dao.contribute(dao.attestation(alice.address, score=300), [validator], relayer)
    dao.as_timelock(dao.registry.functions.setMaturityDelay(DAY))
    rental_id, proposal_id = dao.rent(renter, payment=4 * ETH)
    dao.vote_through(proposal_id, [alice])
    call = dao.rental_call(rental_id)
    dao.transact(dao.governor.functions.queue(*call), outsider)
    dao.advance_time(61)
    late = dao.attestation(carol.address, score=300)
    dao.contribute(late, [validator], relayer)  # just before the execution
    dao.transact(dao.governor.functions.execute(*call), outsider)
    dao.transact(dao.registry.functions.withdraw(late.fingerprint), carol)  # right after
    assert dao.pool.functions.claimable(1, carol.address).call() == 0
    assert 4 * ETH - 1 <= dao.pool.functions.claimable(1, alice.address).call() <= 4 * ETH

    # Matured, it earns from then on (withdrawn, it only gets its tokens).
    honest = dao.attestation(carol.address, score=100)
    dao.contribute(honest, [validator], relayer)
    dao.mature([late.fingerprint, honest.fingerprint], relayer)
    assert dao.token.functions.getVotes(carol.address).call() == 400 * ETH
    dao.transact(dao.pool.functions.deposit(1), outsider, value=4 * ETH)
    assert ETH - 1 <= dao.pool.functions.claimable(1, carol.address).call() <= ETH


@pytest.mark.usefixtures("alice_holds_the_votes")
def test_f8_a_revocation_sticks(
    dao: Dao, alice: LocalAccount, renter: LocalAccount, outsider: LocalAccount
) -> None:
    # F8: another already-passed rental of the same renter was executed after revokeAccess
    # and wrote a fresh grant.
    first, first_proposal = dao.rent(renter, payment=ETH)
    second, second_proposal = dao.rent(renter, payment=2 * ETH)
    dao.open_vote(second_proposal)
    for proposal_id in (first_proposal, second_proposal):
        dao.transact(dao.governor.functions.castVote(proposal_id, FOR), alice)
    dao.close_vote(second_proposal)
    dao.queue_and_execute(dao.rental_call(first), outsider)
    dao.transact(dao.governor.functions.queue(*dao.rental_call(second)), outsider)
    dao.as_timelock(dao.access.functions.revokeAccess(renter.address, 1))

    dao.advance_time(61)
    with dao.reverts("AccessRegistryRevoked", 1, renter.address):
        dao.transact(dao.governor.functions.execute(*dao.rental_call(second)), outsider)
    assert not dao.access.functions.canDecrypt(1, renter.address).call()
    before = dao.w3.eth.get_balance(renter.address)
    dao.transact(dao.escrow.functions.refund(second), outsider)  # at once, not after the window
    assert dao.w3.eth.get_balance(renter.address) == before + 2 * ETH
    # Only a vote grants the renter again.
    dao.as_timelock(dao.access.functions.grantAccess(renter.address, 1, 3_600))
    assert dao.access.functions.canDecrypt(1, renter.address).call()


def test_spam_rentals_pay_the_daos_minimum(dao: Dao, renter: LocalAccount) -> None:
    # Still open: 1-wei rental proposals were free spam.
    dao.as_timelock(dao.escrow.functions.setMinimumPayment(ETH // 10))
    with dao.reverts("RentalEscrowPaymentTooLow", 1, ETH // 10):
        dao.transact(dao.escrow.functions.requestRental(1, 3600, "spam"), renter, value=1)
    dao.rent(renter, payment=ETH // 10)


def test_each_valued_deposit_has_its_own_settlement_window(
    dao: Dao,
    alice_and_bob_contributed: tuple[Attestation, Attestation],
    alice: LocalAccount,
    outsider: LocalAccount,
    renter: LocalAccount,
) -> None:
    # Each valued deposit used to restart one window for all: anyone could hold a payment
    # no root allocated back forever with 1 wei a month. And a window started by an old
    # deposit must not cut a later payment's short (a 1 wei deposit ahead of a rental).
    window = dao.pool.functions.settlementWindow().call()
    dao.transact(dao.pool.functions.depositValued(1), outsider, value=1)  # armed early
    dao.advance_time(window - 60)
    dao.transact(dao.pool.functions.depositValued(1), renter, value=4 * ETH)  # a rental
    dao.advance_time(61)
    receipt = dao.transact(dao.pool.functions.splitUnsettledIncome(1), outsider)
    unsettled = dao.pool.events.EarningsUnsettled().process_receipt(receipt)[0]["args"]
    assert (unsettled["amount"], unsettled["funded"]) == (1, 4 * ETH)  # only the old wei
    with pytest.raises(ContractReverted) as refused:
        dao.transact(dao.pool.functions.splitUnsettledIncome(1), outsider)
    assert refused.value.name == "EarningsStillSettling"
    settle_by = refused.value.args_[1]
    assert dao.now() < settle_by <= dao.now() + window  # the rental's own window
    dao.transact(dao.pool.functions.depositValued(1), outsider, value=1)  # no restart
    dao.advance_time(settle_by - dao.now() + 1)
    receipt = dao.transact(dao.pool.functions.splitUnsettledIncome(1), outsider)
    unsettled = dao.pool.events.EarningsUnsettled().process_receipt(receipt)[0]["args"]
    assert (unsettled["amount"], unsettled["funded"]) == (4 * ETH, 1)
    assert dao.pool.functions.claimable(1, alice.address).call() == (4 * ETH + 1) // 2


def test_a_valued_payment_no_root_allocates_is_split_by_score(
    dao: Dao,
    alice_and_bob_contributed: tuple[Attestation, Attestation],
    validator: LocalAccount,
    alice: LocalAccount,
    bob: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    # Still open: a valued rental's payment had no exit if no root was ever posted.
    dao.transact(dao.pool.functions.depositValued(1), outsider, value=4 * ETH)
    tree = EarningsTree.of({alice.address: ETH})  # a root allocates 1 of the 4
    dao.post_root(
        EarningsRoot(dataset_id=1, epoch=1, root=tree.root, total=ETH, cid="bafkrei-w"),
        [validator],
        relayer,
    )
    window = dao.pool.functions.settlementWindow().call()
    with pytest.raises(ContractReverted) as refused:
        dao.transact(dao.pool.functions.splitUnsettledIncome(1), outsider)
    assert refused.value.name == "EarningsStillSettling"
    dao.advance_time(window + 1)
    receipt = dao.transact(dao.pool.functions.splitUnsettledIncome(1), outsider)
    unsettled = dao.pool.events.EarningsUnsettled().process_receipt(receipt)[0]["args"]
    assert (unsettled["amount"], unsettled["funded"]) == (3 * ETH, ETH)
    for holder in (alice, bob):  # equal scores
        assert dao.pool.functions.claimable(1, holder.address).call() == 3 * ETH // 2
    with dao.reverts("EarningsNothingUnsettled", 1):
        dao.transact(dao.pool.functions.splitUnsettledIncome(1), outsider)
    late = EarningsTree.of({alice.address: ETH, bob.address: 3 * ETH})
    with dao.reverts("EarningsUnderfunded", 1, 4 * ETH, ETH):  # it left the valued income
        dao.post_root(
            EarningsRoot(dataset_id=1, epoch=2, root=late.root, total=4 * ETH, cid="bafkrei-v"),
            [validator],
            relayer,
        )
