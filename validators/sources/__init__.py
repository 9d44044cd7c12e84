"""One module per export source, each exposing the same small interface."""

from typing import Protocol

from validators.report import ParsedExport
from validators.unpack import Archive


class ExportSource(Protocol):
    """An export source: recognise its files, then read them into records and checks.
    `parse` reads what identifies the export; the records stream from its batches."""

    name: str

    def detect(self, archive: Archive) -> bool: ...

    def parse(self, archive: Archive) -> ParsedExport: ...
