"""Sign-in with the platform: start (redirect to the platform), callback (back with a
code: the service asks the platform who signed in and hands out a sign-in pass), and
reading a pass back (the page shows whom it names)."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from dao_service.api.routes.contributions import ERRORS, _address
from dao_service.api.schemas import SignInPass
from dao_service.intake.signin import SignIn, SignInRefused

router = APIRouter(prefix="/api/signin", tags=["sign-in"])
COOKIE = "datadao_signin"


def sign_in(request: Request) -> SignIn:
    service: SignIn = request.app.state.sign_in
    return service


@router.get("/{platform}", responses={302: {"description": "to the platform"}, **ERRORS})
def start(request: Request, platform: str, wallet: str, return_to: str = "") -> RedirectResponse:
    """Send the contributor to the platform to sign in; `return_to` (a path of this
    service, e.g. the form) gets the pass in its fragment, else a page shows it."""
    if return_to and not (return_to.startswith("/") and not return_to.startswith("//")):
        raise SignInRefused("return_to must be a path on this service.")
    url, pending = sign_in(request).start(platform, _address(wallet, "wallet"), return_to)
    response = RedirectResponse(url, 302)
    response.set_cookie(
        COOKIE, pending, max_age=600, httponly=True, samesite="lax", path="/api/signin"
    )
    return response


@router.get("/{platform}/callback", response_model=None, responses=ERRORS)
async def callback(
    request: Request,
    platform: str,
    code: str = "",
    state: str = "",
    error: str = "",
    pending: Annotated[str, Cookie(alias=COOKIE)] = "",
) -> RedirectResponse | HTMLResponse:
    if error or not code:
        raise SignInRefused(f"The platform did not sign you in ({error or 'no code'}).")
    issued, return_to = await run_in_threadpool(
        sign_in(request).finish, platform, code, state, pending
    )
    if return_to:
        response: RedirectResponse | HTMLResponse = RedirectResponse(
            f"{return_to}#signin={quote(issued)}", 302
        )
    else:
        response = HTMLResponse(
            "<!doctype html><title>Signed in</title><p>Signed in. Paste this sign-in pass "
            f'where you were asked for it:</p><pre id="pass">{issued}</pre>'
        )
    response.delete_cookie(COOKIE, path="/api/signin")
    return response


@router.get("/pass/read", response_model=SignInPass, responses=ERRORS)
def read(request: Request, value: str) -> SignInPass:
    """Whom a sign-in pass names, and until when it is valid."""
    return SignInPass(**sign_in(request).read(value))
