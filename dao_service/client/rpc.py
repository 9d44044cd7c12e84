"""A thin Ethereum JSON-RPC layer: ABI calls, logs and signed transactions.

Why not web3.py here: importing web3 alone takes ~0.8 s on these machines, more than a
command line may spend in total (`datadao proposals` ≤ 1 s). eth_abi encodes and decodes,
eth_account signs; this module only speaks JSON-RPC. The service keeps using web3.
"""

import http.client
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from dao_service.chain.reverts import RevertDecoder, abi_type
from dao_service.exceptions import (
    ChainUnreachable,
    ConfigurationError,
    ContractReverted,
    DataDaoError,
    RpcError,
    StackError,
)

RECEIPT_POLL_SECONDS = 0.005
RECEIPT_TIMEOUT_SECONDS = 120.0


def _revert_data(error: dict[str, Any]) -> str | None:
    data = error.get("data")
    if isinstance(data, dict):  # some nodes nest it
        data = data.get("data")
    return data if isinstance(data, str) and data.startswith("0x") else None


class JsonRpc:
    """One JSON-RPC endpoint over a kept-alive HTTP connection (the standard library's:
    importing requests would cost a command line ~0.15 s); `batch` sends many calls in
    one round trip."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url, self.timeout = url, timeout
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"{url!r} is not an http(s) JSON-RPC URL.")
        self._parts = parts
        # Hosted RPC URLs carry API keys in the user part, path or query: never print them.
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        hidden = parts.username or parts.path.strip("/") or parts.query
        self.shown_url = f"{parts.scheme}://{netloc}" + ("/…" if hidden else "")
        self._connection: http.client.HTTPConnection | None = None
        self._ids = itertools.count(1)

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = (
                http.client.HTTPSConnection
                if self._parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._connection = kind(
                self._parts.hostname or "", self._parts.port, timeout=self.timeout
            )
        return self._connection

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        path = self._parts.path or "/"
        for attempt in (1, 2):  # a kept-alive connection the node closed is reopened once
            try:
                connection = self._connect()
                connection.request("POST", path, body, {"Content-Type": "application/json"})
                reply = connection.getresponse()
                data = reply.read()
                if reply.status != 200:
                    raise OSError(f"HTTP {reply.status}")
                return json.loads(data)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                if self._connection is not None:
                    self._connection.close()
                self._connection = None
                if attempt == 2 or not isinstance(exc, http.client.RemoteDisconnected):
                    raise ChainUnreachable(
                        f"cannot reach the chain at {self.shown_url}: is `datadao up` running?"
                    ) from exc
        raise AssertionError("unreachable")

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        answer = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        )
        if "error" in answer:
            raise RpcError(str(answer["error"].get("message")), _revert_data(answer["error"]))
        return answer["result"]

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Results in the order of `calls`; an error in any of them raises."""
        if not calls:
            return []
        first = next(self._ids)
        payload = [
            {"jsonrpc": "2.0", "id": first + i, "method": m, "params": list(p)}
            for i, (m, p) in enumerate(calls)
        ]
        for _ in range(len(calls) - 1):
            next(self._ids)
        answers = {a["id"]: a for a in self._post(payload)}
        results = []
        for i in range(len(calls)):
            answer = answers[first + i]
            if "error" in answer:
                raise RpcError(str(answer["error"].get("message")), _revert_data(answer["error"]))
            results.append(answer["result"])
        return results


@dataclass(frozen=True)
class AbiFunction:
    name: str
    input_names: tuple[str, ...]
    input_types: tuple[str, ...]
    output_types: tuple[str, ...]
    selector: bytes

    def encode(self, *args: Any) -> str:
        return "0x" + (self.selector + encode(list(self.input_types), list(args))).hex()

    def decode_output(self, raw: str) -> Any:
        values = decode(list(self.output_types), bytes.fromhex(raw.removeprefix("0x")))
        values = tuple(_checksum(t, v) for t, v in zip(self.output_types, values, strict=True))
        return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class AbiEvent:
    name: str
    topic: str
    inputs: tuple[tuple[str, str, bool], ...]  # (name, type, indexed)

    def decode(self, log: dict[str, Any]) -> dict[str, Any]:
        indexed = [(n, t) for n, t, i in self.inputs if i]
        plain = [(n, t) for n, t, i in self.inputs if not i]
        values: dict[str, Any] = {}
        for (name, kind), topic in zip(indexed, log["topics"][1:], strict=True):
            values[name] = _checksum(kind, decode([kind], bytes.fromhex(topic[2:]))[0])
        decoded = decode([t for _, t in plain], bytes.fromhex(log["data"][2:]))
        values.update({n: _checksum(t, v) for (n, t), v in zip(plain, decoded, strict=True)})
        return values


def _checksum(kind: str, value: Any) -> Any:
    return to_checksum_address(value) if kind == "address" else value


def topic_of(kind: str, value: Any) -> str:
    """An indexed argument as a log topic (static types only)."""
    return "0x" + encode([kind], [value]).hex()


@dataclass(frozen=True)
class Log:
    contract: str
    event: str
    args: dict[str, Any]
    block_number: int
    log_index: int
    tx_hash: str


