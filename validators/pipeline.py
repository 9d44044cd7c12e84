"""One export in, one ValidationReport out: unpack -> detect -> parse -> authenticity ->
ownership -> quality -> dedup -> score. Nothing here touches the network or the disk
(except the dedup index it is given), and nothing raises: every failure is a rejection
with its reason.

Records stream through in batches (a CSV block, a tweet file): each batch is
normalised, fingerprinted, sketched and checked, then dropped; what stays per record
is its fingerprint, band keys and quality features (~200 bytes), so memory follows the
number of records, not the size of the text. What needs the whole export (repeated
texts, near duplicates within it, the index lookups) runs once at the end, vectorised."""

import hashlib
import hmac
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from validators import fingerprints
from validators.dedup import DedupIndex, NewRecords
from validators.exceptions import ExportRejected
from validators.platforms import VERIFIERS, PlatformPolicy, SampledItem, SpotCheck, spot_check
from validators.platforms.check import NAME as SPOT_CHECK
from validators.platforms.sample import Sampler, item
from validators.quality import assess, features
from validators.refine import Pseudonyms, RecordParts, Refinable, from_parquet, languages
from validators.report import (
    NO_TIME,
    Check,
    CheckStatus,
    ParsedExport,
    RecordBatch,
    ValidationReport,
)
from validators.scoring import (
    OWNERSHIP_BOUND_ACCOUNT,
    OWNERSHIP_CODE,
    OWNERSHIP_SIGNATURE_ONLY,
    Demand,
    export_demand,
    score,
)
from validators.scrub import Scrubber
from validators.selection import X, refuse_extra_account_fields, refuse_untaken, selection_for
from validators.sources import ExportSource
from validators.sources.common import failed, micros, not_available, passed
from validators.sources.generic import GenericExport
from validators.sources.reddit import RedditExport
from validators.sources.twitter import TwitterArchive
from validators.unpack import Archive, UnpackLimits
from validators.verification_code import PREFIX, codes_in, verification_code

log = logging.getLogger("validators")
SLICE = 4 << 20  # bytes of text normalised and sketched at once
BLOCK = 1 << 18  # records per block of kept keys (band keys: 44 MB a block)
INTERNAL_ERROR = "The validator could not finish checking this export"

SOURCES: tuple[ExportSource, ...] = (RedditExport(), TwitterArchive(), GenericExport())


@dataclass(frozen=True)
class SignedInAccount:
    """The account the contributor signed in with (OAuth 2.0), as the platform's "me"
    endpoint names it: the platform's word, not the export's."""

    source: str  # "reddit" or "twitter", as the export sources are named
    account_id: str
    account_name: str


@dataclass(frozen=True)
class ValidationContext:
    """Who contributes, to which deployment, under which policy."""

    wallet: str
    chain_id: int
    registry: str
    require_code: bool = False
    # The service's check of the wallet's EIP-712 signature over the export's SHA-256;
    # None where nobody checked it (a local `datadao validate`).
    signature_verified: bool | None = None
    limits: UnpackLimits = field(default_factory=UnpackLimits)
    # What renters valued lately, per source (the service measures it; none: factor 1).
    demand: dict[str, Demand] = field(default_factory=dict)
    # The most one contribution may mint (the registry's MintLimits); None: no cap known.
    max_score: int | None = None
    # The service's nonce for this upload and a secret of the service's seed the
    # spot-check's sample with the export's hash: without the secret, a contributor
    # could alter the export's bytes until the sample misses its fabricated items.
    nonce: str = ""
    sample_key: bytes = b""
    # Where and how to spot-check the items on the platform; None: not checked here.
    platform: PlatformPolicy | None = None
    signed_in: SignedInAccount | None = None


