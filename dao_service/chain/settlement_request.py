"""The settling validator's key request to the custody nodes (EIP-191 personal_sign of
`settlement_text`): to value an approved rental's dataset against the renter's sample, the
validator asks each node for its shares of the dataset's file keys, naming the rental.

The text names the rental, its dataset, the chain and this DAO's RentalEscrow, a nonce
used once and an expiry; its first line differs from the renter's `challenge_text`, so
neither signature stands for the other."""

from dao_service.chain.challenges import SERVICE_IDENTITY


def settlement_text(
    validator: str,
    rental_id: int,
    dataset_id: int,
    chain_id: int,
    rental_escrow: str,
    nonce: str,
    expires_at: int,
) -> str:
    return (
        "Data DAO key release for settling a rental\n"
        f"service: {SERVICE_IDENTITY}\n"
        f"validator: {validator}\n"
        f"rental: {rental_id}\n"
        f"dataset: {dataset_id}\n"
        f"chain id: {chain_id}\n"
        f"rental escrow: {rental_escrow}\n"
        f"nonce: {nonce}\n"
        f"expires: {expires_at}"
    )
