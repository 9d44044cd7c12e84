"""Builds a custody node's FastAPI application from its settings."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dao_service.api.body_limits import BodyLimitMiddleware
from dao_service.api.errors import answer_refusals
from dao_service.custody.api import router
from dao_service.custody.chain import NodeChainProvider
from dao_service.custody.node_key import NodeKey
from dao_service.custody.release import ShareRelease
from dao_service.custody.release_routes import ReleaseRoutes
from dao_service.custody.settings import NodeSettings, get_node_settings
from dao_service.custody.settlement import SettlementRelease
from dao_service.custody.settlement import router as settlement_router
from dao_service.custody.shredding import Shredder
from dao_service.keys.grants import SharedGrants
from dao_service.storage.database import make_engine, migrate

NODE_REQUEST_BYTES = 1024 * 1024  # a deposit is a few kB; a release request less
NODE_RECEIVING_BYTES = 64 * 1024 * 1024  # every body being received at once


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
        app.state.settlement = SettlementRelease(app.state.release, chain)
        shredder = Shredder(engine, chain, chosen.shred_poll_seconds)
        grants.start()
        shredder.start()
        # As in the service (main.py): what start-up loaded is kept out of the collector's
        # sight, so that a full collection does not stall releases.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            shredder.stop()
            grants.stop()
            app.state.release.close()
            engine.dispose()

    app = FastAPI(
        # FastAPI's OpenTelemetry, off: with no provider configured it still asks the
        # globals on each request, ~80 us of a release's few hundred (as in the service).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="Data DAO custody node",
        summary="Holds one share of every file key; releases it to granted renters.",
        lifespan=lifespan,
    )
    app.include_router(router)
    app.include_router(settlement_router)  # a validator settling a valued rental
    # Releases, most requests, without FastAPI's routing (inside the body limits).
    app.add_middleware(ReleaseRoutes)
    # Deposits, destructions and key requests are small JSON bodies: limited before read.
    app.add_middleware(
        BodyLimitMiddleware,
        limits=[],
        default_max_bytes=NODE_REQUEST_BYTES,
        in_flight_cap=NODE_RECEIVING_BYTES,
    )

    answer_refusals(app)

    return app
