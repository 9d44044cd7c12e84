"""One error family for everything a user can be told about.

Each error carries a `user_message`: the CLI prints it as one line and the API returns
it as the error detail. Subclasses also inherit the builtin they resemble, so callers
that only know Python's errors still catch them.
"""


class DataDaoError(Exception):
    """Root of the project's errors; `user_message` is safe to show to a user."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class ConfigurationError(DataDaoError, ValueError):
    """A setting, flag or file the user supplied is missing or wrong."""


class PortInUseError(DataDaoError, OSError):
    """A port the stack needs is taken by another process."""

    def __init__(self, part: str, host: str, port: int) -> None:
        super().__init__(
            f"Port {port} on {host} is already in use, so the {part} cannot start. "
            f"Stop whatever listens there (see `ss -ltnp 'sport = :{port}'`) "
            f"or pick another port with the matching --*-port flag."
        )
        self.part, self.host, self.port = part, host, port


class ToolchainError(DataDaoError, RuntimeError):
    """A tool the project installs (node packages, compiler) is missing or broken."""


class CompilationError(DataDaoError, RuntimeError):
    """The Solidity compiler refused the sources; the message is solc's own text."""


class StackError(DataDaoError, RuntimeError):
    """A part of the local stack failed to start, stop or answer."""


class DeploymentError(DataDaoError, RuntimeError):
    """The contracts could not be deployed, or the manifest does not match the chain."""


class ServiceBusy(DataDaoError, RuntimeError):
    """The service cannot take the request now (its database stayed locked, it is receiving
    all it can hold); the API answers 503 with `Retry-After: retry_after`."""

    def __init__(self, user_message: str, retry_after: int = 5) -> None:
        super().__init__(user_message)
        self.retry_after = retry_after
