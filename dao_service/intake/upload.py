"""What an upload request carries, and the one error intake answers a bad request with."""

from dataclasses import dataclass

from dao_service.exceptions import DataDaoError
from validators import SignedInAccount


class IntakeRefused(DataDaoError, ValueError):
    """The request is wrong (4xx); `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    contributor: str
    sha256: bytes
    source: str
    nonce: str
    signature: bytes
    wrapped_key: bytes
    iv: bytes
    ciphertext: bytes
    client: str
    signed_in: SignedInAccount | None = None  # from a sign-in with the platform
