"""Builds a custody node's FastAPI application from its settings."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dao_service.custody.api import router
from dao_service.custody.chain import NodeChainProvider
from dao_service.custody.node_key import NodeKey
from dao_service.custody.release import ShareRelease
from dao_service.custody.settings import NodeSettings, get_node_settings
from dao_service.exceptions import DataDaoError
from dao_service.keys.grants import SharedGrants
from dao_service.storage.database import make_engine, migrate


def create_app(settings: NodeSettings | None = None) -> FastAPI:
    chosen = settings or get_node_settings()
    key = NodeKey(chosen.key_file, generate=chosen.generate_key)  # a missing key stops it here

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(chosen.database_url)
        migrate(engine)
        chain = NodeChainProvider(chosen)
        grants = SharedGrants(engine, chain, chosen.block_poll_seconds)
        app.state.key, app.state.engine, app.state.chain = key, engine, chain
        app.state.release = ShareRelease(chosen, engine, key, chain, grants)
        grants.start()
        # As in the service (main.py): what start-up loaded is kept out of the collector's
        # sight, so that a full collection does not stall releases.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            grants.stop()
            app.state.release.close()
            engine.dispose()

    app = FastAPI(
        title="Data DAO custody node",
        summary="Holds one share of every file key; releases it to granted renters.",
        lifespan=lifespan,
    )
    app.include_router(router)

    @app.exception_handler(DataDaoError)
    async def _refused(_: Request, exc: DataDaoError) -> JSONResponse:
        response = JSONResponse(status_code=exc.status, content={"detail": exc.user_message})
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    return app
