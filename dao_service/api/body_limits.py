"""Request body limits, enforced as the bytes arrive (pure ASGI, in front of FastAPI).

A route that checks the size of what it received has already received it: starlette
spools a multipart body to a temporary file (and a chunked one into memory) before the
route runs. Here, before any of that:

- a declared `Content-Length` over the route's limit is answered 413 at once, without
  reading a byte of the body;
- a body without a declared length (chunked) is counted as it arrives and cut with a 413
  at the limit;
- all bodies this process is receiving at once may not exceed a total: a request that
  would go over it is answered 503 with `Retry-After` (again before its body is read).
  A request holds its share (its declared length, or its route's limit when it declares
  none) until its response is sent, since the route holds the body that long.
"""

import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RETRY_AFTER_SECONDS = 5


FORM_FIELDS_BYTES = 1024 * 1024  # an upload's form fields and multipart framing, at most


@dataclass(frozen=True)
class BodyLimit:
    """The most bytes one request body to `path` may have (exact path, any method)."""

    path: str
    max_bytes: int


class _BodyTooLarge(Exception):
    """Raised inside the app's `receive` once a body passes its limit (the 413 is sent)."""


class InFlight:
    """Bytes of request bodies being received and held by this process, under a cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.reserved = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if self.reserved + size > self.cap:
                return False
            self.reserved += size
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self.reserved -= size


async def _answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Applies `limits` by path, `default_max_bytes` to every other request, and the total
    `in_flight_cap` to every body."""

    def __init__(
        self,
        app: ASGIApp,
        limits: list[BodyLimit],
        default_max_bytes: int,
        in_flight_cap: int,
    ) -> None:
        self.app = app
        self.limits = {limit.path: limit.max_bytes for limit in limits}
        self.default_max_bytes = default_max_bytes
        self.in_flight = InFlight(in_flight_cap)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"].rstrip("/") or "/", self.default_max_bytes)
        declared = self._declared_length(scope)
        if declared == -1:
            await _answer(send, 400, "The Content-Length header is not a number.", [])
            return
        if declared is not None and declared > limit:
            await _answer(
                send,
                413,
                f"The request body is {declared:,} bytes; at most {limit:,} are accepted "
                f"on {scope['path']}.",
                [],
            )
            return
        share = limit if declared is None else declared
        if not self.in_flight.take(share):
            await _answer(
                send,
                503,
                "The service is receiving as many uploads as it can hold; try again in "
                f"{RETRY_AFTER_SECONDS} seconds.",
                [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
            )
            return
        try:
            await self._guarded(scope, receive, send, limit)
        finally:
            self.in_flight.give_back(share)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        cut = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, cut
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut = True
                    if not started:
                        await _answer(
                            send,
                            413,
                            f"The request body passed {limit:,} bytes, the most accepted "
                            f"on {scope['path']}; it was cut there.",
                            [],
                        )
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if cut:  # the 413 went out; whatever the app makes of the cut body does not
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not cut:
                raise

    @staticmethod
    def _declared_length(scope: Scope) -> int | None:
        """The declared body length; None when not declared; -1 when not a number."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return -1
        return None
