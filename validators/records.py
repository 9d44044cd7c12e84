"""An export's records as the dedup and scoring stages keep them, and the ones it adds to
the index; stored (refined) records read back for data valuation and the index's rebuild.

Records stream through in batches (a CSV block, a tweet file): each batch is
normalised, fingerprinted, sketched and checked, then dropped; what stays per record
is its fingerprint, band keys and quality features (~200 bytes), so memory follows the
number of records, not the size of the text. What needs the whole export (repeated
texts, near duplicates within it, the index lookups) runs once at the end, vectorised."""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from validators import fingerprints
from validators.dedup import DedupIndex, NewRecords
from validators.quality import assess, features
from validators.refine import from_parquet, languages
from validators.report import RecordBatch

SLICE = 4 << 20  # bytes of text normalised and sketched at once
BLOCK = 1 << 18  # records per block of kept keys (band keys: 44 MB a block)


@dataclass
class ExportRecords:
    """Every record of the export, as the dedup and scoring stages need it."""

    fingerprints: np.ndarray  # (n, 16) uint8
    band_keys: np.ndarray  # (n, BANDS) int64
    worthless: np.ndarray  # bool
    words: np.ndarray  # int32
    unnatural: np.ndarray  # bool: word salad or filler
    kinds: np.ndarray  # uint8: the record's kind, an index of KINDS
    languages: np.ndarray  # int8: an index of refine.LANGUAGES, -1 undetermined

    def __len__(self) -> int:
        return len(self.worthless)


KINDS = ("comment", "post", "tweet", "item")


def kind_code(kind: str) -> int:
    return KINDS.index(kind)


class Records:
    """Accumulates each batch's fingerprints, band keys and quality features in blocks
    of BLOCK rows: big enough that the allocator maps each from the OS and returns it
    when freed (a heap of small per-batch arrays stays resident after it is freed)."""

    def __init__(self) -> None:
        self._blocks: list[ExportRecords] = []
        self._filled = BLOCK

    def add(self, batch: RecordBatch) -> None:
        """Take a batch in slices of at most SLICE bytes of text: the sketch's working
        arrays are ~60 bytes per byte of text, so this bounds them (~250 MB)."""
        offsets, _ = fingerprints.utf8_buffers(batch.text)
        start = 0
        while start < len(batch):
            end = int(np.searchsorted(offsets, offsets[start] + SLICE, side="right")) - 1
            end = min(max(end, start + 1), len(batch))
            self._add(batch.rows(start, end) if (start, end) != (0, len(batch)) else batch)
            start = end

    def _add(self, batch: RecordBatch) -> None:
        normalised = fingerprints.normalise(batch.text)
        quality = features(batch, normalised)
        self._store(
            ExportRecords(
                fingerprints.exact_fingerprints(normalised),
                fingerprints.band_keys(normalised),
                quality.worthless,
                quality.words,
                quality.unnatural,
                np.full(len(batch), kind_code(batch.kind), np.uint8),
                languages(normalised),
            )
        )

    def _store(self, part: ExportRecords) -> None:
        done = 0
        while done < len(part):
            if self._filled == BLOCK:
                self._blocks.append(_empty(BLOCK))
                self._filled = 0
            block, take = self._blocks[-1], min(BLOCK - self._filled, len(part) - done)
            for name in ExportRecords.__annotations__:
                getattr(block, name)[self._filled : self._filled + take] = getattr(part, name)[
                    done : done + take
                ]
            self._filled += take
            done += take

    def done(self) -> ExportRecords:
        if not self._blocks:
            return _empty(0)
        blocks, self._blocks = self._blocks, []
        last = blocks[-1]
        for name in ExportRecords.__annotations__:
            setattr(last, name, getattr(last, name)[: self._filled])
        return ExportRecords(
            *(_concatenate(blocks, name) for name in ExportRecords.__annotations__)
        )


def _empty(rows: int) -> ExportRecords:
    return ExportRecords(
        np.empty((rows, fingerprints.FINGERPRINT_BYTES), np.uint8),
        np.empty((rows, fingerprints.BANDS), np.int64),
        np.empty(rows, bool),
        np.empty(rows, np.int32),
        np.empty(rows, bool),
        np.empty(rows, np.uint8),
        np.empty(rows, np.int8),
    )


def _concatenate(parts: list[ExportRecords], name: str) -> np.ndarray:
    """One field of every part in one array, each part's copy freed as soon as it is
    moved: never two copies of all the band keys at once."""
    first = getattr(parts[0], name)
    out = np.empty((sum(len(getattr(p, name)) for p in parts), *first.shape[1:]), first.dtype)
    at = 0
    for part in parts:
        values = getattr(part, name)
        out[at : at + len(values)] = values
        at += len(values)
        setattr(part, name, None)
    return out


