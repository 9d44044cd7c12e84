"""The IPFS node behind the Kubo RPC API, through ipfshttpclient 0.8.0a2.

`Client(addr)` is built directly: `ipfshttpclient.connect()` checks the daemon's version
and no current daemon passes that check. Every call carries a timeout, because a `cat`
of a CID the node does not have waits forever.
"""

import io
import warnings

import ipfshttpclient

# ipfshttpclient 0.8.0a2 passes urllib3 a `strict` argument that urllib3 2 only warns about.
warnings.filterwarnings("ignore", message="The 'strict' parameter", category=FutureWarning)

DEFAULT_TIMEOUT = 30.0


class IpfsStore:
    def __init__(self, api_url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._client = ipfshttpclient.Client(api_url, timeout=timeout)
        self.api_url, self.timeout = api_url, timeout

    def version(self) -> str:
        return str(self._client.version(timeout=self.timeout)["Version"])

    def add(self, data: bytes, *, pin: bool = True) -> str:
        """Store `data` and return its CIDv1 (base32, raw leaves), as Kubo computes it."""
        return self._add(data, pin=pin)

    def cid_of(self, data: bytes) -> str:
        """The CID `add` would give `data`, computed by the node without storing it."""
        return self._add(data, only_hash=True)

    def _add(self, data: bytes, **options: bool) -> str:
        reply = self._client.add(
            io.BytesIO(data),
            cid_version=1,
            raw_leaves=True,
            opts={"cid-base": "base32"},
            timeout=self.timeout,
            **options,
        )
        return str(reply["Hash"])

    def cat(self, cid: str) -> bytes:
        return bytes(self._client.cat(cid, timeout=self.timeout))

    def pinned(self, cid: str) -> bool:
        try:
            keys = self._client.pin.ls(cid, type="recursive", timeout=self.timeout)["Keys"]
        except ipfshttpclient.exceptions.ErrorResponse:
            return False
        return bool(keys)

    def unpin(self, cid: str) -> None:
        """Stop keeping `cid` (nothing if it was not pinned); `collect_garbage` deletes it."""
        try:
            self._client.pin.rm(cid, timeout=self.timeout)
        except ipfshttpclient.exceptions.ErrorResponse as exc:
            if "not pinned" not in str(exc):
                raise

    def collect_garbage(self) -> None:
        """Delete every block no pin keeps (this node's copy; other nodes keep theirs)."""
        self._client.repo.gc(quiet=True, timeout=max(self.timeout, 300))

    def close(self) -> None:
        self._client.close()
