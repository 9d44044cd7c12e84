"""Why an export could not even be read; the validator turns these into rejections."""

from dao_service.exceptions import DataDaoError


class ExportRejected(DataDaoError, ValueError):
    """The export is malformed, unsafe or unreadable; the message names what was wrong."""
