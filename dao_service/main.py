"""Builds the FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dao_service.api.routes import health
from dao_service.core.config import get_settings
from dao_service.storage.database import make_engine
from dao_service.storage.ipfs import IpfsStore


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    app.state.engine = make_engine(settings.database_url)
    app.state.ipfs = IpfsStore(settings.ipfs_api_url, timeout=5)
    try:
        yield
    finally:
        app.state.ipfs.close()
        app.state.engine.dispose()


def create_app() -> FastAPI:
    app = FastAPI(
        title="Data DAO service",
        summary="Contribution intake, encrypted storage, attested minting and key release.",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    return app


app = create_app()
