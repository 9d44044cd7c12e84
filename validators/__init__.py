"""Export validators: safe unpacking, authenticity, ownership, dedup, quality and value.

One module per export source under `validators.sources`, all behind `ExportSource`;
`validate_export` runs the whole pipeline and returns one typed `ValidationReport`.
"""

from validators.dedup import FORMAT_VERSION, DedupIndex, IndexConflict, IndexFormatError, NewRecords
from validators.exceptions import ExportRejected, ValidatorError
from validators.ownership import SignedInAccount
from validators.pipeline import SOURCES, Validation, ValidationContext, derive_keys, validate_export
from validators.report import Check, CheckStatus, ValidationReport
from validators.scoring import Demand
from validators.verification_code import verification_code

__all__ = [
    "FORMAT_VERSION",
    "SOURCES",
    "Check",
    "CheckStatus",
    "DedupIndex",
    "Demand",
    "ExportRejected",
    "IndexConflict",
    "IndexFormatError",
    "NewRecords",
    "SignedInAccount",
    "Validation",
    "ValidationContext",
    "ValidationReport",
    "ValidatorError",
    "derive_keys",
    "validate_export",
    "verification_code",
]