@dataclass
class Validation:
    report: ValidationReport
    # What an accepted export adds to the index: every record of some quality that is not
    # an exact copy of an indexed one, near-duplicates included (they are in the dataset
    # too, and a later near copy of one of them is no more new than a copy of its twin).
    additions: NewRecords = field(default_factory=NewRecords.none)
    binding: tuple[bytes, str] | None = None  # (DedupIndex.account_hash, wallet)
    # Which additions the report counts as new (the rest are their near-duplicates).
    counted: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # The verdict again on the same export against the index as it is now: reading,
    # sketching and spot-checking it again would give the same answers, so only the
    # index's part (new records, account binding, score) is done again.
    rejudge: Callable[[DedupIndex], "Validation"] | None = field(default=None, repr=False)
    # An accepted export's records as refinement needs them (in memory only).
    refinable: Refinable | None = field(default=None, repr=False)

    def again(self, index: DedupIndex) -> "Validation":
        """The verdict after another export committed records this one counted as new
        (IndexConflict): milliseconds, where validating from the start takes seconds."""
        if self.rejudge is None:
            raise ValueError("only an export that was judged can be judged again")
        return self.rejudge(index)

    def commit(self, index: DedupIndex, connection: Connection | None = None) -> None:
        """Add an accepted export's records and account binding to the index (in
        `connection`'s transaction if given); IndexConflict if another export committed
        any record this one counted as new since it looked."""
        if not self.report.accepted:
            raise ValueError("only an accepted export is committed to the index")
        index.commit(self.additions, self.binding, claimed=self.counted, connection=connection)


def detect(archive: Archive) -> ExportSource:
    for source in SOURCES:
        if source.detect(archive):
            return source
    raise ExportRejected(
        "Not a recognised export: expected a Reddit data-request zip, an X archive zip, "
        "or a single JSON, NDJSON or CSV file."
    )


def validate_export(data: bytes, context: ValidationContext, index: DedupIndex) -> Validation:
    """The verdict on one export. Never raises: every failure is a rejection with its
    reason (an unexpected error too, logged by type and place only, never by content)."""
    report = ValidationReport()
    return _guarded(report, lambda: _validate(data, context, index, report))


def _guarded(report: ValidationReport, validate: Callable[[], Validation]) -> Validation:
    try:
        return validate()
    except ExportRejected as exc:
        reason = exc.user_message
    except RecursionError:
        reason = "The export is nested too deeply to read (JSON or archive structure)."
    except MemoryError:
        reason = "The export needs more memory to validate than this validator has."
    except Exception as exc:  # a bug: still a rejection, and logged without any content
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        log.error("validator error %s at %s:%s", type(exc).__name__, frame.filename, frame.lineno)
        reason = f"{INTERNAL_ERROR} ({type(exc).__name__}); this is a bug in the validator."
    return Validation(ValidationReport(source=report.source, rejection_reasons=[reason]))


def _validate(
    data: bytes, context: ValidationContext, index: DedupIndex, report: ValidationReport
) -> Validation:
    if not data:
        raise ExportRejected("The export is empty.")
    policy = context.platform
    sampler = None
    if policy is not None:
        seed = hmac.digest(
            context.sample_key, context.nonce.encode() + hashlib.sha256(data).digest(), "sha256"
        )
        sampler = Sampler(seed, policy.sample_size)
    parts = RecordParts()
    parsed, records, codes = _read(data, context.limits, report, sampler, parts)
    if policy is None:
        spot = SpotCheck(not_available(SPOT_CHECK, "not run: no platform settings given"))
    else:
        assert sampler is not None
        verifier = VERIFIERS.get(parsed.source)
        spot = spot_check(verifier, parsed.account_name, sampler.sample(), codes.items, policy)
    return _judged(Reading(parsed, records, codes.found, spot, parts), context, index, report)


@dataclass(frozen=True)
class Reading:
    """What reading an export (and spot-checking it) found: all its verdict needs
    besides the index."""

    parsed: ParsedExport
    records: "ExportRecords"
    found_codes: set[str]
    spot: SpotCheck
    parts: RecordParts


def _judged(
    reading: Reading, context: ValidationContext, index: DedupIndex, report: ValidationReport
) -> Validation:
    validation = _judge(reading, context, index, report)

    def again(index: DedupIndex) -> Validation:
        fresh = ValidationReport(source=report.source)
        return _guarded(fresh, lambda: _judged(reading, context, index, fresh))

    validation.rejudge = again
    return validation


def _read(
    data: bytes,
    limits: UnpackLimits,
    report: ValidationReport,
    sampler: Sampler | None = None,
    parts: RecordParts | None = None,
) -> tuple[ParsedExport, "ExportRecords", "CodeScan"]:
    """Stream the export's records through every per-record stage, once."""
    archive = Archive(data, limits)
    source = detect(archive)
    report.source = source.name
    refuse_private(archive)
    parsed = source.parse(archive)
    codes = CodeScan(parsed.export_time)
    records = Records()
    for batch in parsed.batches:
        codes.observe(batch)
        if sampler is not None:
            sampler.observe(batch)
        for check in parsed.record_checks:
            check.observe(batch)
        records.add(batch)
        if parts is not None:
            parts.add(batch)
    for check in parsed.record_checks:
        parsed.authenticity.extend(check.result())
    return parsed, records.done(), codes


