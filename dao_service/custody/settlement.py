"""A node's release for settling a valued rental: the settling validator values the
rental's dataset against the renter's sample, which needs the dataset's plaintext, so it
asks the nodes for the file keys the way a renter does, with its own signed request
naming the rental (`dao_service.chain.settlement_request.settlement_text`).

Each node checks, through its own RPC and for every page: the signature, the chain, the
expiry and a nonce used once in its own database (as for a renter); that the signer is a
validator the registry lists now; that the RentalEscrow records the rental approved (its
proposal executed) for that dataset, with a validation sample; that it is in its
settlement window (approved at most `RevenuePool.settlementWindow` ago: after it, anyone
may split its income by score); and that the dataset's valued income not yet allocated by
an earnings root is at least the rental's payment (once settled, it is not). Then it
seals its shares of the dataset's live keys to the validator's key. Every such release
and refusal is audited (outcome `settlement`). Before the DAO approved a rental, no
validator obtains anything."""

import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import anyio.to_thread
from eth_keys.datatypes import PublicKey
from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError
from web3.contract import Contract
from web3.exceptions import Web3Exception

from dao_service.api.schemas import RELEASE_PAGE_MAX, NextPageRequest, RequestBody
from dao_service.chain import connection
from dao_service.chain.challenges import recover_public_key
from dao_service.chain.settlement_request import settlement_text
from dao_service.custody.api import REFUSALS, ShareReleaseResponse, client_address, page_response
from dao_service.custody.chain import NodeChain, NodeChainProvider
from dao_service.custody.release import LIVE_SHARES, ShareRelease
from dao_service.exceptions import ChallengeReplayed, KeyRefused, StackError
from dao_service.keys.release import CLOCK_SKEW, CURSOR_TTL, ReleasedKey, ReleasedPage
from dao_service.keys.release_log import REPLAYED, LogEntry, UsedChallenge

APPROVED = 2  # RentalEscrow.Status.Approved


@dataclass(frozen=True)
class SettlementRequest:
    address: str  # the validator
    rental_id: int
    dataset_id: int
    chain_id: int
    nonce: str
    expires_at: int
    signature: bytes


@dataclass(frozen=True)
class SettlementPage:
    address: str
    rental_id: int
    dataset_id: int
    public_key: PublicKey
    after: int
    limit: int
    cursor_expires: int | None


