"""The items a spot-check looks up: drawn as the records stream past, so that the
contributor cannot choose them (the seed is the service's nonce and the export's hash)."""

import hashlib

import numpy as np

from validators.platforms.check import SampledItem
from validators.report import RecordBatch

GONE = {"", "[deleted]", "[removed]"}


def item(batch: RecordBatch, row: int, codes: frozenset[str] = frozenset()) -> SampledItem:
    community = batch.community[row].as_py() if batch.community is not None else None
    return SampledItem(
        kind=batch.kind,
        id=batch.ids[row].as_py() or "",
        text=batch.text[row].as_py() or "",
        created=int(batch.created[row]),
        community=community or "",
        codes=codes,
    )


class Sampler:
    """A uniform sample of `size` of the account's own items: each gets a key from a
    generator seeded by `seed`; the smallest keys win (kept sorted, at most `size`)."""

    def __init__(self, seed: bytes, size: int) -> None:
        self.rng = np.random.default_rng(int.from_bytes(hashlib.sha256(seed).digest(), "big"))
        self.size = size
        self.kept: list[tuple[float, SampledItem]] = []

    def observe(self, batch: RecordBatch) -> None:
        keys = self.rng.random(len(batch))
        # Items without an id are drawn too (and then fail): they score like any other.
        eligible = batch.authored.copy()
        if len(self.kept) == self.size:
            eligible &= keys < self.kept[-1][0]
        rows = np.flatnonzero(eligible)
        for row in rows[np.argsort(keys[rows], kind="stable")].tolist():
            if len(self.kept) == self.size and keys[row] >= self.kept[-1][0]:
                break
            chosen = item(batch, row)
            if chosen.text.strip().lower() not in GONE:
                self.kept.append((float(keys[row]), chosen))
                self.kept.sort(key=lambda pair: pair[0])
                del self.kept[self.size :]

    def sample(self) -> list[SampledItem]:
        return [chosen for _, chosen in self.kept]
