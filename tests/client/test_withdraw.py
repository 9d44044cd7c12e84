"""`holdings.withdraw`: only the contributor's own minted contribution is withdrawn, with
a signature the service can check against the registry's withdrawal statement."""

from types import SimpleNamespace
from typing import Any

import pytest

from dao_service.chain.attestations import recover_typed_signer, withdrawal_typed_data
from dao_service.chain.dev_accounts import dev_account
from dao_service.client.holdings import withdraw
from dao_service.exceptions import Refused

OWNER, OTHER = dev_account(2), dev_account(3)
REGISTRY = "0x" + "2e" * 20
FINGERPRINT = "0x" + "f1" * 32
CHAIN_NOW = 4_000_000_000  # a local chain moved far ahead of the wall clock


class Service:
    def __init__(self, **receipt: Any) -> None:
        self.receipt_of = {
            "contributor": OWNER.address,
            "withdrawn": False,
            "status": "minted",
            "attestation": {"fingerprint": FINGERPRINT},
        } | receipt
        self.withdrawn: list[tuple[str, int, str]] = []

    def receipt(self, contribution_id: str) -> dict[str, Any]:
        return self.receipt_of

    def withdraw(self, contribution_id: str, deadline: int, signature: str) -> dict[str, Any]:
        self.withdrawn.append((contribution_id, deadline, signature))
        return {"id": contribution_id, "status": "withdrawn"}


def dao(service: Service, custody: Any = None) -> Any:
    return SimpleNamespace(
        service=service,
        custody_nodes=lambda: custody,  # the chain's node set, if the deployment has one
        chain_id=31337,
        registry=SimpleNamespace(address=REGISTRY),
        block=lambda: {"timestamp": hex(CHAIN_NOW)},
    )


def test_the_owner_signs_the_withdrawal_an_hour_ahead_of_the_chain() -> None:
    service = Service()
    assert withdraw(dao(service), OWNER, "c1") == {"id": "c1", "status": "withdrawn"}
    ((contribution_id, deadline, signature),) = service.withdrawn
    assert (contribution_id, deadline) == ("c1", CHAIN_NOW + 3600)
    typed = withdrawal_typed_data(bytes.fromhex(FINGERPRINT[2:]), deadline, 31337, REGISTRY)
    assert recover_typed_signer(typed, bytes.fromhex(signature[2:])) == OWNER.address


@pytest.mark.parametrize(
    ("receipt", "refusal"),
    [
        ({"contributor": OTHER.address}, f"belongs to {OTHER.address}"),
        ({"withdrawn": True}, "already withdrawn"),
        ({"status": "stored", "attestation": None}, "is stored; only minted"),
    ],
)
def test_refused_before_anything_is_signed(receipt: dict[str, Any], refusal: str) -> None:
    service = Service(**receipt)
    with pytest.raises(Refused, match=refusal):
        withdraw(dao(service), OWNER, "c1")
    assert service.withdrawn == []


def test_with_custody_nodes_an_already_withdrawn_contribution_asks_the_nodes_again() -> None:
    service = Service(withdrawn=True)
    withdraw(dao(service, custody=SimpleNamespace(threshold=2)), OWNER, "c1")
    ((contribution_id, _, _),) = service.withdrawn  # the service asks each node once more
    assert contribution_id == "c1"