class SettlementRelease:
    """Uses the node's renter release for what they share: its audit log and nonces, its
    sealing, its refusal counting and its shares."""

    def __init__(self, release: ShareRelease, chain: NodeChainProvider) -> None:
        self.release, self._chain = release, chain
        self._contracts: tuple[NodeChain, Contract, Contract] | None = None

    async def first_page(
        self, request: SettlementRequest, limit: int, client: str = ""
    ) -> ReleasedPage:
        self.release._admit(client)
        try:
            public_key, signer = self._signer(request)
            challenge = UsedChallenge(request.nonce, signer, request.expires_at)
            page = SettlementPage(
                signer, request.rental_id, request.dataset_id, public_key, 0, limit, None
            )
            return await self._page(page, challenge)
        except ChallengeReplayed:
            raise
        except KeyRefused as refusal:
            what = f"settlement of rental {request.rental_id}, challenge {request.nonce}"
            await self.release._refused(request.dataset_id, what, refusal, client)
            raise

    async def next_page(self, cursor: str, limit: int, client: str = "") -> ReleasedPage:
        self.release._admit(client)
        parts = cursor.split(".")
        try:
            if (
                len(parts) != 8
                or parts[0] != "settle"
                or not hmac.compare_digest(
                    self.release.custody.mac(".".join(parts[:-1])), parts[-1]
                )
            ):
                raise KeyRefused("unknown cursor: start the settlement's release again")
            address, rental, dataset, after, expires, public_hex = parts[1:7]
            if int(expires) < time.time():
                raise KeyRefused("the cursor has expired: start the settlement's release again")
            page = SettlementPage(
                address, int(rental), int(dataset), PublicKey(bytes.fromhex(public_hex)),
                int(after), limit, int(expires),
            )  # fmt: skip
            return await self._page(page)
        except KeyRefused as refusal:
            dataset_id = int(parts[3]) if len(parts) == 8 and parts[3].isdigit() else None
            await self.release._refused(dataset_id, f"cursor {cursor[:60]}", refusal, client)
            raise

    def _signer(self, request: SettlementRequest) -> tuple[PublicKey, str]:
        chain = self._chain()
        if request.chain_id != chain.chain_id:
            raise KeyRefused(
                f"wrong chain: signed for chain {request.chain_id}, this DAO is on chain "
                f"{chain.chain_id}"
            )
        now, ttl = time.time(), self.release.settings.challenge_ttl_seconds
        if request.expires_at < now:
            raise KeyRefused("the request has expired: sign a new one")
        if request.expires_at > now + ttl + CLOCK_SKEW:
            raise KeyRefused(f"the request expires too late: at most {ttl} s from now")
        _, escrow, _ = self._contracts_of(chain)
        text = settlement_text(
            request.address, request.rental_id, request.dataset_id, request.chain_id,
            str(escrow.address), request.nonce, request.expires_at,
        )  # fmt: skip
        public_key = recover_public_key(text, request.signature)
        if public_key is None:
            raise KeyRefused("the signature is malformed")
        signer = public_key.to_checksum_address()
        if signer.lower() != request.address.lower():
            raise KeyRefused(f"the request is signed by {signer}, not by {request.address}")
        return public_key, signer

    def _contracts_of(self, chain: NodeChain) -> tuple[NodeChain, Contract, Contract]:
        if self._contracts is None or self._contracts[0] is not chain:
            escrow = connection.contract(chain.w3, chain.manifest, "RentalEscrow")
            pool = connection.contract(chain.w3, chain.manifest, "RevenuePool")
            self._contracts = (chain, escrow, pool)
        return self._contracts

    def check(self, address: str, rental_id: int, dataset_id: int) -> None:
        """Refuses (KeyRefused, saying why) unless `address` may have the keys of
        `dataset_id` now to settle `rental_id`; everything read through this node's RPC."""
        chain = self._chain()
        _, escrow, pool = self._contracts_of(chain)
        if not chain.registry.functions.isValidator(address).call():
            raise KeyRefused(f"{address} is not a validator of this DAO: only validators settle")
        _, rented, _, status, payment, _ = escrow.functions.rentalOf(rental_id).call()
        if status != APPROVED:
            raise KeyRefused(f"rental {rental_id} has not been approved by the DAO")
        if rented != dataset_id:
            raise KeyRefused(f"rental {rental_id} is of dataset {rented}, not {dataset_id}")
        if escrow.functions.sampleOf(rental_id).call()[1] == 0:
            raise KeyRefused(
                f"rental {rental_id} has no validation sample: its income is split by score"
            )
        start = chain.manifest.contracts["RentalEscrow"].block_number
        approvals = escrow.events.RentalApproved().get_logs(
            from_block=start, argument_filters={"rentalId": rental_id}
        )
        if not approvals:  # the node's RPC is behind the state it answered from
            raise StackError("The chain has not shown the rental's approval yet; try again.")
        approved_at = int(chain.w3.eth.get_block(approvals[0]["blockNumber"])["timestamp"])
        ends = approved_at + int(pool.functions.settlementWindow().call())
        now = max(int(time.time()), int(chain.w3.eth.get_block("latest")["timestamp"]))
        if now > ends:
            raise KeyRefused(
                f"rental {rental_id}'s settlement window closed at "
                f"{datetime.fromtimestamp(ends, UTC):%Y-%m-%d %H:%M} UTC: its income is split "
                "by score"
            )
        _, _, total, funded, _ = pool.functions.earningsOf(dataset_id).call()
        pending_total = pool.functions.pendingEarningsRoot(dataset_id).call()[2]
        if int(funded) - max(int(total), int(pending_total)) < int(payment):
            raise KeyRefused(
                f"rental {rental_id} is settled: the dataset's earnings roots allocate its income"
            )

    async def _page(
        self, page: SettlementPage, challenge: UsedChallenge | None = None
    ) -> ReleasedPage:
        released, cursor = await anyio.to_thread.run_sync(self._shares, page)
        how = f"challenge {challenge.nonce}" if challenge else f"after {page.after}"
        detail = f"{len(released)} shares for settling rental {page.rental_id}, {how}"
        entry = LogEntry(page.address, page.dataset_id, "settlement", detail, challenge)
        if not await self.release.log.record(entry):
            raise ChallengeReplayed(REPLAYED)
        return ReleasedPage(page.address, page.dataset_id, released, cursor)

    def _shares(self, page: SettlementPage) -> tuple[list[ReleasedKey], str | None]:
        try:
            self.check(page.address, page.rental_id, page.dataset_id)
            wanted = {"dataset_id": page.dataset_id, "after": page.after, "rows": page.limit + 1}
            with self.release.engine.connect() as connection_:
                rows = connection_.execute(LIVE_SHARES, wanted).all()
        except KeyRefused:  # a PermissionError, so an OSError too
            raise
        except (SQLAlchemyError, OSError, Web3Exception) as exc:
            raise StackError(
                "The chain or the database did not answer the key release; try again shortly."
            ) from exc
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        public_key = page.public_key.to_bytes()
        released = self.release._encrypt(rows, public_key)
        cursor = None
        if more:
            until = page.cursor_expires or int(time.time()) + CURSOR_TTL
            fields = (
                f"settle.{page.address}.{page.rental_id}.{page.dataset_id}.{rows[-1].id}."
                f"{until}.{public_key.hex()}"
            )
            cursor = f"{fields}.{self.release.custody.mac(fields)}"
        return released, cursor


