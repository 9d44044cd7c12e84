"""Rentals: an AI company escrows its payment and opens the proposal in one transaction;
a rental that does not go through is refunded."""

import enum
from dataclasses import dataclass
from typing import Any

from dao_service.client.core import DaoClient
from dao_service.client.governance import get_proposal, timing
from dao_service.client.holdings import datasets_of
from dao_service.exceptions import ContractReverted, Refused


class RentalStatus(enum.IntEnum):
    """RentalEscrow.Status."""

    Unknown = 0
    Pending = 1
    Approved = 2
    Refunded = 3


@dataclass
class Rental:
    id: int
    renter: str
    dataset_id: int
    duration: int
    status: RentalStatus
    payment: int
    proposal_id: int


def _rental(rental_id: int, raw: tuple[Any, ...]) -> Rental:
    renter, dataset_id, duration, status, payment, proposal_id = raw
    return Rental(
        rental_id, renter, dataset_id, duration, RentalStatus(status), payment, proposal_id
    )


def request_rental(
    client: DaoClient,
    account: Any,
    dataset_id: int,
    duration_seconds: int,
    payment_wei: int,
    description: str,
    sample: bytes | None = None,
) -> Rental:
    """Escrow `payment_wei` and open the rental's proposal; returns the pending rental.
    With a validation `sample` (the plaintext), the sample goes to the service encrypted,
    and the payment will be split by each contribution's measured value to it."""
    minimum = client.escrow.call("minimumPayment")
    if payment_wei <= 0 or payment_wei < minimum:
        raise Refused(
            f"a rental pays at least the DAO's minimum, {minimum / 10**18:g} ETH "
            f"({payment_wei / 10**18:g} ETH offered)"
        )
    if duration_seconds <= 0:
        raise Refused("a rental needs a duration above zero")
    funded = datasets_of(client)
    if dataset_id not in funded:
        known = ", ".join(map(str, funded)) or "none yet"
        raise Refused(
            f"dataset {dataset_id} has no contributions to rent (datasets with contributions: "
            f"{known})"
        )
    balance = client.balance_of(account.address)
    if balance < payment_wei:
        raise Refused(
            f"{account.address} holds {balance / 10**18:g} ETH, less than the price "
            f"({payment_wei / 10**18:g} ETH) plus gas"
        )
    if sample is None:
        receipt = client.transact(
            account,
            client.escrow,
            "requestRental",
            dataset_id,
            duration_seconds,
            description,
            value=payment_wei,
        )
    else:
        stored = submit_sample(client, account, sample)
        receipt = client.transact(
            account,
            client.escrow,
            "requestValuedRental",
            dataset_id,
            duration_seconds,
            description,
            (bytes.fromhex(stored["sha256"][2:]), stored["size"]),
            value=payment_wei,
        )
    (event,) = client.events_in(receipt, client.escrow, "RentalRequested")
    return get_rental(client, event["rentalId"])


def submit_sample(client: DaoClient, account: Any, sample: bytes) -> dict[str, Any]:
    """Send a validation sample to the service, encrypted to its intake key like an
    upload and signed by the renter's `account` (its SHA-256 with a nonce the service
    issued to it); returns what the service stored (SHA-256, size, number of texts, CID)."""
    import base64
    import hashlib

    from eth_account.messages import encode_defunct

    from dao_service.chain.sample_statement import sample_statement
    from dao_service.client.contribute import seal_export

    service = client.service
    config = service.config()
    sealed = seal_export(sample, config["intake_public_key"])
    sha256 = hashlib.sha256(sample).digest()
    nonce = service.nonce(account.address)
    text = sample_statement(account.address, sha256, nonce, config["chain_id"], config["registry"])
    signature = bytes(account.sign_message(encode_defunct(text=text)).signature)
    fields = {
        "renter": account.address,
        "sha256": "0x" + sha256.hex(),
        "wrapped_key": base64.b64encode(sealed.wrapped_key).decode(),
        "iv": base64.b64encode(sealed.iv).decode(),
        "nonce": nonce,
        "signature": "0x" + signature.hex(),
    }
    return service.submit_sample(fields, sealed.ciphertext)


def get_rental(client: DaoClient, rental_id: int) -> Rental:
    rental = _rental(rental_id, client.escrow.call("rentalOf", rental_id))
    if rental.status is RentalStatus.Unknown:
        raise Refused(f"There is no rental {rental_id} (see `datadao rent status`).")
    return rental


def list_rentals(client: DaoClient, renter: str | None = None) -> list[Rental]:
    filters = {"renter": renter} if renter else {}
    logs = client.escrow.logs("RentalRequested", client.deployed_at, **filters)
    ids = [log.args["rentalId"] for log in logs]
    raw = client.rpc.batch([client.escrow.call_request("rentalOf", i) for i in ids])
    decode = client.escrow.functions["rentalOf"].decode_output
    return [_rental(i, decode(r)) for i, r in zip(ids, raw, strict=True)]


def refund(client: DaoClient, account: Any, rental_id: int) -> dict[str, Any]:
    """Return a rental's payment to its renter, once it can no longer go through."""
    rental = get_rental(client, rental_id)
    if rental.status is not RentalStatus.Pending:
        raise Refused(f"rental {rental_id} was already {rental.status.name.lower()}")
    try:
        return client.transact(account, client.escrow, "refund", rental_id)
    except ContractReverted as exc:
        if exc.name != "RentalEscrowNotRefundable":
            raise
        proposal = get_proposal(client, rental.proposal_id)
        raise Refused(
            f"rental {rental_id} cannot be refunded yet: its proposal is "
            f"{proposal.state.name} ({timing(client, proposal)})"
        ) from exc
