"""Keys from the custody nodes: one signed request goes to M nodes of the deployment's
node set, chosen at random (so that renters' releases spread over the nodes), and to
another node when one of them fails or refuses, or when contributions remain with fewer
than M shares after their last pages (a share not delivered to every node yet). The
request is the same at every node (each keeps its own table of used nonces). Each node
answers its own shares, sealed to the renter's wallet key, a page at a time; any M
shares of a key give it back here. Nodes that are down or refuse are named, and the
fetch goes on while M answer.

Nodes page in the same order (the service's contribution sequence), but one node may
hold a share another does not have yet, so shares wait here until M of a key arrived; a
node asked later starts from its first page."""

import base64
import random
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import ecies
import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.core.shares import Share, combine_key
from dao_service.exceptions import FetchFailed, NodesUnavailable, ServiceRefused

# How a node refuses a request whose nonce it saw used (`keys.release_log.REPLAYED`).
REPLAYED_ANSWER = "already used"
REQUEST_LIFETIME = 240  # seconds the signed request is good for (nodes take up to 300)
REQUEST_MARGIN = 10  # seconds: a node asked late gets a new request if the first ends sooner

_random = random.SystemRandom()


@dataclass(frozen=True)
class CombinedKey:
    contribution_id: str
    cid: str
    sha256: str
    iv: bytes
    file_key: bytes


@dataclass
class Round:
    """Keys whose shares are complete after one page from each node, and where the
    release stands (to resume from): each node's next cursor and the shares waiting."""

    keys: list[CombinedKey]
    state: dict[str, Any]


@dataclass
class NodeRelease:
    """The state of one release across the node set."""

    # The nodes asked so far: "" until its first page, None once it sent its last.
    cursors: dict[int, str | None] = field(default_factory=dict)
    waiting: dict[str, dict[str, Any]] = field(default_factory=dict)  # by contribution
    failed: dict[int, str] = field(default_factory=dict)  # node index -> why unusable
    # Combined already: a node asked later sends their shares again, from its first page.
    done: set[str] = field(default_factory=set)
    request: dict[str, Any] | None = None  # the signed request, for a node asked later
    access_registry: str = ""  # to sign it again once it expired


class SealedOpener:
    """Opens what a node sealed to this wallet's key (eciespy's layout: ephemeral public key,
    16-byte nonce, tag, ciphertext). A node seals every item of a minute to one ephemeral
    key (`core.custody.SealingKeys`), so the key agreement is done once per ephemeral key
    here too, and each item costs one AES-GCM decryption, not an ECDH."""

    LIMIT = 1000  # ephemeral keys remembered

    def __init__(self, private_key: bytes) -> None:
        from ecies.keys import PrivateKey

        self._config = ecies.ECIES_CONFIG
        self._key = PrivateKey(self._config.elliptic_curve, private_key)
        self._ciphers: dict[bytes, AESGCM] = {}

    def open(self, sealed: bytes) -> bytes:
        from ecies.keys import PublicKey

        size = self._config.ephemeral_key_size
        head, nonce, tag, body = (
            sealed[:size],
            sealed[size : size + 16],
            sealed[size + 16 : size + 32],
            sealed[size + 32 :],
        )
        cipher = self._ciphers.get(head)
        if cipher is None:
            ephemeral = PublicKey(self._config.elliptic_curve, head)
            cipher = AESGCM(ephemeral.decapsulate(self._key, self._config.is_hkdf_key_compressed))
            if len(self._ciphers) >= self.LIMIT:
                self._ciphers.clear()
            self._ciphers[head] = cipher
        try:
            return cipher.decrypt(nonce, body + tag, None)
        except InvalidTag as exc:
            raise FetchFailed("a share does not open with this wallet's key") from exc


def node_answer(reply: requests.Response) -> dict[str, Any]:
    """A node's JSON answer; ServiceRefused naming its reason if it refused."""
    try:
        answer = reply.json()
    except ValueError:
        answer = {}
    if reply.status_code >= 400:
        detail = answer.get("detail") if isinstance(answer, dict) else None
        raise ServiceRefused(f"refused: {detail or f'HTTP {reply.status_code}'}", reply.status_code)
    return dict(answer)