# --- routes ---------------------------------------------------------------------------


class SettlementKeysRequest(RequestBody):
    """A validator's signed request for this node's shares of a dataset's keys, to settle
    a valued rental (EIP-191 of `dao_service.chain.settlement_request.settlement_text`)."""

    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="The validator")
    rental_id: int = Field(ge=1, lt=2**63)
    dataset_id: int = Field(ge=0, lt=2**32)
    chain_id: int
    nonce: str = Field(pattern=r"^[0-9a-f]{32}$", description="Used once")
    expires_at: int = Field(ge=0, lt=2**63, description="Unix seconds, as signed")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")
    limit: int = Field(1000, ge=1, le=RELEASE_PAGE_MAX, description="shares per page")


async def get_settlement(request: Request) -> SettlementRelease:
    settlement: SettlementRelease = request.app.state.settlement
    return settlement


SettlementDep = Annotated[SettlementRelease, Depends(get_settlement)]
router = APIRouter(tags=["custody node"])


@router.post("/api/keys/settlement", response_model=ShareReleaseResponse, responses=REFUSALS)
async def settlement_release(
    body: SettlementKeysRequest, service: SettlementDep, request: Request
) -> ShareReleaseResponse:
    """This node's shares of the dataset's live keys, sealed to a validator that settles
    an approved valued rental of it, within its settlement window."""
    signed = SettlementRequest(
        body.address, body.rental_id, body.dataset_id, body.chain_id, body.nonce,
        body.expires_at, bytes.fromhex(body.signature.removeprefix("0x")),
    )  # fmt: skip
    page = await service.first_page(signed, body.limit, client_address(request))
    return page_response(page)


@router.post("/api/keys/settlement/next", response_model=ShareReleaseResponse, responses=REFUSALS)
async def settlement_next_page(
    body: NextPageRequest, service: SettlementDep, request: Request
) -> ShareReleaseResponse:
    page = await service.next_page(body.cursor, body.limit, client_address(request))
    return page_response(page)
