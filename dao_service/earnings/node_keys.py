"""The settling validator's keys from the custody nodes: to value an approved valued
rental's dataset, whose file keys the nodes hold (M of N), the service signs one request
with its validator key naming the rental (`chain.settlement_request.settlement_text`)
and asks every node for its shares, a page at a time (`/api/keys/settlement`, which each
node checks on its own RPC: see `dao_service.custody.settlement`). The shares arrive
sealed to the validator's key and stay sealed in memory; `open` combines M of them only
to open one contribution's blob, and forgets the key at once. Nothing is written.

A node that sent a wrong share does not spoil a key: another M of the shares are tried.
Fewer than M nodes answering, or a contribution fewer than M of them gave a share of (its
shares being delivered right now), is a SettlementError: the settlement waits (the
background loop tries again) rather than leave a contribution out of its income."""

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

import requests
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.chain.dao import DaoChain
from dao_service.chain.settlement_request import settlement_text
from dao_service.client.custody import SealedOpener, node_answer
from dao_service.core.custody import open_upload
from dao_service.core.shares import Share, combine_key
from dao_service.exceptions import FetchFailed, ServiceRefused, SettlementError, UploadUnreadable

REQUEST_LIFETIME = 240  # seconds the signed request is good for (nodes take up to 300)
PAGE_SIZE = 1000
MAX_PAGES = 100_000  # a node that keeps answering cursors is cut off here


@dataclass
class SettlementKeys:
    """Each contribution's shares as the nodes sealed them to the validator's key."""

    threshold: int  # M of the node set, unless `thresholds` names another (its own set's)
    opener: SealedOpener
    sealed: dict[str, dict[int, bytes]] = field(default_factory=dict)  # id -> node -> share
    thresholds: dict[str, int] = field(default_factory=dict)  # id -> M of its node set
    not_used: dict[str, str] = field(default_factory=dict)  # node -> why

    def _needed(self, contribution_id: str) -> int:
        return self.thresholds.get(contribution_id, self.threshold)

    def holds(self, contribution_id: str) -> bool:
        return len(self.sealed.get(contribution_id, {})) >= self._needed(contribution_id)

    def open(self, contribution_id: str, iv: bytes, ciphertext: bytes) -> bytes:
        """The blob's plaintext, in memory; the key is combined here and dropped."""
        held = self.sealed.get(contribution_id, {})
        threshold = self._needed(contribution_id)
        if len(held) < threshold:
            raise SettlementError(
                f"Fewer than {threshold} custody nodes gave a share of contribution "
                f"{contribution_id} (its shares may be on their way to the nodes); "
                "settling again shortly."
            )
        shares = {}
        for index, sealed in held.items():
            try:
                shares[index] = Share(index, self.opener.open(sealed))
            except (FetchFailed, ValueError):  # not sealed to this validator, or malformed
                continue  # the other nodes' shares may do
        for chosen in combinations(sorted(shares), threshold):
            key = combine_key([shares[i] for i in chosen], threshold)
            try:
                return open_upload(key, iv, ciphertext)
            except UploadUnreadable:
                continue  # a node sent a wrong share: another M of them
            finally:
                del key
        raise SettlementError(
            f"No {threshold} of the custody nodes' shares of contribution "
            f"{contribution_id} open its blob."
        )

    def drop(self) -> None:
        self.sealed.clear()


def fetch(
    node_sets: list[CustodyNodeSet],
    epoch_of: dict[str, int],
    validator: LocalAccount,
    chain_id: int,
    rental_escrow: str,
    rental_id: int,
    dataset_id: int,
    timeout: float = 30.0,
) -> SettlementKeys:
    """Every node's shares of the dataset's live keys, for settling `rental_id`: the nodes
    of each set that holds some of them. A contribution's shares are taken only from the
    set its key was split for (`epoch_of`, the service's record): a node of another set
    listing it cannot spoil its key."""
    nonce, expires = secrets.token_hex(16), int(time.time()) + REQUEST_LIFETIME
    text = settlement_text(
        validator.address, rental_id, dataset_id, chain_id, rental_escrow, nonce, expires
    )
    signature = validator.sign_message(encode_defunct(text=text)).signature
    body = {"address": validator.address, "rental_id": rental_id, "dataset_id": dataset_id,
            "chain_id": chain_id, "nonce": nonce, "expires_at": expires,
            "signature": "0x" + bytes(signature).hex(), "limit": PAGE_SIZE}  # fmt: skip
    keys = SettlementKeys(node_sets[0].threshold, SealedOpener(bytes(validator.key)))
    for node_set in node_sets:
        _fetch_set(node_set, epoch_of, body, timeout, keys, rental_id)
    return keys