def refuse_private(archive: Archive) -> None:
    """ExportRejected naming a file (or field) of the upload that is not public,
    self-authored content: the service never takes one, even to validate it."""
    selection = selection_for(archive.names)
    if selection is None:
        return
    refuse_untaken(selection, archive.names)
    if "data/account.js" in archive.names and selection is X:
        refuse_extra_account_fields(archive.read("data/account.js"))


def derive_keys(
    data: bytes, index: DedupIndex, limits: UnpackLimits = UnpackLimits()
) -> tuple[NewRecords, str, str | None]:
    """The records an export adds to `index`, by the same rules as validation but with no
    verdict, and its (source, account id): how `datadao index rebuild` re-derives the
    index from contributions that were accepted when they came in. ExportRejected if the
    export no longer reads at all."""
    parsed, records, _ = _read(data, limits, ValidationReport())
    additions, *_ = _dedup(records, index)
    return additions, parsed.source, parsed.account_id


@dataclass(frozen=True)
class ExportTexts:
    """An export's own records as data valuation reads them."""

    source: str
    texts: list[str]  # authored, non-empty records, in export order
    band_keys: np.ndarray  # (len(texts), BANDS) near-duplicate keys, as the dedup index's
    kinds: list[str]  # each record's kind ("comment", "post", "tweet", "item")


def export_texts(data: bytes, limits: UnpackLimits = UnpackLimits()) -> ExportTexts:
    """The texts of an export's authored records and their near-duplicate keys (what a
    contribution's value to a renter is measured on). ExportRejected if it does not read."""
    archive = Archive(data, limits)
    parsed = detect(archive).parse(archive)
    texts: list[str] = []
    kinds: list[str] = []
    keys: list[np.ndarray] = [np.empty((0, fingerprints.BANDS), np.int64)]
    for batch in parsed.batches:
        normalised = fingerprints.normalise(batch.text)
        rows = np.flatnonzero(batch.authored & (np.asarray(pc.utf8_length(normalised)) > 0))
        if rows.size:
            texts.extend(batch.text.take(rows).to_pylist())
            kinds.extend([batch.kind] * rows.size)
            keys.append(fingerprints.band_keys(normalised.take(rows)))
    return ExportTexts(parsed.source, texts, np.concatenate(keys), kinds)


class CodeScan:
    """Verification codes in the account's own items, dated no later than the export,
    and (the first few of) those items, for the platform to confirm."""

    KEPT_ITEMS = 5

    def __init__(self, export_time: datetime | None) -> None:
        self.latest = micros(export_time) if export_time is not None else None
        self.found: set[str] = set()
        self.items: list[SampledItem] = []

    def observe(self, batch: RecordBatch) -> None:
        hits = pc.match_substring(batch.text, PREFIX, ignore_case=True)  # a literal: fast
        rows = np.flatnonzero(hits.to_numpy(zero_copy_only=False) & batch.authored)
        for row in rows.tolist():
            created = int(batch.created[row])
            if self.latest is None or created == NO_TIME or created <= self.latest:
                codes = codes_in(batch.text[row].as_py())
                self.found |= codes
                if codes and len(self.items) < self.KEPT_ITEMS:
                    self.items.append(item(batch, row, frozenset(codes)))


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


def _sign_in(parsed: ParsedExport, signed_in: SignedInAccount | None) -> Check:
    name = "platform sign-in"
    if signed_in is None:
        return not_available(name, "the contributor did not sign in with the platform")
    if parsed.account_id is None or signed_in.source != parsed.source:
        return failed(
            name, f"signed in with {signed_in.source}, but this is a {parsed.source} export"
        )
    same = (
        signed_in.account_name.lower() == (parsed.account_name or "").lower()
        if parsed.source == "reddit"  # Reddit's export names the account, not its id
        else signed_in.account_id == parsed.account_id
    )
    if not same:
        return failed(
            name,
            f"signed in as {signed_in.account_name}, but the export is {parsed.account_name}'s",
        )
    return passed(name, f"signed in with {signed_in.source} as {signed_in.account_name}")


