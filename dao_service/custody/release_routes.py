"""The two release routes served in front of FastAPI's routing (most of a node's
requests are releases, and FastAPI's request and response handling cost about as much
as the release itself): the same request models and checks, the same answers. A request
whose body is not valid JSON of the route's model goes on to FastAPI unchanged, which
answers it as before (its 422), so only valid requests take this path; the routes stay
in FastAPI too, for the schema (`/docs`) and for any request this path does not take.

Placed inside the body limits (`BodyLimitMiddleware`), so a body is counted as it is
read here exactly as it is for FastAPI."""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import ValidationError

from dao_service.api.errors import refusal
from dao_service.api.schemas import NextPageRequest, ReleaseRequest
from dao_service.custody.api import page_response
from dao_service.custody.release import ShareRelease
from dao_service.exceptions import DataDaoError
from dao_service.keys.release import ReleasedPage, SignedRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FIRST, NEXT = "/api/keys/release", "/api/keys/release/next"


class ReleaseRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] not in (FIRST, NEXT)
            or not _json(scope)
        ):
            await self.app(scope, receive, send)
            return
        body, messages = await _read(receive)
        try:
            loaded = json.loads(body)  # as FastAPI reads a JSON body, then its model
            if scope["path"] == FIRST:
                first = ReleaseRequest.model_validate(loaded)
            else:
                after = NextPageRequest.model_validate(loaded)
        # RecursionError: JSON nested deeper than the parser goes, which FastAPI refuses.
        except (ValueError, ValidationError, RecursionError):  # FastAPI answers it, as always
            await self.app(scope, _replay(messages, receive), send)
            return
        service: ShareRelease = scope["app"].state.release
        client = scope["client"][0] if scope.get("client") else ""
        page: ReleasedPage
        try:
            if scope["path"] == FIRST:
                page = await service.release(SignedRequest.of(first), first.limit, client)
            else:
                page = await service.next_page(after.cursor, after.limit, client)
        except DataDaoError as exc:  # the one mapping of the error family (api/errors.py)
            await refusal(exc)(scope, receive, send)
            return
        content = page_response(page).model_dump_json().encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(content)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


def _json(scope: Scope) -> bool:
    """A body declared as JSON, as every client sends a release (else: FastAPI's way)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"application/json")
    return False


async def _read(receive: Receive) -> tuple[bytes, list[Message]]:
    messages, chunks = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` again from the start: the messages already read, then the rest."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
