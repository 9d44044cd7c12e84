"""Dependencies of the routes, as `Annotated` aliases so signatures read as types.

They are coroutines: FastAPI runs a plain function dependency in a worker thread, a hop
that costs more than reading an attribute of the app."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from dao_service.chain.provider import ChainProvider
from dao_service.core.config import Settings, get_settings
from dao_service.earnings.service import EarningsService
from dao_service.intake import IntakeService
from dao_service.keys.release import KeyReleaseService
from dao_service.storage.ipfs import IpfsStore

SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_ipfs(request: Request) -> IpfsStore:
    store: IpfsStore = request.app.state.ipfs
    return store


async def get_intake(request: Request) -> IntakeService:
    intake: IntakeService = request.app.state.intake
    return intake


async def get_key_release(request: Request) -> KeyReleaseService:
    service: KeyReleaseService = request.app.state.key_release
    return service


async def get_earnings(request: Request) -> EarningsService:
    service: EarningsService = request.app.state.earnings
    return service


async def get_chain(request: Request) -> ChainProvider:
    provider: ChainProvider = request.app.state.chain
    return provider


EngineDep = Annotated[Engine, Depends(get_engine)]
IpfsDep = Annotated[IpfsStore, Depends(get_ipfs)]
IntakeDep = Annotated[IntakeService, Depends(get_intake)]
KeyReleaseDep = Annotated[KeyReleaseService, Depends(get_key_release)]
ChainDep = Annotated[ChainProvider, Depends(get_chain)]
EarningsDep = Annotated[EarningsService, Depends(get_earnings)]
