"""Each attack on the contracts is refused, with the exact custom error and its values."""

from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from dao_service.chain import client
from dao_service.chain.attestations import sign_withdrawal
from dao_service.chain.compiler import compile_sources
from dao_service.chain.dev_accounts import DEPLOYER_INDEX, dev_account
from dao_service.chain.reverts import ContractReverted
from tests.utils.chain import Dao

ETH = 10**18
ATTACKERS = Path(__file__).parent / "attackers" / "Reentrant.sol"


def test_replayed_attestation_is_refused(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> None:
    attestation = dao.attestation(alice.address, score=10)
    dao.contribute(attestation, [validator], relayer)
    with dao.reverts("RegistryDuplicateFingerprint", attestation.fingerprint):
        dao.contribute(attestation, [validator], relayer)
    assert dao.token.functions.balanceOf(alice.address).call() == 10 * ETH


def test_duplicate_fingerprint_is_refused(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, bob: LocalAccount, relayer: LocalAccount
) -> None:
    first = dao.attestation(alice.address, score=10)
    dao.contribute(first, [validator], relayer)
    copy = dao.attestation(bob.address, score=10, fingerprint=first.fingerprint)
    with dao.reverts("RegistryDuplicateFingerprint", first.fingerprint):
        dao.contribute(copy, [validator], relayer)


def test_expired_attestation_is_refused(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> None:
    deadline = dao.now() + 10
    attestation = dao.attestation(alice.address, score=10, deadline=deadline)
    dao.advance_time(30)
    with dao.reverts("RegistryAttestationExpired"):
        dao.contribute(attestation, [validator], relayer)


def test_signature_of_a_non_validator_is_refused(
    dao: Dao, alice: LocalAccount, outsider: LocalAccount, relayer: LocalAccount
) -> None:
    with dao.reverts("RegistryUnknownValidator", outsider.address):
        dao.contribute(dao.attestation(alice.address, score=10), [outsider], relayer)


def test_contributor_cannot_change_a_signed_attestation(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> None:
    attestation = dao.attestation(alice.address, score=10)
    signatures = dao.sign(attestation, validator)
    inflated = attestation.model_copy(update={"score": 10_000})
    with dao.reverts("RegistryUnknownValidator"):  # recovers some other address
        dao.transact(dao.registry.functions.contribute(inflated.as_tuple(), signatures), relayer)


def test_removed_validator_no_longer_counts_and_thresholds_apply(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> None:
    second = dev_account(6)
    dao.as_timelock(dao.registry.functions.addValidator(second.address))
    dao.as_timelock(dao.registry.functions.setRequiredSignatures(2))
    with dao.reverts("RegistryNotEnoughSignatures", 1, 2):
        dao.contribute(dao.attestation(alice.address, score=10), [validator], relayer)
    attestation = dao.attestation(alice.address, score=10)
    twice = [*dao.sign(attestation, validator), *dao.sign(attestation, validator)]
    with dao.reverts("RegistrySignersNotSorted", validator.address):  # same signer twice
        dao.transact(dao.registry.functions.contribute(attestation.as_tuple(), twice), relayer)
    dao.contribute(attestation, [validator, second], relayer)

    with dao.reverts("RegistryInvalidRequirement", 2, 1):  # would leave too few validators
        dao.as_timelock(dao.registry.functions.removeValidator(validator.address))
    dao.as_timelock(dao.registry.functions.setRequiredSignatures(1))
    dao.as_timelock(dao.registry.functions.removeValidator(validator.address))
    with dao.reverts("RegistryUnknownValidator", validator.address):
        dao.contribute(dao.attestation(alice.address, score=10), [validator], relayer)
    dao.contribute(dao.attestation(alice.address, score=10), [second], relayer)


def test_reward_rate_is_governed(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> None:
    dao.as_timelock(dao.registry.functions.setRewardRate(5))
    dao.contribute(dao.attestation(alice.address, score=7), [validator], relayer)
    assert dao.token.functions.balanceOf(alice.address).call() == 35


@pytest.mark.parametrize(
    ("contract", "function", "args", "error"),
    [
        ("registry", "addValidator", ["outsider"], "OwnableUnauthorizedAccount"),
        ("registry", "removeValidator", ["validator"], "OwnableUnauthorizedAccount"),
        ("registry", "setRequiredSignatures", [1], "OwnableUnauthorizedAccount"),
        ("registry", "setRewardRate", [1], "OwnableUnauthorizedAccount"),
        ("registry", "setMintLimits", [(1, 1, 1, 1)], "OwnableUnauthorizedAccount"),
        ("registry", "voidContribution", [b"\x01" * 32], "OwnableUnauthorizedAccount"),
        ("registry", "setGuardian", ["outsider"], "OwnableUnauthorizedAccount"),
        ("registry", "unpause", [], "OwnableUnauthorizedAccount"),
        ("registry", "pause", [], "GuardianPausableUnauthorized"),
        ("access", "grantAccess", ["outsider", 1, 3600], "AccessRegistryUnauthorized"),
        ("access", "revokeAccess", ["outsider", 1], "OwnableUnauthorizedAccount"),
        ("escrow", "approve", [1], "RentalEscrowUnauthorized"),
        ("pool", "addWeight", [1, "outsider", 1], "RevenuePoolUnauthorized"),
        ("pool", "removeWeight", [1, "outsider", 1], "RevenuePoolUnauthorized"),
        ("token", "mint", ["outsider", 1], "DataTokenUnauthorizedMinter"),
        ("token", "burn", ["outsider", 1], "DataTokenUnauthorizedMinter"),
        ("governor", "setVotingPeriod", [5], "GovernorOnlyExecutor"),
        ("governor", "setVotingDelay", [5], "GovernorOnlyExecutor"),
        ("governor", "setProposalThreshold", [0], "GovernorOnlyExecutor"),
        ("governor", "updateQuorumNumerator", [1], "GovernorOnlyExecutor"),
        ("governor", "updateTimelock", ["outsider"], "GovernorOnlyExecutor"),
        ("timelock", "updateDelay", [0], "TimelockUnauthorizedCaller"),
    ],
)
def test_governed_functions_refuse_everyone_but_the_timelock(
    dao: Dao,
    validator: LocalAccount,
    outsider: LocalAccount,
    contract: str,
    function: str,
    args: list[object],
    error: str,
) -> None:
    accounts = {"outsider": outsider.address, "validator": validator.address}
    resolved = [accounts.get(a, a) if isinstance(a, str) else a for a in args]
    deployer = dev_account(DEPLOYER_INDEX)
    for caller in (outsider, deployer):  # the deployer kept no power either
        with dao.reverts(error, caller.address):
            dao.transact(getattr(getattr(dao, contract).functions, function)(*resolved), caller)


def test_timelock_schedule_needs_the_proposer_role(dao: Dao, outsider: LocalAccount) -> None:
    role = dao.timelock.functions.PROPOSER_ROLE().call()
    fn = dao.timelock.functions.schedule(outsider.address, 0, b"", b"\x00" * 32, b"\x00" * 32, 60)
    with dao.reverts("AccessControlUnauthorizedAccount", outsider.address, role):
        dao.transact(fn, outsider)


def test_revoked_grant_stops_decryption(dao: Dao, renter: LocalAccount) -> None:
    dao.as_timelock(dao.access.functions.grantAccess(renter.address, 1, 3600))
    assert dao.access.functions.canDecrypt(1, renter.address).call()
    dao.as_timelock(dao.access.functions.revokeAccess(renter.address, 1))
    assert not dao.access.functions.canDecrypt(1, renter.address).call()
    with dao.reverts("AccessRegistryNoGrant", 1, renter.address):
        dao.as_timelock(dao.access.functions.revokeAccess(renter.address, 1))
    with dao.reverts("AccessRegistryZeroDuration", 1, renter.address):
        dao.as_timelock(dao.access.functions.grantAccess(renter.address, 1, 0))


def test_signed_withdrawal_is_relayed_and_bound_to_the_contributor(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, bob: LocalAccount, relayer: LocalAccount
) -> None:
    attestation = dao.attestation(alice.address, score=10)
    dao.contribute(attestation, [validator], relayer)
    registry = dao.manifest.address_of("ContributionRegistry")
    deadline = dao.now() + 600
    forged = sign_withdrawal(bob, attestation.fingerprint, deadline, dao.chain_id, registry)
    withdraw = dao.registry.functions.withdrawWithSignature
    with dao.reverts("RegistryNotContributor", attestation.fingerprint, bob.address):
        dao.transact(withdraw(attestation.fingerprint, deadline, forged), relayer)
    signed = sign_withdrawal(alice, attestation.fingerprint, deadline, dao.chain_id, registry)
    dao.transact(withdraw(attestation.fingerprint, deadline, signed), relayer)
    assert dao.pool.functions.weightOf(1, alice.address).call() == 0


def test_signed_withdrawal_expires(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> None:
    attestation = dao.attestation(alice.address, score=10)
    dao.contribute(attestation, [validator], relayer)
    registry = dao.manifest.address_of("ContributionRegistry")
    deadline = dao.now() + 10
    signed = sign_withdrawal(alice, attestation.fingerprint, deadline, dao.chain_id, registry)
    dao.advance_time(30)
    with pytest.raises(ContractReverted) as refused:
        fn = dao.registry.functions.withdrawWithSignature(attestation.fingerprint, deadline, signed)
        dao.transact(fn, relayer)
    assert refused.value.name == "RegistryWithdrawalExpired"
    assert refused.value.args_[0] == deadline and refused.value.args_[1] > deadline


def test_batch_with_an_invalid_item_records_none(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, bob: LocalAccount, relayer: LocalAccount
) -> None:
    batch = [dao.attestation(a.address, score=5) for a in (alice, bob, alice)]
    signatures = [dao.sign(a, validator) for a in batch]
    tampered = batch[2].model_copy(update={"score": 50})  # no longer what was signed
    with dao.reverts("RegistryUnknownValidator"):
        fn = dao.registry.functions.contributeBatch(
            [batch[0].as_tuple(), batch[1].as_tuple(), tampered.as_tuple()], signatures
        )
        dao.transact(fn, relayer)
    assert dao.token.functions.totalSupply().call() == 0
    fn = dao.registry.functions.contributeBatch([a.as_tuple() for a in batch], signatures)
    dao.transact(fn, relayer)
    assert dao.token.functions.balanceOf(alice.address).call() == 10 * ETH
    assert dao.pool.functions.datasetOf(1).call()[1] == 15


def deploy_attacker(dao: Dao, name: str, target: str) -> object:
    compiled = compile_sources({"Reentrant.sol": ATTACKERS.read_text()})[name]
    dao.add_errors(compiled.abi)
    receipt = client.deploy(dao.w3, dev_account(9), compiled, target)
    return dao.w3.eth.contract(address=receipt["contractAddress"], abi=compiled.abi)


def test_reentrancy_on_claim_pays_once(
    dao: Dao,
    validator: LocalAccount,
    bob: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    attacker = deploy_attacker(dao, "ReentrantClaimer", dao.manifest.address_of("RevenuePool"))
    dao.contribute(dao.attestation(attacker.address, score=100), [validator], relayer)  # type: ignore[attr-defined]
    dao.contribute(dao.attestation(bob.address, score=100), [validator], relayer)
    dao.transact(dao.pool.functions.deposit(1), outsider, value=2 * ETH)

    dao.transact(attacker.functions.attack(), outsider)  # type: ignore[attr-defined]
    assert attacker.functions.reentryAttempts().call() == 1  # type: ignore[attr-defined]
    assert attacker.functions.reentrySucceeded().call() is False  # type: ignore[attr-defined]
    assert dao.w3.eth.get_balance(attacker.address) == 1 * ETH  # type: ignore[attr-defined]
    assert dao.w3.eth.get_balance(dao.pool.address) == 1 * ETH  # bob's share untouched
    assert dao.pool.functions.claimable(1, bob.address).call() == 1 * ETH


def test_reentrancy_on_refund_pays_once(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    dao.contribute(dao.attestation(alice.address, score=100), [validator], relayer)
    attacker = deploy_attacker(dao, "ReentrantRenter", dao.manifest.address_of("RentalEscrow"))
    dao.transact(attacker.functions.rent(1), outsider, value=3 * ETH)  # type: ignore[attr-defined]
    # A second, honest rental keeps money in the escrow for the attacker to go after.
    dao.transact(dao.escrow.functions.requestRental(1, 60, "honest"), outsider, value=5 * ETH)
    dao.mine(25)  # nobody votes: quorum missed, defeated

    dao.transact(attacker.functions.attack(), outsider)  # type: ignore[attr-defined]
    assert attacker.functions.reentryAttempts().call() == 1  # type: ignore[attr-defined]
    assert attacker.functions.reentrySucceeded().call() is False  # type: ignore[attr-defined]
    assert dao.w3.eth.get_balance(attacker.address) == 3 * ETH  # type: ignore[attr-defined]
    assert dao.w3.eth.get_balance(dao.escrow.address) == 5 * ETH


def test_rental_needs_payment_and_duration(dao: Dao, renter: LocalAccount) -> None:
    with dao.reverts("RentalEscrowInvalidRequest", 0, 3600):
        dao.transact(dao.escrow.functions.requestRental(1, 3600, "free please"), renter)
    with dao.reverts("RentalEscrowInvalidRequest", ETH, 0):
        dao.transact(dao.escrow.functions.requestRental(1, 0, "no time"), renter, value=ETH)


def test_holders_below_threshold_cannot_propose_directly(dao: Dao, renter: LocalAccount) -> None:
    fn = dao.governor.functions.propose([renter.address], [0], [b""], "give me the treasury")
    with dao.reverts("GovernorInsufficientProposerVotes"):
        dao.transact(fn, renter)


def test_unused_weight_stays_unallocated_until_someone_has_weight(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    relayer: LocalAccount,
    outsider: LocalAccount,
) -> None:
    receipt = dao.transact(dao.pool.functions.deposit(1), outsider, value=ETH)
    event = dao.pool.events.RevenueDeposited().process_receipt(receipt)[0]["args"]
    assert (event["amount"], event["shared"]) == (ETH, 0)  # logs what was actually shared
    assert dao.pool.functions.datasetOf(1).call()[2] == ETH
    dao.contribute(dao.attestation(alice.address, score=4), [validator], relayer)
    receipt = dao.transact(dao.pool.functions.deposit(1), outsider, value=ETH)
    event = dao.pool.events.RevenueDeposited().process_receipt(receipt)[0]["args"]
    assert (event["amount"], event["shared"]) == (ETH, 2 * ETH)
    assert dao.pool.functions.claimable(1, alice.address).call() == 2 * ETH
    assert Web3.from_wei(dao.w3.eth.get_balance(dao.pool.address), "ether") == 2