def _code(expected: str, found: set[str], spot: SpotCheck) -> Check:
    name = "verification code"
    if expected in found:
        if expected in spot.confirmed_codes:
            return passed(name, f"{expected} posted by the account, confirmed on the platform")
        if spot.reached:
            return failed(name, f"{expected} is in the export but not in the platform's copy")
        return not_available(
            name, f"{expected} is in the export, unconfirmed ({spot.check.reason})"
        )
    if found:
        reason = f"the account posted {sorted(found)[0]}, the code of another wallet"
        return failed(name, f"{reason} (this wallet's is {expected})")
    return not_available(name, f"{expected} not found in the account's items")


def _ownership(
    parsed: ParsedExport,
    found: set[str],
    spot: SpotCheck,
    context: ValidationContext,
    index: DedupIndex,
) -> list[Check]:
    checks = [_sign_in(parsed, context.signed_in)]
    if parsed.account_id is None:
        checks.append(
            not_available("verification code", "this kind of export has no account to post from")
        )
        checks.append(not_available("account binding", "this kind of export names no account"))
    else:
        expected = verification_code(context.wallet, context.chain_id, context.registry)
        checks.append(_code(expected, found, spot))
        bound = index.bound_wallet(parsed.source, parsed.account_id)
        if bound is None:
            reason = f"first use of this {parsed.source} account"
            checks.append(
                passed("account binding", f"{reason}; it will be bound to {context.wallet}")
            )
        elif bound.lower() == context.wallet.lower():
            checks.append(passed("account binding", f"account already bound to {context.wallet}"))
        else:
            # Which wallet is not said: it would tell anyone who uploads a copy of someone
            # else's export which wallet that person uses.
            reason = (
                f"this {parsed.source} account is bound to another wallet; only that wallet "
                "can contribute its exports"
            )
            checks.append(failed("account binding", reason))
    if context.signature_verified is None:
        checks.append(not_available("wallet signature", "checked by the service at upload"))
    elif context.signature_verified:
        checks.append(passed("wallet signature", "the wallet signed the export's SHA-256"))
    else:
        checks.append(
            failed(
                "wallet signature", "the signature over the export's SHA-256 is not the wallet's"
            )
        )
    return checks


def _judge(
    reading: Reading, context: ValidationContext, index: DedupIndex, report: ValidationReport
) -> Validation:
    parsed, records, found_codes, spot = (
        reading.parsed, reading.records, reading.found_codes, reading.spot
    )  # fmt: skip
    report.account_id, report.account_name = parsed.account_id, parsed.account_name
    report.authenticity = [*parsed.authenticity, spot.check]
    report.platform_items = spot.items
    report.total_records = len(records)
    authentic = all(c.status == CheckStatus.PASS for c in parsed.authenticity)
    authentic &= spot.check.status != CheckStatus.FAIL
    report.authenticity_score = 1.0 if authentic else 0.0
    report.rejection_reasons += [
        f"authenticity: {c.reason}" for c in parsed.authenticity if c.status == CheckStatus.FAIL
    ]
    required = context.platform is not None and context.platform.required and spot.applies
    if spot.check.status == CheckStatus.FAIL:
        report.rejection_reasons.append(f"authenticity: {SPOT_CHECK} failed: {spot.check.reason}")
    elif spot.check.status == CheckStatus.NOT_AVAILABLE and required:
        report.rejection_reasons.append(
            f"authenticity: {SPOT_CHECK} not available ({spot.check.reason}); this DAO requires it"
        )
    report.required_checks = [SPOT_CHECK] if required else []
    if context.require_code:
        report.required_checks.append("verification code")

    try:
        report.ownership = _ownership(parsed, found_codes, spot, context, index)
    except ExportRejected as exc:
        report.rejection_reasons.append(exc.user_message)
        return Validation(report)
    status = {c.name: c.status for c in report.ownership}
    report.rejection_reasons += [
        f"ownership: {c.reason}" for c in report.ownership if c.status == CheckStatus.FAIL
    ]
    if context.require_code and status["verification code"] != CheckStatus.PASS:
        report.rejection_reasons.append(
            "ownership: this DAO requires the verification code in the export"
        )
    if status["platform sign-in"] == CheckStatus.PASS:
        ownership, why = OWNERSHIP_CODE, "signed in with the platform as the export's account"
    elif status["verification code"] == CheckStatus.PASS:
        ownership, why = OWNERSHIP_CODE, "verification code posted from the account"
    elif parsed.account_id is not None:
        ownership, why = (
            OWNERSHIP_BOUND_ACCOUNT,
            "account bound to this wallet, no verification code",
        )
    else:
        ownership, why = (
            OWNERSHIP_SIGNATURE_ONLY,
            "no account identity: the wallet's signature only",
        )
    report.ownership_score = ownership

    report.fingerprint = fingerprints.content_fingerprint(records.fingerprints, parsed.source)
    additions, counted, new_qualities, new_kinds, qualities, rows = _dedup(records, index)
    new_count = len(new_qualities)
    report.unnatural_records = int(np.count_nonzero(records.unnatural & (qualities > 0)))
    report.low_quality_records = int(np.count_nonzero(qualities == 0))
    report.new_records = new_count
    report.duplicate_records = int(np.count_nonzero(qualities > 0)) - new_count

    value, report.uniqueness, report.quality, report.breakdown = score(
        ownership,
        why,
        new_qualities,
        report.total_records,
        unnatural=report.unnatural_records,
        demand=export_demand(parsed.source, new_kinds, new_qualities, context.demand),
        max_score=context.max_score,
    )
    if not report.rejection_reasons and value == 0:
        report.rejection_reasons.append(
            f"nothing new: none of the {report.total_records} records adds to the dataset "
            f"({report.duplicate_records} already in it, "
            f"{report.low_quality_records} of no quality)"
        )
    report.accepted = not report.rejection_reasons
    report.score = value if report.accepted else 0
    binding = (
        (DedupIndex.account_hash(parsed.source, parsed.account_id), context.wallet)
        if parsed.account_id
        else None
    )
    if not report.accepted:
        return Validation(report)
    refinable = Refinable(
        parsed.source,
        parsed.account_id,
        parsed.account_name,
        reading.parts,
        rows,
        qualities[rows].astype(np.float32),
        records.languages[rows],
        additions.band_keys,
        additions.fingerprints,
    )
    return Validation(report, additions, binding, counted, refinable=refinable)


