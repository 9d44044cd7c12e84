"""One module per export source, each exposing the same small interface."""

from typing import Protocol

from validators.report import ParsedExport


class ExportSource(Protocol):
    """An export source: recognise its files, then parse them into records and checks."""

    name: str

    def detect(self, files: dict[str, bytes]) -> bool: ...

    def parse(self, files: dict[str, bytes]) -> ParsedExport: ...
