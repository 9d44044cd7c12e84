"""Body limits are enforced as the bytes arrive, on a real uvicorn server on loopback: a
declared-huge body is refused before it is sent, a chunked one is cut at the limit, and
bodies received at once are capped in total (503 with Retry-After)."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from dao_service.api.body_limits import BodyLimit, BodyLimitMiddleware
from dao_service.core.config import Settings, get_settings
from tests.api.conftest import running_service
from tests.utils.raw_http import connect, read_response

LIMIT = 64 * 1024
BOUNDARY = "limitsboundary"


@pytest.fixture
def server(service_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The service on a real uvicorn server on 127.0.0.1, small limits; yields its port."""
    monkeypatch.setenv("DATADAO_MAX_UPLOAD_BYTES", str(LIMIT))
    monkeypatch.setenv("DATADAO_MAX_SAMPLE_BYTES", str(LIMIT))
    get_settings.cache_clear()
    with running_service() as port:
        yield port
    get_settings.cache_clear()


def headers(path: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{extra}\r\n"
    ).encode()


# The three body-taking routes, and one of any other (DATADAO_MAX_REQUEST_BYTES).
BODY_PATHS = [
    "/api/contributions",
    "/api/contributions/preview",
    "/api/rentals/samples",
    "/api/keys/release",
]


@pytest.mark.parametrize("path", BODY_PATHS)
def test_a_declared_huge_body_is_refused_before_it_is_sent(server: int, path: str) -> None:
    with connect(server) as conn:
        conn.sendall(headers(path, f"Content-Length: {1024**3}\r\n"))
        # Not a byte of the body is sent: the answer must come from the headers alone.
        status, raw = read_response(conn)
    assert status == 413, raw
    assert b"1,073,741,824 bytes" in raw


def test_a_chunked_body_is_cut_at_the_limit(server: int) -> None:
    chunk = b"x" * 65536
    sent = 0
    answered = None
    with connect(server) as conn:
        conn.sendall(headers("/api/contributions", "Transfer-Encoding: chunked\r\n"))
        part = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="ciphertext"; '
            'filename="export.enc"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))  # a file part that never ends
        conn.setblocking(False)
        # Up to 1 GiB would be sent; the end of the body never is: a server that waits
        # for the whole body before answering never answers.
        while sent < 1024**3 and answered is None:
            try:
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                answered = conn.recv(65536)
            except BlockingIOError:
                continue
        conn.setblocking(True)
        conn.settimeout(60)
        if answered is None:
            answered = conn.recv(65536)
    assert answered.startswith(b"HTTP/1.1 413"), answered
    assert b"cut there" in answered
    assert sent < 1024**3


async def _drive(app: Any, body_size: int | None) -> tuple[int, dict[bytes, bytes]]:
    """One request through `app` in process; returns its status and headers."""
    headers = [(b"content-length", str(body_size).encode())] if body_size is not None else []
    scope = {"type": "http", "method": "POST", "path": "/upload", "headers": headers}
    answer: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"x" * (body_size or 0), "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"], answer["headers"] = message["status"], dict(message["headers"])

    await app(scope, receive, send)
    return answer["status"], answer["headers"]


def test_bodies_received_at_once_are_capped_in_total() -> None:
    holding = asyncio.Event()
    release = asyncio.Event()

    async def slow_route(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        holding.set()
        await release.wait()  # the route holds its body until released
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = BodyLimitMiddleware(
        slow_route, [BodyLimit("/upload", 1000)], default_max_bytes=10, in_flight_cap=1500
    )

    async def scenario() -> None:
        first = asyncio.create_task(_drive(app, 900))
        await holding.wait()
        status, headers = await _drive(app, 900)  # 1,800 bytes at once: over the cap
        assert status == 503 and headers[b"retry-after"] == b"5"
        chunked = await _drive(app, None)  # no length declared: counts as the route's limit
        assert chunked[0] == 503
        release.set()
        assert (await first)[0] == 200
        holding.clear()
        second = asyncio.create_task(_drive(app, 900))  # the first one's share came back
        release.set()
        assert (await second)[0] == 200
        assert app.in_flight.reserved == 0

    asyncio.run(scenario())
