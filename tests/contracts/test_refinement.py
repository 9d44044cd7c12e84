"""ContributionRegistry.recordRefinement: a contribution stored whole before refinement
existed gets its refined records' CID on-chain, on the validators' signatures only, only
while it is live, and each refinement in turn (an older one cannot be replayed)."""

from eth_account.signers.local import LocalAccount

from dao_service.chain.attestations import sign_refinement
from tests.utils.chain import Dao


def refine(
    dao: Dao,
    fingerprint: bytes,
    cid: str,
    signers: list[LocalAccount],
    sender: LocalAccount,
    sequence: int = 1,
) -> object:
    signatures = [
        sign_refinement(s, fingerprint, cid, sequence, dao.chain_id, dao.registry.address)
        for s in signers
    ]
    return dao.transact(
        dao.registry.functions.recordRefinement(fingerprint, cid, sequence, signatures), sender
    )


def test_a_validator_signed_refinement_is_recorded_for_a_live_contribution(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> None:
    attestation = dao.attestation(alice.address, score=5)
    dao.contribute(attestation, [validator], relayer)
    receipt = refine(dao, attestation.fingerprint, "bafkrefined", [validator], relayer)
    (event,) = dao.registry.events.ContributionRefined().process_receipt(receipt)
    assert event["args"]["fingerprint"] == attestation.fingerprint
    assert (event["args"]["datasetId"], event["args"]["cid"], event["args"]["sequence"]) == (
        1,
        "bafkrefined",
        1,
    )
    assert dao.registry.functions.refinementsOf(attestation.fingerprint).call() == 1


def test_an_older_refinement_cannot_be_replayed_over_a_newer_one(
    dao: Dao, validator: LocalAccount, alice: LocalAccount, relayer: LocalAccount
) -> None:
    attestation = dao.attestation(alice.address, score=5)
    dao.contribute(attestation, [validator], relayer)
    fingerprint = attestation.fingerprint
    first = [
        sign_refinement(validator, fingerprint, "bafkone", 1, dao.chain_id, dao.registry.address)
    ]
    dao.transact(dao.registry.functions.recordRefinement(fingerprint, "bafkone", 1, first), relayer)
    refine(dao, fingerprint, "bafktwo", [validator], relayer, sequence=2)
    with dao.reverts("RegistryRefinementOutOfOrder", fingerprint, 1, 3):
        dao.transact(
            dao.registry.functions.recordRefinement(fingerprint, "bafkone", 1, first), relayer
        )


def test_a_refinement_needs_the_validators_and_a_live_contribution(
    dao: Dao,
    validator: LocalAccount,
    alice: LocalAccount,
    outsider: LocalAccount,
    relayer: LocalAccount,
) -> None:
    attestation = dao.attestation(alice.address, score=5)
    with dao.reverts("RegistryNotLive", attestation.fingerprint):
        refine(dao, attestation.fingerprint, "bafk", [validator], relayer)
    dao.contribute(attestation, [validator], relayer)
    with dao.reverts("RegistryUnknownValidator", outsider.address):
        refine(dao, attestation.fingerprint, "bafkforged", [outsider], relayer)
    dao.transact(dao.registry.functions.withdraw(attestation.fingerprint), alice)
    with dao.reverts("RegistryNotLive", attestation.fingerprint):
        refine(dao, attestation.fingerprint, "bafk", [validator], relayer)
