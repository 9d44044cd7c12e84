"""Builds a validator node's FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dao_service.core.config import get_settings
from dao_service.exceptions import DEPENDENCY_RETRY_AFTER, DataDaoError, ServiceBusy
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

    @app.exception_handler(DataDaoError)
    async def _refused(_: Request, exc: DataDaoError) -> JSONResponse:
        response = JSONResponse(status_code=exc.status, content={"detail": exc.user_message})
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(requests.ConnectionError)
    @app.exception_handler(requests.Timeout)
    async def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
        busy = ServiceBusy("The chain or IPFS node does not answer.", DEPENDENCY_RETRY_AFTER)
        return await _refused(request, busy)

    return app
