"""One error family for everything a user can be told about.

Each error carries a `user_message`: the CLI prints it as one line and the API returns
it as the error detail, with the error's `status` (and, for a 503, `Retry-After:
retry_after`): one handler in main.py maps them all. Subclasses also inherit the builtin
they resemble, so callers that only know Python's errors still catch them. The
validators, which import nothing from the service, have their own family in
validators/exceptions.py.
"""

from typing import Any

DEPENDENCY_RETRY_AFTER = 5  # seconds: a part restarting under `datadao up` is back by then


class DataDaoError(Exception):
    """Root of the project's errors; `user_message` is safe to show to a user."""

    status = 500
    retry_after: int | None = None  # seconds, for an answer the client should come back for

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


# --- setup and the local stack -------------------------------------------------------


class ConfigurationError(DataDaoError, ValueError):
    """A setting, flag or file the user supplied is missing or wrong."""

    status, retry_after = 503, DEPENDENCY_RETRY_AFTER


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
    """A part of the local stack, or a service it needs, failed to start, stop or answer."""

    status, retry_after = 503, DEPENDENCY_RETRY_AFTER


class DeploymentError(DataDaoError, RuntimeError):
    """The contracts could not be deployed, or the manifest does not match the chain."""


class ServiceBusy(DataDaoError, RuntimeError):
    """The service cannot take the request now (its database stayed locked, it is receiving
    all it can hold); the API answers 503 with `Retry-After: retry_after`."""

    status = 503

    def __init__(self, user_message: str, retry_after: int = 5) -> None:
        super().__init__(user_message)
        self.retry_after = retry_after


# --- the chain -----------------------------------------------------------------------


class ChainRefused(DataDaoError, RuntimeError):
    """The chain reverted a transaction of ours; `reason` is the decoded error if known."""

    status = 409

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ContractReverted(DataDaoError, RuntimeError):
    """The chain refused a call: `name` is the custom error, `args` its values in order."""

    status = 409

    def __init__(self, name: str, args: tuple[Any, ...], names: tuple[str, ...] = ()) -> None:
        shown = ", ".join(
            f"{n}={_shown(v)}" if n else _shown(v)
            for n, v in zip(names or ("",) * len(args), args, strict=True)
        )
        self.summary = f"{name}({shown})"
        super().__init__(f"the chain refused the transaction: {self.summary}")
        self.name, self.args_, self.names = name, args, names


def _shown(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


# --- intake --------------------------------------------------------------------------


class IntakeRefused(DataDaoError, ValueError):
    """The request is wrong (4xx); `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class UploadUnreadable(DataDaoError, ValueError):
    """The upload's key or ciphertext does not open: wrong key, wrong IV or altered bytes."""

    status = 400


class SignInRefused(DataDaoError, PermissionError):
    """The sign-in failed or its pass is not valid for this upload."""

    status = 403


class CallerRefused(DataDaoError, PermissionError):
    """A validator node answers only requests signed by a validator the registry lists
    (a collecting node): anyone else gets 403, with what was missing."""

    status = 403


class AttestationRefused(DataDaoError, PermissionError):
    """A validator node will not sign what it was asked to: its own verdict differs, or
    the proposal does not match what it judged (HTTP 409, its reasons in the message)."""

    status = 409


class SignaturesMissing(DataDaoError, RuntimeError):
    """Fewer validators signed than the registry requires; the worker tries again later
    (a validator node restarting, say). The message names each one's answer."""

    status = 503
    retry_after = DEPENDENCY_RETRY_AFTER


class LeaseLost(DataDaoError, RuntimeError):
    """Another worker took this contribution over (our lease expired): leave it to them."""

    status = 409


# --- key release ---------------------------------------------------------------------


class KeyRefused(DataDaoError, PermissionError):
    """The release is refused; the message says why (HTTP 403)."""

    status = 403


class ChallengeReplayed(KeyRefused):
    """The nonce was used before (the release log has audited the refusal)."""


class KeyRequestsLimited(KeyRefused):
    """Too many refused requests from one client address (HTTP 429)."""

    status = 429


# --- custody nodes (threshold custody of file keys) ---------------------------------


class CustodyError(DataDaoError, ValueError):
    """A share, a node set or a deposit that does not fit (HTTP 400); the message names it."""

    status = 400


class DepositRefused(DataDaoError, PermissionError):
    """A custody node refuses a deposit or a destruction: not signed by a validator of
    the chain, or the chain does not record what was claimed (HTTP 403)."""

    status = 403


class NodesUnavailable(DataDaoError, RuntimeError):
    """Fewer custody nodes than the threshold answered; the message names those that did
    not, and why (HTTP 503)."""

    status, retry_after = 503, DEPENDENCY_RETRY_AFTER


# --- earnings ------------------------------------------------------------------------


class SampleRefused(DataDaoError, ValueError):
    """The validation sample is unusable; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SettlementError(DataDaoError):
    """A rental's earnings cannot be settled (yet); the message says why."""

    status = 409


# --- the client library (the contributor's, holder's and renter's side) -------------


class AccountError(DataDaoError, ValueError):
    """An unknown account, a wrong password, a name or key that does not fit."""


class ServiceUnreachable(StackError):
    """Nothing answers at the service's URL."""


class ServiceRefused(DataDaoError, PermissionError):
    """The service answered 4xx/5xx; the message is its own reason."""

    def __init__(self, user_message: str, status: int) -> None:
        super().__init__(user_message)
        self.status = status


class Refused(DataDaoError, PermissionError):
    """The chain would refuse this; the message says why and what to do instead."""


class FetchFailed(DataDaoError, RuntimeError):
    """A blob did not match its CID, did not decrypt, or its plaintext was not the one attested."""


class ChainUnreachable(StackError):
    """The JSON-RPC endpoint does not answer."""


class RpcError(DataDaoError, RuntimeError):
    """The node answered a JSON-RPC error; `data` holds revert data when there is any."""

    def __init__(self, message: str, data: str | None = None) -> None:
        super().__init__(f"the chain answered an error: {message}")
        self.data = data


class ContributionFailed(DataDaoError, RuntimeError):
    """The export could not be contributed (too large, unreadable, stuck)."""
