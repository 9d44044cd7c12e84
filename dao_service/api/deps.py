"""Dependencies of the routes, as `Annotated` aliases so signatures read as types."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from dao_service.core.config import Settings, get_settings
from dao_service.storage.ipfs import IpfsStore

SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_ipfs(request: Request) -> IpfsStore:
    store: IpfsStore = request.app.state.ipfs
    return store


EngineDep = Annotated[Engine, Depends(get_engine)]
IpfsDep = Annotated[IpfsStore, Depends(get_ipfs)]
