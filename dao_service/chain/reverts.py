"""Reverts, decoded: a contract's custom error becomes one `ContractReverted` that names the
error and carries its arguments, whatever contract of the deployment raised it."""

from collections.abc import Iterable
from typing import Any

from eth_abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from dao_service.exceptions import ContractReverted

# Solidity's own revert payloads: Error(string) and Panic(uint256).
ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]
PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def abi_type(item: dict[str, Any]) -> str:
    """The canonical ABI type of one input, tuples spelled out as `(t1,t2)`."""
    kind = str(item["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in item["components"]) + ")" + kind[5:]
    return kind


class RevertDecoder:
    """Knows every custom error of the given ABIs by its 4-byte selector."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], tuple[str, ...]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") == "error":
                    types = [abi_type(i) for i in item["inputs"]]
                    selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                    names = tuple(str(i.get("name", "")) for i in item["inputs"])
                    self._errors[selector] = (str(item["name"]), types, names)

    def decode(self, data: bytes | str | None) -> ContractReverted | None:
        """The revert `data` as a ContractReverted, or None if it is not one we know."""
        if isinstance(data, str):
            try:
                data = bytes.fromhex(data.removeprefix("0x"))
            except ValueError:
                return None
        if not data or len(data) < 4:
            return None
        selector, body = data[:4], data[4:]
        try:
            if selector == ERROR_STRING_SELECTOR:
                return ContractReverted("Error", decode(["string"], body), ("reason",))
            if selector == PANIC_SELECTOR:
                return ContractReverted("Panic", (hex(decode(["uint256"], body)[0]),), ("code",))
            if selector not in self._errors:
                return None
            name, types, names = self._errors[selector]
            values = decode(types, body)
        except DecodingError:
            return None
        return ContractReverted(
            name,
            tuple(
                to_checksum_address(v) if t == "address" else v
                for t, v in zip(types, values, strict=True)
            ),
            names,
        )

    def from_exception(self, exc: Exception) -> ContractReverted | None:
        """Decode what web3 raised for a revert (ContractCustomError, ContractLogicError)."""
        return self.decode(getattr(exc, "data", None))
