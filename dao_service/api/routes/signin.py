"""Sign-in with the platform: start (redirect to the platform), callback (back with a
code: the service asks the platform who signed in and hands out a sign-in pass), and
reading a pass back (the page shows whom it names)."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from dao_service.api.deps import ChainDep
from dao_service.api.routes.contributions import ERRORS, _address, _hex
from dao_service.api.schemas import SignInPass, SignInRequest
from dao_service.exceptions import SignInRefused
from dao_service.intake.signin import SignIn

router = APIRouter(prefix="/api/signin", tags=["sign-in"])
COOKIE = "datadao_signin"


def sign_in(request: Request) -> SignIn:
    service: SignIn = request.app.state.sign_in
    return service


@router.get("/{platform}/request", response_model=SignInRequest, responses=ERRORS)
def sign_in_request(request: Request, platform: str, wallet: str, chain: ChainDep) -> SignInRequest:
    """What the wallet signs (EIP-712, `eth_signTypedData_v4`) before it signs in with the
    platform: the pass will name this wallet, and only because it signed."""
    dao = chain()
    typed = sign_in(request).request(
        platform, _address(wallet, "wallet"), dao.chain_id, dao.registry_address
    )
    message = typed["message"]
    return SignInRequest(nonce=message["nonce"], expires=message["expires"], typed_data=typed)


@router.get("/{platform}", responses={302: {"description": "to the platform"}, **ERRORS})
def start(
    request: Request,
    platform: str,
    wallet: str,
    chain: ChainDep,
    nonce: str = "",
    expires: int = Query(0, ge=0, le=2**63 - 1),
    signature: str = "",
    return_to: str = "",
) -> RedirectResponse:
    """Send the contributor to the platform to sign in, once the wallet's signature over
    its request (from `/{platform}/request`) is checked; `return_to` (a path of this
    service, e.g. the form) gets the pass in its fragment, else a page shows it."""
    if return_to and not (return_to.startswith("/") and not return_to.startswith("//")):
        raise SignInRefused("return_to must be a path on this service.")
    address = _address(wallet, "wallet")
    if not signature:
        raise SignInRefused(
            "A sign-in names a wallet only with its signature: sign the request from "
            f"/api/signin/{platform}/request with the wallet, and pass nonce, expires and "
            "signature."
        )
    dao = chain()
    service = sign_in(request)
    service.check_request(
        platform, address, nonce, expires, _hex(signature, "signature", 65),
        dao.chain_id, dao.registry_address,
    )  # fmt: skip
    url, pending = service.start(platform, address, return_to)
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