def deduplicate(
    records: ExportRecords, index: DedupIndex
) -> tuple[NewRecords, np.ndarray, list[float], list[str], np.ndarray, np.ndarray]:
    """(the index's additions, which of them are new, the new ones' qualities and kinds, every
    record's quality, the additions' rows in export order; reuses the records' arrays).
    A new record has quality above 0, and neither its exact fingerprint nor any band key
    is in the index or in an earlier record of the export that was not an exact copy of
    an indexed one. The additions are
    the records of some quality that are no exact copy of an indexed one: the new ones
    and their near-duplicates."""
    text_hashes = np.ascontiguousarray(records.fingerprints[:, :8]).view(np.uint64).ravel()
    qualities = assess(records.worthless, records.words, text_hashes, records.unnatural)
    candidates = np.flatnonzero(qualities > 0)
    known = index.known_fingerprints(records.fingerprints[candidates])
    unseen = np.zeros(len(records), bool)
    unseen[candidates[~known]] = True
    # Every row's keys are looked up (no copy of the unseen rows' keys: at 1 GB that
    # copy alone is ~0.5 GB); only the unseen rows' answers are used.
    near = index.known_band_keys(records.band_keys).any(axis=1)
    near |= _near_earlier_record(records.band_keys, unseen)
    new_qualities = qualities[unseen & ~near].tolist()
    new_kinds = [KINDS[code] for code in records.kinds[unseen & ~near].tolist()]
    rows = np.flatnonzero(unseen)
    return _compact(records, rows), ~near[rows], new_qualities, new_kinds, qualities, rows


def _compact(records: ExportRecords, rows: np.ndarray) -> NewRecords:
    """The chosen rows' keys, copied: the export's own arrays stay as they were read, for
    the verdict to be judged again against a changed index (`Validation.again`; moving the
    rows to the front in place, as this did to spare a copy of the band keys, judged the
    second time on overwritten rows). Shared when the rows are all the first ones."""
    if rows.size == 0 or int(rows[-1]) == rows.size - 1:  # 0..k-1: a view is the copy
        return NewRecords(records.fingerprints[: rows.size], records.band_keys[: rows.size])
    return NewRecords(records.fingerprints[rows], records.band_keys[rows])


def _near_earlier_record(keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each record of `rows` (a mask; rows of band keys, in export order): does an
    earlier one of `rows` share a band key with it? Sorting instead of a growing set:
    after a stable sort, a key equal to the one before it belongs to a later record.
    One sixteenth of the key space at a time, to bound the memory the sort takes."""
    out = np.zeros(len(keys), bool)
    flat = keys.ravel()
    parts = np.empty(flat.size, np.uint8)
    for start in range(0, flat.size, 1 << 20):
        parts[start : start + (1 << 20)] = flat[start : start + (1 << 20)].view(np.uint64) >> 60
    parts.reshape(keys.shape)[~rows] = 16  # in no part
    for part in range(16):
        where = np.flatnonzero(parts == part)
        ordered = np.argsort(flat[where], kind="stable")
        values = flat[where[ordered]]
        repeats = where[ordered[1:][values[1:] == values[:-1]]]
        out[repeats // keys.shape[1]] = True
    return out


@dataclass(frozen=True)
class ExportTexts:
    """An export's own records as data valuation reads them."""

    source: str
    texts: list[str]  # authored, non-empty records, in export order
    band_keys: np.ndarray  # (len(texts), BANDS) near-duplicate keys, as the dedup index's
    kinds: list[str]  # each record's kind ("comment", "post", "tweet", "item")


def refined_texts(parquet: bytes) -> ExportTexts:
    """A contribution's stored records (refined, `refine.to_parquet`) as data valuation
    reads them. ValueError if the bytes are not records of the schema."""
    table = from_parquet(parquet)
    text = table.column("text").combine_chunks().cast(pa.large_string())
    normalised = fingerprints.normalise(text)
    source = table.column("source")[0].as_py() if table.num_rows else ""
    return ExportTexts(
        source,
        text.to_pylist(),
        fingerprints.band_keys(normalised),
        table.column("kind").to_pylist(),
    )


def derive_refined_keys(parquet: bytes, index: DedupIndex) -> NewRecords:
    """The dedup keys of a contribution's stored (refined) records that `index` does not
    hold yet: how `datadao index rebuild` re-derives the index from refined contributions
    (their texts as scrubbed: a record whose personal data was replaced is keyed as
    stored). ValueError if the bytes are not records of the schema."""
    text = from_parquet(parquet).column("text").combine_chunks().cast(pa.large_string())
    normalised = fingerprints.normalise(text)
    exact = fingerprints.exact_fingerprints(normalised)
    fresh = ~index.known_fingerprints(exact)
    return NewRecords(exact[fresh], fingerprints.band_keys(normalised)[fresh])
