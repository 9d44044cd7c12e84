"""Builds a validator node's FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dao_service.api.body_limits import FORM_FIELDS_BYTES, BodyLimit, BodyLimitMiddleware
from dao_service.api.errors import answer_refusals, refusal
from dao_service.core.config import get_settings
from dao_service.exceptions import DEPENDENCY_RETRY_AFTER, ServiceBusy
from dao_service.validator_node import routes
from dao_service.validator_node.node import open_node


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    with open_node(get_settings()) as node:
        app.state.node = node
        yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="Data DAO validator node",
        summary="Judges uploads itself and signs only its own verdicts.",
        lifespan=lifespan,
    )
    app.include_router(routes.router)
    settings = get_settings()
    # As the service limits bodies, before a byte is read: an upload to judge, and small
    # JSON requests to sign.
    app.add_middleware(
        BodyLimitMiddleware,
        limits=[BodyLimit("/api/verdicts", settings.max_upload_bytes + FORM_FIELDS_BYTES)],
        default_max_bytes=settings.max_request_bytes,
        in_flight_cap=settings.max_receiving_bytes,
    )

    answer_refusals(app)

    @app.exception_handler(requests.ConnectionError)
    @app.exception_handler(requests.Timeout)
    async def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
        busy = ServiceBusy("The chain or IPFS node does not answer.", DEPENDENCY_RETRY_AFTER)
        return refusal(busy)

    return app