class BoundContract:
    """A deployed contract: its address, its ABI and the endpoint to reach it."""

    def __init__(self, rpc: JsonRpc, name: str, address: str, abi: list[dict[str, Any]]) -> None:
        self.rpc, self.name, self.address = rpc, name, to_checksum_address(address)
        self.functions: dict[str, AbiFunction] = {}
        self.events: dict[str, AbiEvent] = {}
        for item in abi:
            if item.get("type") == "function":
                types = tuple(abi_type(i) for i in item["inputs"])
                self.functions[item["name"]] = AbiFunction(
                    item["name"],
                    tuple(i["name"] for i in item["inputs"]),
                    types,
                    tuple(abi_type(o) for o in item["outputs"]),
                    keccak(text=f"{item['name']}({','.join(types)})")[:4],
                )
            elif item.get("type") == "event":
                types = tuple(abi_type(i) for i in item["inputs"])
                self.events[item["name"]] = AbiEvent(
                    item["name"],
                    "0x" + keccak(text=f"{item['name']}({','.join(types)})").hex(),
                    tuple((i["name"], abi_type(i), bool(i["indexed"])) for i in item["inputs"]),
                )

    def data(self, function: str, *args: Any) -> str:
        return self.functions[function].encode(*args)

    def call_request(
        self, function: str, *args: Any, block: str = "latest"
    ) -> tuple[str, list[Any]]:
        return "eth_call", [{"to": self.address, "data": self.data(function, *args)}, block]

    def call(self, function: str, *args: Any, block: str = "latest") -> Any:
        return self.functions[function].decode_output(
            self.rpc.request(*self.call_request(function, *args, block=block))
        )

    def logs(
        self, event: str, from_block: int, to_block: int | str = "latest", **filters: Any
    ) -> list[Log]:
        spec = self.events[event]
        topics: list[str | None] = [spec.topic]
        for name, kind, indexed in spec.inputs:
            if indexed:
                topics.append(topic_of(kind, filters[name]) if name in filters else None)
        while topics and topics[-1] is None:
            topics.pop()
        raw = self.rpc.request(
            "eth_getLogs",
            [
                {
                    "address": self.address,
                    "topics": topics,
                    "fromBlock": hex(from_block),
                    "toBlock": to_block if isinstance(to_block, str) else hex(to_block),
                }
            ],
        )
        return [
            Log(
                self.name,
                event,
                spec.decode(entry),
                int(entry["blockNumber"], 16),
                int(entry["logIndex"], 16),
                entry["transactionHash"],
            )
            for entry in raw
        ]

    def decode_calldata(self, data: bytes) -> tuple[str, dict[str, Any]] | None:
        """(function name, named arguments) of calldata sent to this contract, if it is ours."""
        for function in self.functions.values():
            if data[:4] == function.selector:
                values = decode(list(function.input_types), data[4:])
                return function.name, {
                    n: _checksum(t, v)
                    for n, t, v in zip(
                        function.input_names, function.input_types, values, strict=True
                    )
                }
        return None


def send_transaction(
    rpc: JsonRpc,
    account: Any,
    to: str,
    data: str,
    value: int = 0,
    decoder: RevertDecoder | None = None,
) -> dict[str, Any]:
    """Sign and send a transaction from `account` (an eth_account LocalAccount), wait for
    its receipt. A revert, foreseen by the gas estimate or not, raises ContractReverted."""
    tx: dict[str, Any] = {"from": account.address, "to": to, "data": data, "value": hex(value)}
    try:
        gas = int(rpc.request("eth_estimateGas", [tx]), 16)
    except RpcError as exc:
        raise _reverted(exc, decoder) from exc
    nonce, chain_id, tip, block = rpc.batch(
        [
            ("eth_getTransactionCount", [account.address, "pending"]),
            ("eth_chainId", []),
            ("eth_maxPriorityFeePerGas", []),
            ("eth_getBlockByNumber", ["latest", False]),
        ]
    )
    signed = account.sign_transaction(
        {
            "to": to,
            "data": data,
            "value": value,
            "nonce": int(nonce, 16),
            "chainId": int(chain_id, 16),
            # anvil estimates against the latest block; an ERC20Votes checkpoint written in
            # that block is updated in place there but pushed as a new slot in the next one.
            "gas": int(gas * 1.25) + 25_000,
            "maxPriorityFeePerGas": int(tip, 16),
            "maxFeePerGas": 2 * int(block["baseFeePerGas"], 16) + int(tip, 16),
        }
    )
    tx_hash = rpc.request("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
    deadline = time.monotonic() + RECEIPT_TIMEOUT_SECONDS
    while (receipt := rpc.request("eth_getTransactionReceipt", [tx_hash])) is None:
        if time.monotonic() > deadline:
            raise StackError(f"transaction {tx_hash} was not mined in time")
        time.sleep(RECEIPT_POLL_SECONDS)
    if int(receipt["status"], 16) != 1:
        try:  # replay it as a call at its block to learn why
            rpc.request("eth_call", [tx, receipt["blockNumber"]])
        except RpcError as exc:
            raise _reverted(exc, decoder) from exc
        raise StackError(f"transaction {tx_hash} reverted")
    return dict(receipt)


def _reverted(exc: RpcError, decoder: RevertDecoder | None) -> DataDaoError:
    decoded = decoder.decode(exc.data) if decoder else None
    return decoded if decoded is not None else exc


__all__ = [
    "AbiEvent",
    "AbiFunction",
    "BoundContract",
    "ChainUnreachable",
    "ContractReverted",
    "JsonRpc",
    "Log",
    "RpcError",
    "send_transaction",
]
