"""Builds the FastAPI application: storage, custody, chain, the intake worker, the routes
and the web form."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import ipfshttpclient.exceptions
import requests
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig
from sqlalchemy.exc import OperationalError

from dao_service.api.body_limits import FORM_FIELDS_BYTES, BodyLimit, BodyLimitMiddleware
from dao_service.api.errors import answer_refusals, refusal
from dao_service.api.routes import (
    contributions,
    contributors,
    earnings,
    health,
    keys,
    ownership,
    signin,
)
from dao_service.core import paths
from dao_service.core.config import get_settings
from dao_service.earnings.service import EarningsService
from dao_service.exceptions import DEPENDENCY_RETRY_AFTER, ServiceBusy
from dao_service.intake.signin import SignIn
from dao_service.keys.grants import SharedGrants
from dao_service.keys.release import KeyReleaseService
from dao_service.runtime import open_runtime
from dao_service.storage.locks import SharedLock
from dao_service.storage.rate_limits import is_locked

WEB = Path(__file__).parent / "web"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    with open_runtime(settings) as parts:
        app.state.engine, app.state.ipfs, app.state.chain, app.state.intake = (
            parts.engine,
            parts.ipfs,
            parts.chain,
            parts.intake,
        )
        grants = SharedGrants(parts.engine, parts.chain, settings.block_poll_seconds)
        app.state.key_release = KeyReleaseService(
            settings, parts.engine, parts.custody, parts.chain, grants
        )
        app.state.earnings = EarningsService(
            settings,
            parts.sessions,
            parts.intake.intake_key,
            parts.custody,
            parts.ipfs,
            parts.chain,
            SharedLock(parts.engine, "earnings").held,
            parts.co_validators,
        )
        app.state.sign_in = SignIn(settings, parts.custody)
        parts.intake.start()  # resumes whatever a crash or restart left unfinished
        app.state.earnings.start()
        grants.start()
        # What start-up loaded lives as long as the process: out of the collector's
        # sight, a full collection scans only what requests left behind (scanning it all
        # stalled the event loop ~150 ms every few thousand key releases).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            grants.stop()
            app.state.key_release.close()
            app.state.earnings.stop()
            parts.intake.stop()


def telemetry(enabled: bool) -> TelemetryConfig:
    """FastAPI's OpenTelemetry spans, metrics and logs, through the providers configured
    globally. Off unless asked for: a request costs ~80 us more even with none configured
    (it asks the globals), a tenth of a key release."""
    return {"tracing": enabled, "metrics": enabled, "logs": enabled}


def create_app() -> FastAPI:
    app = FastAPI(
        telemetry=telemetry(get_settings().telemetry),
        title="Data DAO service",
        summary="Contribution intake, encrypted storage, attested minting and key release.",
        lifespan=lifespan,
    )
    app.include_router(keys.router)  # first: requests are matched in this order
    app.include_router(health.router)
    app.include_router(contributions.router)
    app.include_router(earnings.router)
    app.include_router(contributors.router)
    app.include_router(signin.router)
    app.include_router(ownership.router)

    @app.get("/vendor/zip.js", include_in_schema=False)
    def zip_library() -> FileResponse:
        """The page's zip reader, from the npm package (package-lock.json pins it)."""
        return FileResponse(paths.zip_js(), media_type="text/javascript")

    answer_refusals(app)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # A write the database keeps locked past its busy timeout, or a database server
        # that does not answer (restarting, say): come back later. Accepted uploads wait.
        if is_locked(exc):
            busy = ServiceBusy("The service's database is busy; try again shortly.")
        else:
            busy = ServiceBusy(
                "The database does not answer; try again shortly.", DEPENDENCY_RETRY_AFTER
            )
        return refusal(busy)

    @app.exception_handler(requests.ConnectionError)
    @app.exception_handler(requests.Timeout)
    @app.exception_handler(ipfshttpclient.exceptions.ConnectionError)
    @app.exception_handler(ipfshttpclient.exceptions.TimeoutError)
    async def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
        # The chain or the IPFS node does not answer (restarting, say): come back later.
        # What was accepted before waits in the spool; the worker retries it by itself.
        part = dependency_of(exc)
        return refusal(
            ServiceBusy(f"The {part} does not answer; try again shortly.", DEPENDENCY_RETRY_AFTER)
        )

    app.mount("/", StaticFiles(directory=WEB, html=True), name="web")
    add_body_limits(app)
    document_common_errors(app)
    return app


def dependency_of(exc: Exception) -> str:
    """Which part did not answer, as a user knows it."""
    if isinstance(exc, ipfshttpclient.exceptions.Error):
        return "IPFS node"
    request = getattr(exc, "request", None)
    url = str(getattr(request, "url", "") or "")
    if url and url.startswith(get_settings().chain_rpc_url):
        return "chain"
    return "chain or IPFS node"


# What any operation that takes a body may answer besides its own errors: FastAPI's 400
# for a body it cannot parse, and the body limits' 413 and 503 (dao_service/api/body_limits).
BODY_ERRORS = {
    "400": "The body could not be parsed (not JSON, or not a form).",
    "413": "The body is longer than this operation accepts.",
    "503": "The service is busy (see Retry-After) or a part it needs does not answer.",
}


def document_common_errors(app: FastAPI) -> None:
    """Adds BODY_ERRORS to each operation with a request body in the OpenAPI schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                if "requestBody" in operation:
                    for status, description in BODY_ERRORS.items():
                        operation["responses"].setdefault(
                            status, {"description": description, "content": error}
                        )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


SAMPLE_FIELDS_BYTES = 64 * 1024


def add_body_limits(app: FastAPI) -> None:
    """Limits on request bodies, applied before FastAPI reads a byte of one."""
    settings = get_settings()
    upload = settings.max_upload_bytes + FORM_FIELDS_BYTES
    app.add_middleware(
        BodyLimitMiddleware,
        limits=[
            BodyLimit("/api/contributions", upload),
            BodyLimit("/api/contributions/preview", settings.preview_max_bytes + FORM_FIELDS_BYTES),
            BodyLimit("/api/rentals/samples", settings.max_sample_bytes + SAMPLE_FIELDS_BYTES),
        ],
        default_max_bytes=settings.max_request_bytes,
        in_flight_cap=settings.max_receiving_bytes,
    )


app = create_app()
