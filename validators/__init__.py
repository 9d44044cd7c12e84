"""Export validators: safe unpacking, authenticity, ownership, dedup, quality and value.

One module per export source under `validators.sources`, all behind `ExportSource`;
`validate_export` runs the whole pipeline and returns one typed `ValidationReport`.
"""

from validators.dedup import DedupIndex
from validators.pipeline import SOURCES, Validation, ValidationContext, validate_export
from validators.report import Check, CheckStatus, ValidationReport
from validators.verification_code import verification_code

__all__ = [
    "SOURCES",
    "Check",
    "CheckStatus",
    "DedupIndex",
    "Validation",
    "ValidationContext",
    "ValidationReport",
    "validate_export",
    "verification_code",
]
