"""One export in, one ValidationReport out: unpack -> detect -> parse -> authenticity ->
ownership -> quality -> dedup -> score. Nothing here touches the network or the disk
(except the dedup index it is given), and nothing raises: every failure is a rejection
with its reason.

The export is read once, its records streaming through every per-record stage; what
stays of them is kept in arrays (validators.records), and the ownership checks are
validators.ownership."""

import hashlib
import hmac
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow.compute as pc
from sqlalchemy import Connection

from validators import fingerprints
from validators.dedup import DedupIndex, NewRecords
from validators.exceptions import ExportRejected
from validators.ownership import CodeScan, SignedInAccount, ownership_checks
from validators.platforms import VERIFIERS, PlatformPolicy, SpotCheck, spot_check
from validators.platforms.check import NAME as SPOT_CHECK
from validators.platforms.sample import Sampler
from validators.quality import assess, features
from validators.records import ExportRecords, ExportTexts, Records, deduplicate
from validators.refine import Pseudonyms, RecordParts, Refinable, languages
from validators.report import CheckStatus, ParsedExport, ValidationReport
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
from validators.sources.common import not_available
from validators.sources.generic import GenericExport
from validators.sources.reddit import RedditExport
from validators.sources.twitter import TwitterArchive
from validators.unpack import Archive, UnpackLimits

log = logging.getLogger("validators")
INTERNAL_ERROR = "The validator could not finish checking this export"

SOURCES: tuple[ExportSource, ...] = (RedditExport(), TwitterArchive(), GenericExport())


@dataclass(frozen=True)
class ValidationContext:
    """Who contributes, to which deployment, under which policy."""

    wallet: str
    chain_id: int
    registry: str
    require_code: bool = False
    # An account is bound (and its export accepted) only on a proof its holder alone can
    # give: the platform's sign-in or the verification code. Off (the local stack), an
    # unproven binding is made, flagged unproven: the owner who proves later takes it.
    require_proof: bool = False
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
    # The binding is by the account holder's proof (the platform's sign-in or the
    # verification code): it replaces an unproven binding of another wallet.
    binding_proven: bool = False

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
        index.commit(
            self.additions,
            self.binding,
            claimed=self.counted,
            connection=connection,
            proven=self.binding_proven,
        )


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
    records: ExportRecords
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
) -> tuple[ParsedExport, ExportRecords, CodeScan]:
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
    additions, *_ = deduplicate(records, index)
    return additions, parsed.source, parsed.account_id


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
    if context.require_proof and parsed.account_id is not None:
        report.required_checks.append("account binding")

    try:
        report.ownership = ownership_checks(parsed, found_codes, spot, context, index)
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
    additions, counted, new_qualities, new_kinds, qualities, rows = deduplicate(records, index)
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
    proven = CheckStatus.PASS in (status["platform sign-in"], status["verification code"])
    return Validation(
        report, additions, binding, counted, refinable=refinable, binding_proven=proven
    )


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