class CustodyClient:
    def __init__(self, node_set: CustodyNodeSet, timeout: float = 30.0) -> None:
        self.node_set, self.timeout = node_set, timeout
        self._sessions = {i: requests.Session() for i in range(1, len(node_set.nodes) + 1)}
        self._pool = ThreadPoolExecutor(max_workers=len(node_set.nodes))
        self.failed: dict[int, str] = {}  # the nodes not used, and why, once a release ran
        # Contributions fewer than M of the answering nodes gave a share of, once a release
        # ran: being delivered to the nodes right now, or held by a node that did not answer.
        self.incomplete: list[str] = []
        self._openers: dict[bytes, SealedOpener] = {}
        self._access_registry = ""  # the deployment's, once a request was signed

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        for session in self._sessions.values():
            session.close()

    def _post(self, index: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.node_set.nodes[index - 1].url.rstrip("/") + path
        try:
            reply = self._sessions[index].post(url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ConnectionError("did not answer") from exc
        return node_answer(reply)

    def signed_request(
        self, account: Any, dataset_id: int, chain_id: int, access_registry: str
    ) -> dict[str, Any]:
        """The release request the nodes receive (one signature for all of them)."""
        from dao_service.chain.challenges import challenge_text
        from dao_service.client.fetch import sign_challenge

        self._access_registry = access_registry
        nonce, expires = secrets.token_hex(16), int(time.time()) + REQUEST_LIFETIME
        text = challenge_text(
            account.address, dataset_id, chain_id, access_registry, nonce, expires
        )
        return {"address": account.address, "nonce": nonce, "expires_at": expires,
                "dataset_id": dataset_id, "chain_id": chain_id,
                "signature": sign_challenge(account, text)}  # fmt: skip

    def release(
        self,
        account: Any,
        signed: dict[str, Any] | None,
        page_size: int,
        resumed: NodeRelease | None = None,
    ) -> Iterator[Round]:
        """Rounds of combined keys until every node asked has sent its last page. M nodes
        are asked first, chosen at random (the load spreads over the node set); another
        node is asked when one of them fails or refuses, or when, after the last pages,
        contributions remain with fewer than M shares. The first round needs `signed`
        (or a `resumed` release); fewer than M nodes answering is NodesUnavailable naming
        the others (or the nodes' refusal, if they refused)."""
        state = resumed or NodeRelease({i: "" for i in self.first_nodes()})
        if signed is not None:
            state.request = signed
            state.access_registry = self._access_registry or state.access_registry
        threshold = self.node_set.threshold
        established = resumed is not None  # M nodes answered a first page
        refusals: dict[int, ServiceRefused] = {}
        while True:
            asking = [
                i for i, c in state.cursors.items() if c is not None and i not in state.failed
            ]
            if not asking:
                if state.waiting and self._ask_another(state):
                    continue  # a node not asked yet may hold the shares still missing
                break
            answers = self._pool.map(lambda i: self._page(i, state, account, page_size), asking)
            pages = dict(zip(asking, answers, strict=True))
            for index, page in pages.items():
                if isinstance(page, Exception):
                    state.failed[index] = str(page)
                    if isinstance(page, ServiceRefused) and page.status == 403:
                        refusals[index] = page
                    continue
                state.cursors[index] = page.get("next_cursor") or None
                self._take(index, page["keys"], state)
            if not established:
                established = self._enough_answered(state, refusals)
                if not established:
                    continue  # another node asked in its place
            else:
                for page in pages.values():  # another node in the place of each failed
                    if isinstance(page, Exception):
                        self._ask_another(state)
            self.failed = dict(state.failed)
            yield Round(self._complete(account, state, threshold), self._resumable(state))
        # Enough nodes answered, so the rest of the dataset is whole: these are named, not
        # a reason to hand over nothing (a load run saw a contribution mid-delivery do it).
        self.failed = dict(state.failed)
        self.incomplete = sorted(state.waiting)

    def first_nodes(self) -> list[int]:
        """The M nodes a release asks first: a random choice, so that renters' releases
        spread over the node set."""
        return sorted(
            _random.sample(range(1, len(self.node_set.nodes) + 1), self.node_set.threshold)
        )

    def _take(self, index: int, keys: list[dict[str, Any]], state: NodeRelease) -> None:
        for key in keys:
            if key["contribution_id"] in state.done:  # combined already (a node asked later)
                continue
            held = state.waiting.setdefault(key["contribution_id"], {"shares": {}})
            held.setdefault("meta", {k: key[k] for k in ("cid", "sha256", "iv")})
            if any(held["meta"][k] != key[k] for k in ("cid", "sha256", "iv")):
                raise FetchFailed(
                    f"{self.node_set.named(index)} describes contribution "
                    f"{key['contribution_id']} unlike another node"
                )
            held["shares"][str(index)] = key

    def _ask_another(self, state: NodeRelease) -> bool:
        """Asks a node not asked yet, from its first page (False: none is left)."""
        spare = [
            i
            for i in range(1, len(self.node_set.nodes) + 1)
            if i not in state.cursors and i not in state.failed
        ]
        if not spare:
            return False
        state.cursors[_random.choice(spare)] = ""
        return True

    def _page(
        self, index: int, state: NodeRelease, account: Any, page_size: int
    ) -> dict[str, Any] | Exception:
        cursor = state.cursors[index]
        try:
            if cursor:
                return self._post(
                    index, "/api/keys/release/next", {"cursor": cursor, "limit": page_size}
                )
            first = {**self._request(account, state), "limit": page_size}
            try:
                return self._post(index, "/api/keys/release", first)
            except ServiceRefused as exc:
                # One node can spend the request's nonce at the others (it saw the request
                # and forwarded it): a fresh request for this node, which that one never saw.
                replayed = exc.status == 403 and REPLAYED_ANSWER in exc.user_message
                if not replayed or not state.access_registry:
                    raise
                fresh = {**self._request(account, state, again=True), "limit": page_size}
                return self._post(index, "/api/keys/release", fresh)
        except (ConnectionError, ServiceRefused) as exc:
            return exc

    def _request(self, account: Any, state: NodeRelease, again: bool = False) -> dict[str, Any]:
        """The signed request, for a node's first page: the same at every node (each keeps
        its own table of used nonces); signed again, for a node asked late, once it expired,
        or `again`, when a node saw its nonce used."""
        signed = state.request
        assert signed is not None, "a first page needs the signed request"
        expiring = signed["expires_at"] < time.time() + REQUEST_MARGIN
        if (again or expiring) and state.access_registry:
            signed = state.request = self.signed_request(
                account, signed["dataset_id"], signed["chain_id"], state.access_registry
            )
        return signed

    def _enough_answered(self, state: NodeRelease, refusals: dict[int, ServiceRefused]) -> bool:
        """True once M nodes answered a first page; False while others were asked in the
        place of those that failed or refused; raises once no M nodes can answer."""
        threshold, count = self.node_set.threshold, len(self.node_set.nodes)
        if len(refusals) > count - threshold:  # the nodes said no: no M of them can answer
            raise ServiceRefused(next(iter(refusals.values())).user_message, 403)
        usable = [i for i in state.cursors if i not in state.failed]
        answered = [i for i in usable if state.cursors[i] != ""]
        if len(answered) >= threshold:
            return True
        asked = False
        while len(usable) < threshold and self._ask_another(state):
            usable, asked = [i for i in state.cursors if i not in state.failed], True
        if asked:  # even if too few are left: heard, they are named as they are
            return False
        if refusals and len(refusals) + len(answered) >= threshold:  # the nodes said no
            raise ServiceRefused(next(iter(refusals.values())).user_message, 403)
        raise NodesUnavailable(
            f"only {len(answered)} of {count} custody nodes answered and "
            f"{threshold} are needed: {self.unused(state.failed)}"
        )

    def unused(self, failed: dict[int, str] | None = None) -> str:
        """The nodes not used, each named with why."""
        failed = self.failed if failed is None else failed
        return "; ".join(f"{self.node_set.named(i)} {why}" for i, why in sorted(failed.items()))

    def _complete(self, account: Any, state: NodeRelease, threshold: int) -> list[CombinedKey]:
        opener = self._openers.setdefault(bytes(account.key), SealedOpener(bytes(account.key)))
        done = []
        for contribution_id, held in list(state.waiting.items()):
            if len(held["shares"]) < threshold:
                continue
            shares = []
            for index, key in held["shares"].items():
                value = opener.open(bytes.fromhex(key["encrypted_share"]))
                if key["share_index"] != int(index):  # a node's share is its own position
                    raise FetchFailed(
                        f"{self.node_set.named(int(index))} sent share {key['share_index']} "
                        f"of contribution {contribution_id}, not its own"
                    )
                shares.append(Share(int(index), value))
            meta = held["meta"]
            done.append(
                CombinedKey(
                    contribution_id, meta["cid"], meta["sha256"], base64.b64decode(meta["iv"]),
                    combine_key(shares, threshold),
                )
            )  # fmt: skip
            del state.waiting[contribution_id]
            state.done.add(contribution_id)
        return done

    @staticmethod
    def _resumable(state: NodeRelease) -> dict[str, Any]:
        return {
            "cursors": {str(i): c for i, c in state.cursors.items()},  # the nodes asked
            "waiting": state.waiting,
            "failed": {str(i): w for i, w in state.failed.items()},
            "done": sorted(state.done),
            "request": state.request,
            "access_registry": state.access_registry,
        }

    @staticmethod
    def resumed(saved: dict[str, Any]) -> NodeRelease:
        return NodeRelease(
            {int(i): c for i, c in saved["cursors"].items()},
            dict(saved["waiting"]),
            {int(i): w for i, w in saved["failed"].items()},
            set(saved.get("done", ())),
            saved.get("request"),
            str(saved.get("access_registry", "")),
        )
