"""Cumulative earnings trees: OpenZeppelin StandardMerkleTree leaves of (address, uint256).

A leaf is `keccak256(keccak256(abi.encode(account, cumulative)))` and a node hashes its
two children in sorted order, exactly what OpenZeppelin's `MerkleProof` verifies (the
maintained Python ports, murky-tree and multiproof, need eth-utils 6 / eth-hash < 0.8,
which ape's pins exclude). `tests/contracts/test_valued_earnings.py` proves these trees
against `MerkleProof` on a real chain. Only eth-abi and eth-utils: the CLI imports it.
"""

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address


def leaf_hash(account: str, cumulative: int) -> bytes:
    return keccak(keccak(encode(["address", "uint256"], [account, cumulative])))


def _node(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


@dataclass(frozen=True)
class EarningsTree:
    """Every account's cumulative earnings in one dataset, and the tree over them."""

    cumulative: dict[str, int]  # checksummed account -> cumulative wei
    layers: tuple[tuple[bytes, ...], ...]  # leaves (sorted) first, root last

    @classmethod
    def of(cls, cumulative: dict[str, int]) -> "EarningsTree":
        if not cumulative:
            raise ValueError("an earnings tree needs at least one account")
        amounts = {str(to_checksum_address(a)): int(v) for a, v in cumulative.items()}
        if any(v < 0 for v in amounts.values()):
            raise ValueError("cumulative earnings cannot be negative")
        layer = tuple(sorted(leaf_hash(a, v) for a, v in amounts.items()))
        layers = [layer]
        while len(layer) > 1:
            pairs = [layer[i : i + 2] for i in range(0, len(layer), 2)]
            # An odd node out moves up unchanged; its proof is one step shorter.
            layer = tuple(_node(*p) if len(p) == 2 else p[0] for p in pairs)
            layers.append(layer)
        return cls(amounts, tuple(layers))

    @property
    def root(self) -> bytes:
        return self.layers[-1][0]

    @property
    def total(self) -> int:
        return sum(self.cumulative.values())

    def proof(self, account: str) -> tuple[int, list[bytes]]:
        """(cumulative, proof) of `account`; KeyError if it has no leaf."""
        account = str(to_checksum_address(account))
        cumulative = self.cumulative[account]
        index = self.layers[0].index(leaf_hash(account, cumulative))
        proof = []
        for layer in self.layers[:-1]:
            sibling = index ^ 1
            if sibling < len(layer):
                proof.append(layer[sibling])
            index //= 2
        return cumulative, proof


def verify(root: bytes, account: str, cumulative: int, proof: list[bytes]) -> bool:
    """What `MerkleProof.verify` decides, computed here (for clients checking a table)."""
    node = leaf_hash(account, cumulative)
    for sibling in proof:
        node = _node(node, sibling)
    return node == root