def _dedup(
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


def preview_records(data: bytes, limit: int, limits: UnpackLimits = UnpackLimits()) -> Refinable:
    """The first `limit` records an export would give the dataset, for a contributor to
    see before signing: read only as far as needed, each judged on its own (the whole
    export's repeats and the index are not consulted, so a few may yet be left out).
    ExportRejected if it does not read, or carries files that are never taken."""
    archive = Archive(data, limits)
    source = detect(archive)
    refuse_private(archive)
    parsed = source.parse(archive)
    parts, qualities, codes, keys, exact = RecordParts(), [], [], [], []
    found = 0
    for batch in parsed.batches:
        batch = batch.rows(0, min(len(batch), limit * 4))
        normalised = fingerprints.normalise(batch.text)
        quality = features(batch, normalised)
        exact.append(fingerprints.exact_fingerprints(normalised))
        text_hashes = np.ascontiguousarray(exact[-1][:, :8]).view(np.uint64).ravel()
        qualities.append(assess(quality.worthless, quality.words, text_hashes, quality.unnatural))
        codes.append(languages(normalised))
        keys.append(fingerprints.band_keys(normalised))
        parts.add(batch)
        found += int(np.count_nonzero(qualities[-1] > 0))
        if found >= limit:
            break
    every = np.concatenate(qualities) if qualities else np.zeros(0, np.float32)
    rows = np.flatnonzero(every > 0)[:limit]
    return Refinable(
        parsed.source,
        parsed.account_id,
        parsed.account_name,
        parts,
        rows,
        every[rows].astype(np.float32),
        np.concatenate(codes)[rows] if codes else np.zeros(0, np.int8),
        np.concatenate(keys)[rows] if keys else np.zeros((0, fingerprints.BANDS), np.int64),
        np.concatenate(exact)[rows] if exact else np.zeros((0, 16), np.uint8),
    )


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


def preview_rows(data: bytes, contributor: str, limit: int) -> list[dict[str, Any]]:
    """`preview_records` refined and scrubbed as they would be stored, as JSON-ready rows
    (days as ISO dates), under a throwaway key: pseudonyms, record ids and clusters shown
    before anything is signed (to anyone, by the service) must not be the dataset's, or a
    made-up export mentioning a handle would name its pseudonym. The contribution id is
    not known yet: "preview"."""
    refinable = preview_records(data, limit)
    pseudonyms = Pseudonyms(os.urandom(32))
    scrubber = Scrubber(lambda handle: pseudonyms.of(refinable.source, handle))
    rows = refinable.table("preview", contributor, pseudonyms, scrubber.scrub).to_pylist()
    for row in rows:
        row["day"] = row["day"].isoformat() if row["day"] is not None else None
    return rows
