"""Threshold custody of file keys: a 32-byte AES key split M-of-N (Shamir), each share
sealed to one custody node's public key (ECIES, secp256k1), and combined again from any M.

Shamir sharing is pycryptodome's `Crypto.Protocol.SecretSharing.Shamir` (maintained,
BSD/public domain, already pinned): it shares 16-byte secrets over GF(2^128), so a key is
two halves, each shared with the same indices; share `i` is the two halves' shares side by
side (32 bytes). Any M shares give the key; M - 1 give no information about it. Sealing is
eciespy's (the same ECIES a renter's wallet key receives released keys under).

A sealed share names its contribution and its index inside the sealed payload, so a node
that opens it knows which contribution and position it holds, and a share moved to
another contribution's deposit is refused.
"""

import json
import os
from dataclasses import dataclass

import ecies
from Crypto.Protocol.SecretSharing import Shamir

from dao_service.exceptions import CustodyError

KEY_BYTES = 32
HALF = 16


@dataclass(frozen=True)
class Share:
    index: int  # 1..N: the node's position in the node set
    value: bytes  # 32 bytes: the shares of the key's two halves

    def __post_init__(self) -> None:
        if not 1 <= self.index <= 255 or len(self.value) != KEY_BYTES:
            raise CustodyError(f"a key share is an index 1..255 and {KEY_BYTES} bytes")


def split_key(key: bytes, threshold: int, count: int) -> list[Share]:
    """`count` shares of `key`, any `threshold` of which give it back (index i for node i)."""
    if len(key) != KEY_BYTES:
        raise CustodyError(f"only {KEY_BYTES}-byte keys are split")
    if not 1 <= threshold <= count:
        raise CustodyError(f"a threshold of {threshold} of {count} nodes is not possible")
    if threshold == 1:  # pycryptodome needs k >= 2: a 1-of-N "share" is the key itself
        return [Share(i, key) for i in range(1, count + 1)]
    low = Shamir.split(threshold, count, key[:HALF], ssss=False)
    high = Shamir.split(threshold, count, key[HALF:], ssss=False)
    return [Share(i, a + b) for (i, a), (j, b) in zip(low, high, strict=True) if i == j]


def combine_key(shares: list[Share], threshold: int) -> bytes:
    """The key from `threshold` distinct shares (more are ignored).

    The same interpolation as pycryptodome's `Shamir.combine` (tests check the two agree),
    evaluated faster: its pure-Python field multiplication costs ~0.4 ms a share half, and
    a renter combines thousands of keys. The Lagrange coefficients at 0 depend only on the
    indices, so each is computed once per index set, and multiplying a share half by a
    fixed coefficient (linear over GF(2)) becomes 16 lookups in byte tables."""
    distinct = list({s.index: s for s in shares}.values())[:threshold]
    if len(distinct) < threshold:
        raise CustodyError(f"{len(distinct)} distinct shares; {threshold} are needed")
    if threshold == 1:
        return distinct[0].value
    tables = _coefficient_tables(tuple(s.index for s in distinct))
    low = high = 0
    for share, table in zip(distinct, tables, strict=True):
        low ^= _times(table, share.value[:HALF])
        high ^= _times(table, share.value[HALF:])
    return low.to_bytes(HALF, "big") + high.to_bytes(HALF, "big")


# GF(2^128) as pycryptodome's SecretSharing defines it: an element is the big-endian
# integer of its 16 bytes, least significant bit the constant term, reduced modulo
# 1 + x + x^2 + x^7 + x^128. Indices and coefficients are public: no need for constant time.
_IRREDUCIBLE = (1 << 128) | 0x87


def _gf_mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a >> 128:
            a ^= _IRREDUCIBLE
    return product


def _gf_inverse(a: int) -> int:
    result, power, exponent = 1, a, (1 << 128) - 2  # a^(2^128 - 2) = 1/a
    while exponent:
        if exponent & 1:
            result = _gf_mul(result, power)
        power = _gf_mul(power, power)
        exponent >>= 1
    return result


_TABLES: dict[tuple[int, ...], list[list[list[int]]]] = {}


def _coefficient_tables(indices: tuple[int, ...]) -> list[list[list[int]]]:
    """Per index, 16 tables of 256 products of its Lagrange coefficient at 0 with each
    byte value at each byte position."""
    cached = _TABLES.get(indices)
    if cached is not None:
        return cached
    tables = []
    for j in indices:
        numerator = denominator = 1
        for m in indices:
            if m != j:
                numerator = _gf_mul(numerator, m)
                denominator = _gf_mul(denominator, j ^ m)  # x_j - x_m is x_j + x_m here
        coefficient = _gf_mul(numerator, _gf_inverse(denominator))
        basis = [coefficient]  # coefficient * x^k for k = 0..127
        for _ in range(127):
            doubled = basis[-1] << 1
            basis.append(doubled ^ _IRREDUCIBLE if doubled >> 128 else doubled)
        per_byte = []
        for position in range(HALF):  # position 0: the least significant byte
            table = [0] * 256
            for value in range(1, 256):
                low_bit = (value & -value).bit_length() - 1
                table[value] = table[value & (value - 1)] ^ basis[8 * position + low_bit]
            per_byte.append(table)
        tables.append(per_byte)
    if len(_TABLES) < 64:  # a node set has few index subsets
        _TABLES[indices] = tables
    return tables


def _times(tables: list[list[int]], half: bytes) -> int:
    product = 0
    for position, byte in enumerate(reversed(half)):
        product ^= tables[position][byte]
    return product


def seal_share(node_public_key: str, contribution_id: str, share: Share) -> bytes:
    """`share` of `contribution_id`'s key, readable only with the node's private key."""
    payload = json.dumps(
        {"contribution_id": contribution_id, "index": share.index, "share": share.value.hex()}
    ).encode()
    return ecies.encrypt(node_public_key, payload)


def open_share(node_private_key: bytes, sealed: bytes, contribution_id: str) -> Share:
    """The share sealed to this node for `contribution_id`; CustodyError if it is not one."""
    try:
        payload = json.loads(ecies.decrypt(node_private_key, sealed))
        share = Share(int(payload["index"]), bytes.fromhex(payload["share"]))
        named = str(payload["contribution_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CustodyError("the sealed share does not open with this node's key") from exc
    if named != contribution_id:
        raise CustodyError(
            f"the sealed share is of contribution {named[:64]}, not of {contribution_id[:64]}"
        )
    return share


def new_node_key() -> bytes:
    """A fresh secp256k1 private key for a custody node."""
    while True:
        secret = os.urandom(32)
        if 0 < int.from_bytes(secret, "big") < SECP256K1_ORDER:
            return secret


SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def node_public_key(private_key: bytes) -> str:
    """The hex of the node's uncompressed public key (65 bytes), as the node set lists it."""
    from coincurve import PrivateKey

    return PrivateKey(private_key).public_key.format(compressed=False).hex()
