"""The service's HTTP API as calls: config, nonces, uploads, receipts, withdrawal, keys."""

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import requests
from urllib3 import encode_multipart_formdata

from dao_service.exceptions import ServiceRefused, ServiceUnreachable

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


class _ReadProgress(io.BytesIO):
    """A request body that reports how much of it the connection has read."""

    def __init__(self, data: bytes, progress: Progress) -> None:
        super().__init__(data)
        self._total, self._progress = len(data), progress

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self._progress(self.tell(), self._total)
        return chunk


class ServiceClient:
    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout
        self._session = requests.Session()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = self._session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ServiceUnreachable(
                f"cannot reach the service at {self.url}: is `datadao up` running?"
            ) from exc
        try:
            body = reply.json()
        except ValueError:
            body = {}
        if reply.status_code >= 400:
            detail = body.get("detail") if isinstance(body, dict) else None
            raise ServiceRefused(
                f"the service refused: {detail or f'HTTP {reply.status_code}'}", reply.status_code
            )
        return body

    def config(self) -> dict[str, Any]:
        return dict(self._request("GET", "/api/config"))

    def nonce(self, wallet: str) -> str:
        return str(
            self._request("POST", "/api/contributions/nonce", json={"wallet": wallet})["nonce"]
        )

    def upload(
        self, fields: dict[str, str], ciphertext: bytes, progress: Progress | None = None
    ) -> dict[str, Any]:
        body, content_type = encode_multipart_formdata(
            {**fields, "ciphertext": ("export.enc", ciphertext, "application/octet-stream")}
        )
        data: Any = _ReadProgress(body, progress) if progress else body
        return dict(
            self._request(
                "POST", "/api/contributions", data=data, headers={"Content-Type": content_type}
            )
        )

    def submit_sample(self, fields: dict[str, str], ciphertext: bytes) -> dict[str, Any]:
        body, content_type = encode_multipart_formdata(
            {**fields, "ciphertext": ("sample.enc", ciphertext, "application/octet-stream")}
        )
        return dict(
            self._request(
                "POST", "/api/rentals/samples", data=body, headers={"Content-Type": content_type}
            )
        )

    def sign_in_request(self, platform: str, wallet: str) -> dict[str, Any]:
        """What `wallet` signs (EIP-712) before signing in with `platform`: nonce,
        expires and typed_data."""
        return dict(
            self._request("GET", f"/api/signin/{platform}/request", params={"wallet": wallet})
        )

    def sign_in_url(
        self, platform: str, wallet: str, request: dict[str, Any], signature: str
    ) -> str:
        """Where to sign in with the platform in a browser, once the wallet signed the
        request; the page it ends on shows the sign-in pass to paste."""
        query = urlencode(
            {"wallet": wallet, "nonce": request["nonce"], "expires": request["expires"],
             "signature": signature}
        )  # fmt: skip
        return f"{self.url}/api/signin/{platform}?{query}"

    def read_sign_in(self, sign_in_pass: str) -> dict[str, Any]:
        return dict(self._request("GET", "/api/signin/pass/read", params={"value": sign_in_pass}))

    def receipt(self, contribution_id: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/api/contributions/{contribution_id}"))

    def contributions_of(self, address: str) -> list[dict[str, Any]]:
        """`address`'s contributions: id, fingerprint, dataset, status, score, tokens."""
        found: list[dict[str, Any]] = self._request(
            "GET", f"/api/contributors/{address}/contributions"
        )
        return found

    def withdraw(self, contribution_id: str, deadline: int, signature: str) -> dict[str, Any]:
        return dict(
            self._request(
                "POST",
                f"/api/contributions/{contribution_id}/withdraw",
                json={"deadline": deadline, "signature": signature},
            )
        )

    def key_challenge(self, address: str, dataset_id: int) -> dict[str, Any]:
        return dict(
            self._request(
                "POST", "/api/keys/challenge", json={"address": address, "dataset_id": dataset_id}
            )
        )

    def release_keys(
        self,
        address: str,
        challenge: dict[str, Any],
        dataset_id: int,
        signature: str,
        limit: int = 1000,
    ) -> dict[str, Any]:
        """The first page of keys on a signed `challenge` (as `key_challenge` answered);
        its `next_cursor` asks for the next (`next_keys`)."""
        return dict(
            self._request(
                "POST",
                "/api/keys/release",
                json={
                    "address": address,
                    "nonce": challenge["nonce"],
                    "expires_at": challenge["expires_at"],
                    "dataset_id": dataset_id,
                    "chain_id": challenge["chain_id"],
                    "signature": signature,
                    "limit": limit,
                },
            )
        )

    def next_keys(self, cursor: str, limit: int = 1000) -> dict[str, Any]:
        return dict(
            self._request("POST", "/api/keys/release/next", json={"cursor": cursor, "limit": limit})
        )
