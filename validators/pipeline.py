"""One export in, one ValidationReport out: unpack -> detect -> parse -> authenticity ->
ownership -> quality -> dedup -> score. Nothing here touches the network or the disk
(except the dedup index it is given), and nothing raises: every failure is a rejection
with its reason."""

import logging
import traceback
from dataclasses import dataclass, field

from validators._utils import fingerprints
from validators._utils.unpack import UnpackLimits, is_zip, unpack_zip
from validators.dedup import DedupIndex, RecordKeys
from validators.exceptions import ExportRejected
from validators.quality import assess
from validators.report import Check, CheckStatus, ParsedExport, ValidationReport
from validators.scoring import (
    OWNERSHIP_BOUND_ACCOUNT,
    OWNERSHIP_CODE,
    OWNERSHIP_SIGNATURE_ONLY,
    score,
)
from validators.sources import ExportSource
from validators.sources.common import failed, not_available, passed
from validators.sources.generic import GenericExport
from validators.sources.reddit import RedditExport
from validators.sources.twitter import TwitterArchive
from validators.verification_code import codes_in, verification_code

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
    # The service's check of the wallet's EIP-712 signature over the export's SHA-256;
    # None where nobody checked it (a local `datadao validate`).
    signature_verified: bool | None = None
    limits: UnpackLimits = field(default_factory=UnpackLimits)


@dataclass
class Validation:
    report: ValidationReport
    new_records: list[RecordKeys] = field(default_factory=list)
    binding: tuple[bytes, str] | None = None  # (DedupIndex.account_hash, wallet)

    def commit(self, index: DedupIndex) -> None:
        """Add an accepted export's new records and account binding to the index."""
        if not self.report.accepted:
            raise ValueError("only an accepted export is committed to the index")
        index.commit(self.new_records, self.binding)


def detect(files: dict[str, bytes]) -> ExportSource:
    for source in SOURCES:
        if source.detect(files):
            return source
    raise ExportRejected(
        "Not a recognised export: expected a Reddit data-request zip, an X archive zip, "
        "or a single JSON, NDJSON or CSV file."
    )


def validate_export(data: bytes, context: ValidationContext, index: DedupIndex) -> Validation:
    """The verdict on one export. Never raises: every failure is a rejection with its
    reason (an unexpected error too, logged by type and place only, never by content)."""
    report = ValidationReport()
    try:
        return _validate(data, context, index, report)
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
    files = unpack_zip(data, context.limits) if is_zip(data) else {"export": data}
    source = detect(files)
    report.source = source.name
    parsed = source.parse(files)
    return _judge(parsed, context, index, report)


def _ownership(parsed: ParsedExport, context: ValidationContext, index: DedupIndex) -> list[Check]:
    checks = []
    if parsed.account_id is None:
        checks.append(
            not_available("verification code", "this kind of export has no account to post from")
        )
        checks.append(not_available("account binding", "this kind of export names no account"))
    else:
        expected = verification_code(context.wallet, context.chain_id, context.registry)
        found: set[str] = set()
        for record in parsed.records:
            if record.authored_by_account and (
                parsed.export_time is None
                or record.created_at is None
                or record.created_at <= parsed.export_time
            ):
                found |= codes_in(record.text)
        if expected in found:
            checks.append(
                passed("verification code", f"{expected} posted by the account before the export")
            )
        elif found:
            reason = f"the account posted {sorted(found)[0]}, the code of another wallet"
            checks.append(failed("verification code", f"{reason} (this wallet's is {expected})"))
        else:
            checks.append(
                not_available("verification code", f"{expected} not found in the account's items")
            )
        bound = index.bound_wallet(parsed.source, parsed.account_id)
        if bound is None:
            reason = f"first use of this {parsed.source} account"
            checks.append(
                passed("account binding", f"{reason}; it will be bound to {context.wallet}")
            )
        elif bound.lower() == context.wallet.lower():
            checks.append(passed("account binding", f"account already bound to {context.wallet}"))
        else:
            reason = f"this {parsed.source} account is bound to another wallet"
            checks.append(failed("account binding", f"{reason} ({bound})"))
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
    parsed: ParsedExport, context: ValidationContext, index: DedupIndex, report: ValidationReport
) -> Validation:
    report.account_id, report.account_name = parsed.account_id, parsed.account_name
    report.authenticity = parsed.authenticity
    report.total_records = len(parsed.records)
    authentic = all(c.status == CheckStatus.PASS for c in parsed.authenticity)
    report.authenticity_score = 1.0 if authentic else 0.0
    report.rejection_reasons += [
        f"authenticity: {c.reason}" for c in parsed.authenticity if c.status == CheckStatus.FAIL
    ]

    try:
        report.ownership = _ownership(parsed, context, index)
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
    if status["verification code"] == CheckStatus.PASS:
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

    normalised = [fingerprints.normalise(r.text) for r in parsed.records]
    qualities = assess(parsed.records, normalised)
    report.low_quality_records = sum(1 for q in qualities if q.value == 0)
    exact = [fingerprints.exact_fingerprint(t) for t in normalised]
    report.fingerprint = fingerprints.content_fingerprint(exact, parsed.source)

    candidates = [i for i, q in enumerate(qualities) if q.value > 0]
    known_exact = index.known_fingerprints(exact[i] for i in candidates)
    unseen = [i for i in candidates if exact[i] not in known_exact]
    bands = dict(
        zip(unseen, fingerprints.band_keys_batch([normalised[i] for i in unseen]), strict=True)
    )
    known_bands = index.known_band_keys(key for keys in bands.values() for key in keys)
    new_records: list[RecordKeys] = []
    new_qualities: list[float] = []
    export_bands: set[int] = set()
    for i in unseen:
        keys = bands[i]
        near_duplicate = not known_bands.isdisjoint(keys) or not export_bands.isdisjoint(keys)
        export_bands.update(keys)
        if not near_duplicate:
            new_records.append(RecordKeys(exact[i], keys))
            new_qualities.append(qualities[i].value)
    report.new_records = len(new_records)
    report.duplicate_records = len(candidates) - len(new_records)

    value, report.uniqueness, report.quality, report.breakdown = score(
        ownership, why, new_qualities, report.total_records
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
    return Validation(
        report, new_records if report.accepted else [], binding if report.accepted else None
    )