def _fetch_set(
    node_set: CustodyNodeSet,
    epoch_of: dict[str, int],
    body: dict[str, Any],
    timeout: float,
    keys: SettlementKeys,
    rental_id: int,
) -> None:
    def ask(index: int) -> list[dict[str, Any]] | Exception:
        return _all_pages(node_set.nodes[index - 1].url, body, timeout)

    indices = list(range(1, len(node_set.nodes) + 1))
    with ThreadPoolExecutor(max_workers=len(indices)) as pool:
        answers = dict(zip(indices, pool.map(ask, indices), strict=True))
    failed: dict[int, str] = {}
    for index, answer in answers.items():
        if isinstance(answer, Exception):
            failed[index] = str(answer)
            continue
        try:
            own = {str(i["contribution_id"]): bytes.fromhex(i["encrypted_share"]) for i in answer}
            if any(item["share_index"] != index for item in answer):
                failed[index] = "sent shares of another position than its own"
                continue
        except (KeyError, TypeError, ValueError):
            failed[index] = "answered something that is not a release"
            continue
        for contribution_id, sealed in own.items():
            if epoch_of.get(contribution_id) != node_set.epoch:
                continue  # not split for this set
            keys.sealed.setdefault(contribution_id, {})[index] = sealed
            keys.thresholds[contribution_id] = node_set.threshold
    keys.not_used.update({node_set.named(i): why for i, why in failed.items()})
    answered = len(indices) - len(failed)
    if answered < node_set.threshold:
        why = "; ".join(f"{node_set.named(i)} {w}" for i, w in sorted(failed.items()))
        raise SettlementError(
            f"Only {answered} of {len(indices)} custody nodes released keys for settling "
            f"rental {rental_id} and {node_set.threshold} are needed: {why}"
        )


def window_closed(chain: DaoChain, rental_id: int) -> str | None:
    """Why the nodes would refuse for the rental's settlement window having closed (then it
    is not asked: refusals asked for again every poll would have the nodes hold the
    service off), or None while it is open."""
    start = chain.manifest.contracts["RentalEscrow"].block_number
    approvals = chain.escrow.events.RentalApproved().get_logs(
        from_block=start, argument_filters={"rentalId": rental_id}
    )
    if not approvals:
        return None  # the nodes say what is wrong
    approved_at = int(chain.w3.eth.get_block(approvals[0]["blockNumber"])["timestamp"])
    ends = approved_at + int(chain.pool.functions.settlementWindow().call())
    if max(int(time.time()), chain.now()) <= ends:
        return None
    return (
        f"Rental {rental_id}'s settlement window closed at "
        f"{datetime.fromtimestamp(ends, UTC):%Y-%m-%d %H:%M} UTC: the custody nodes release "
        "no keys to value it, and its income is split by score."
    )


def _all_pages(url: str, body: dict[str, Any], timeout: float) -> list[dict[str, Any]] | Exception:
    base = url.rstrip("/")
    items: list[dict[str, Any]] = []
    with requests.Session() as session:
        post = session.post
        try:
            page = node_answer(post(f"{base}/api/keys/settlement", json=body, timeout=timeout))
            for _ in range(MAX_PAGES):
                if not isinstance(page.get("keys"), list):
                    return ServiceRefused("answered something that is not a release", 502)
                items += page["keys"]
                if not page.get("next_cursor"):
                    return items
                nxt = {"cursor": page["next_cursor"], "limit": PAGE_SIZE}
                page = node_answer(
                    post(f"{base}/api/keys/settlement/next", json=nxt, timeout=timeout)
                )
        except requests.RequestException:
            return ConnectionError("did not answer")
        except ServiceRefused as exc:
            return exc
    return ServiceRefused("sent more pages than any dataset has", 502)
