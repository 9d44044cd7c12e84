"""Why an export could not even be read; the validator turns these into rejections.

Standalone on purpose: validators import nothing from dao_service (the service uses the
validators, not the reverse). Same shape as the service's errors: a `user_message`
safe to show, and the builtin the error resembles as a second base.
"""


class ValidatorError(Exception):
    """Root of the validators' errors; `user_message` is safe to show to a user."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class ExportRejected(ValidatorError, ValueError):
    """The export is malformed, unsafe or unreadable; the message names what was wrong."""


class PlatformUnreachable(ValidatorError, ConnectionError):
    """The platform did not answer (connection, timeout, an error status): its items are
    not available, which the spot-check's policy decides about."""
