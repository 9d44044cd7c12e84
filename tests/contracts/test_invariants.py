"""Stateful property test on a real anvil: random sequences of contribute, withdraw, void,
rent, vote, execute, refund, claim and deposit keep the books straight after every step.

One deployment; each example starts from an anvil snapshot of it and reverts to it at the
end. Deterministic in CI; `HYPOTHESIS_EXAMPLES=200` explores more, with fresh randomness.
"""

import os
from collections import Counter
from typing import Any, ClassVar

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from web3 import Web3

from dao_service.chain.attestations import Attestation
from dao_service.chain.dev_accounts import VALIDATOR_INDEX, dev_account
from dao_service.exceptions import ContractReverted
from tests.conftest import DeployDao
from tests.utils.chain import Dao

ETH = 10**18
DATASETS = (1, 2)
FOR, AGAINST = 1, 0
SUCCEEDED, QUEUED = 4, 5
WINDOW_SECONDS = 120  # short, so that late executions happen within a run
SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "8")),
    stateful_step_count=30,
    deadline=None,
    derandomize=not os.environ.get("HYPOTHESIS_EXAMPLES"),  # CI: the same cases every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

CONTRIBUTORS = [dev_account(i) for i in (2, 3, 4)]
RENTERS = [dev_account(i) for i in (5, 7)]
VALIDATOR = dev_account(VALIDATOR_INDEX)
RELAYER, DEPOSITOR = dev_account(8), dev_account(9)


