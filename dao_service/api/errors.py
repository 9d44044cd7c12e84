"""The one HTTP mapping of the error family, for every app of the project (the service,
a validator node, a custody node): each error says its own status (exceptions.py), and a
503 says when to come back."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dao_service.exceptions import DataDaoError


def refusal(exc: DataDaoError) -> JSONResponse:
    response = JSONResponse(status_code=exc.status, content={"detail": exc.user_message})
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def answer_refusals(app: FastAPI) -> None:
    """Answer every error of the family with its status and its user message."""

    @app.exception_handler(DataDaoError)
    async def _refused(_: Request, exc: DataDaoError) -> JSONResponse:
        return refusal(exc)