class DaoBooks(RuleBasedStateMachine):
    """The DAO driven at random, and what it should hold by our own count."""

    dao: ClassVar[Dao]

    contributions = Bundle("contributions")
    rentals = Bundle("rentals")

    def __init__(self) -> None:
        super().__init__()
        self.snapshot = self.dao.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        self.minted = 0
        self.burned = 0
        self.held = dict.fromkeys(DATASETS, 0)  # what the pool holds for each dataset
        self.pending: dict[int, int] = {}  # rentalId -> escrowed payment
        self.approved: set[int] = set()
        self.refunded: set[int] = set()

    def teardown(self) -> None:
        self.dao.w3.provider.make_request("evm_revert", [self.snapshot])  # type: ignore[arg-type]

    # -- contributions ------------------------------------------------------------------

    @initialize(
        target=contributions, scores=st.lists(st.integers(1, 1_000), min_size=3, max_size=3)
    )
    def holders(self, scores: list[int]) -> Any:
        """Every contributor starts with a contribution, so that votes can pass or fail."""
        return multiple(
            *(
                self.contribute(c, DATASETS[i % 2], score)
                for i, (c, score) in enumerate(zip(CONTRIBUTORS, scores, strict=True))
            )
        )

    @rule(
        target=contributions,
        contributor=st.sampled_from(CONTRIBUTORS),
        dataset=st.sampled_from(DATASETS),
        score=st.integers(1, 1_000),
    )
    def contribute(self, contributor: LocalAccount, dataset: int, score: int) -> Attestation:
        attestation = self.dao.attestation(contributor.address, score, dataset_id=dataset)
        self.dao.contribute(attestation, [VALIDATOR], RELAYER)
        self.minted += score * ETH
        return attestation

    @rule(attestation=contributions, relay_in_batch=st.booleans())
    def resubmit(self, attestation: Attestation, relay_in_batch: bool) -> None:
        if relay_in_batch:  # skipped, mints nothing
            signatures = [self.dao.sign(attestation, VALIDATOR)]
            fn = self.dao.registry.functions.contributeBatch([attestation.as_tuple()], signatures)
            self.dao.transact(fn, RELAYER)
        else:
            with self.dao.reverts("RegistryDuplicateFingerprint", attestation.fingerprint):
                self.dao.contribute(attestation, [VALIDATOR], RELAYER)

    @rule(attestation=contributions)
    def withdraw(self, attestation: Attestation) -> None:
        contributor = next(c for c in CONTRIBUTORS if c.address == attestation.contributor)
        weight = self.dao.registry.functions.contributionOf(attestation.fingerprint).call()[2]
        fn = self.dao.registry.functions.withdraw(attestation.fingerprint)
        if weight:
            self.dao.transact(fn, contributor)
        else:
            with self.dao.reverts("RegistryNotContributor"):
                self.dao.transact(fn, contributor)

    @rule(attestation=consumes(contributions))
    def void(self, attestation: Attestation) -> None:
        receipt = self.dao.as_timelock(
            self.dao.registry.functions.voidContribution(attestation.fingerprint)
        )
        voided = self.dao.registry.events.ContributionVoided().process_receipt(receipt)[0]
        self.burned += voided["args"]["tokensBurned"]

    # -- rentals ------------------------------------------------------------------------

    @rule(
        target=rentals,
        renter=st.sampled_from(RENTERS),
        dataset=st.sampled_from(DATASETS),
        payment=st.integers(1, 10**6),
    )
    def rent(self, renter: LocalAccount, dataset: int, payment: int) -> Any:
        rental_id, _ = self.dao.rent(renter, payment, dataset_id=dataset)
        self.pending[rental_id] = payment
        return rental_id

    @rule(rental=rentals, support=st.sampled_from([FOR, AGAINST]), then_execute=st.booleans())
    def vote(self, rental: int, support: int, then_execute: bool) -> None:
        proposal_id = self.dao.escrow.functions.rentalOf(rental).call()[5]
        if self.dao.governor.functions.state(proposal_id).call() > 1:  # vote already over
            return
        voters = [c for c in CONTRIBUTORS if self.dao.token.functions.balanceOf(c.address).call()]
        self.dao.vote_through(proposal_id, voters, support)
        if then_execute:
            self.execute(rental, late=False)

    @rule(rental=rentals, late=st.booleans())
    def execute(self, rental: int, late: bool) -> None:
        renter, dataset_id, _, _, _, proposal_id = self.dao.escrow.functions.rentalOf(rental).call()
        state = self.dao.governor.functions.state(proposal_id).call()
        if state not in (SUCCEEDED, QUEUED):
            return
        call = self.dao.rental_call(rental)
        if state == SUCCEEDED:
            self.dao.transact(self.dao.governor.functions.queue(*call), DEPOSITOR)
        if late:
            self.dao.advance_time(WINDOW_SECONDS + 1)
        self.dao.advance_time(61)
        window_end = (
            self.dao.governor.functions.proposalDeadline(proposal_id).call() + WINDOW_SECONDS
        )
        if abs(self.dao.now() - window_end) <= 1:
            # Off the boundary, where estimate and transaction could disagree.
            self.dao.advance_time(3)
        execute = self.dao.governor.functions.execute(*call)
        if rental in self.refunded:
            event("execute: refunded before")
            with self.dao.reverts("RentalEscrowNotPending"):
                self.dao.transact(execute, DEPOSITOR)
        elif self.dao.now() > window_end:
            event("execute: window closed")
            with self.dao.reverts("RentalEscrowWindowClosed"):
                self.dao.transact(execute, DEPOSITOR)
        else:
            event("execute: approved")
            self.dao.transact(execute, DEPOSITOR)
            assert self.dao.access.functions.canDecrypt(dataset_id, renter).call()
            self.approved.add(rental)
            self.held[dataset_id] += self.pending.pop(rental)

    @rule(rental=rentals)
    def refund(self, rental: int) -> None:
        try:
            self.dao.transact(self.dao.escrow.functions.refund(rental), DEPOSITOR)
        except ContractReverted as refused:
            assert refused.name in ("RentalEscrowNotRefundable", "RentalEscrowNotPending")
            assert (refused.name == "RentalEscrowNotPending") == (rental not in self.pending)
            return
        event("refund: refunded")
        self.refunded.add(rental)
        self.pending.pop(rental)

    # -- revenue ------------------------------------------------------------------------

    @rule(dataset=st.sampled_from(DATASETS), amount=st.integers(1, 10**6))
    def deposit(self, dataset: int, amount: int) -> None:
        self.dao.transact(self.dao.pool.functions.deposit(dataset), DEPOSITOR, value=amount)
        self.held[dataset] += amount

    @rule(contributor=st.sampled_from(CONTRIBUTORS), dataset=st.sampled_from(DATASETS))
    def claim(self, contributor: LocalAccount, dataset: int) -> None:
        owed = self.dao.pool.functions.claimable(dataset, contributor.address).call()
        fn = self.dao.pool.functions.claim(dataset)
        if owed == 0:
            with self.dao.reverts("RevenuePoolNothingToClaim", dataset, contributor.address):
                self.dao.transact(fn, contributor)
            return
        receipt = self.dao.transact(fn, contributor)
        paid = self.dao.pool.events.RevenueClaimed().process_receipt(receipt)[0]["args"]["amount"]
        assert paid == owed
        self.held[dataset] -= paid

    @rule(seconds=st.integers(1, 900))
    def wait(self, seconds: int) -> None:
        self.dao.advance_time(seconds)

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def supply_is_minted_minus_burned(self) -> None:
        assert self.dao.token.functions.totalSupply().call() == self.minted - self.burned

    @invariant()
    def each_dataset_owes_at_most_what_the_pool_holds_for_it(self) -> None:
        for dataset in DATASETS:
            owed = sum(
                self.dao.pool.functions.claimable(dataset, c.address).call() for c in CONTRIBUTORS
            )
            unallocated = self.dao.pool.functions.datasetOf(dataset).call()[2]
            idle = self.dao.pool.functions.idleIncomeOf(dataset).call()
            assert owed + unallocated + idle <= self.held[dataset]
        assert self.dao.w3.eth.get_balance(self.dao.pool.address) == sum(self.held.values())

    @invariant()
    def no_fingerprint_is_recorded_twice(self) -> None:
        logs = self.dao.registry.events.ContributionRecorded().get_logs(from_block=self.start)
        counts = Counter(log["args"]["fingerprint"] for log in logs)
        assert all(n == 1 for n in counts.values())

    @invariant()
    def escrow_holds_exactly_the_pending_payments(self) -> None:
        assert self.dao.w3.eth.get_balance(self.dao.escrow.address) == sum(self.pending.values())

    @invariant()
    def no_rental_is_both_refunded_and_approved(self) -> None:
        assert not self.approved & self.refunded
        for rental in self.approved | self.refunded:
            status = self.dao.escrow.functions.rentalOf(rental).call()[3]
            assert status == (2 if rental in self.approved else 3)

    @property
    def start(self) -> int:
        return self.dao.manifest.contracts["ContributionRegistry"].block_number


DaoBooks.TestCase.settings = SETTINGS


@pytest.mark.timeout(900)
def test_random_sequences_keep_the_books(w3: Web3, deploy_dao: DeployDao) -> None:
    # Payments from 1 wei: the rounding is what the books are checked for.
    DaoBooks.dao = Dao(
        w3, deploy_dao(execution_window_seconds=WINDOW_SECONDS, minimum_payment_wei=1)
    )
    run_state_machine_as_test(DaoBooks, settings=SETTINGS)
