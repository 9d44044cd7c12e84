"""Sign-in with the platform (OAuth 2.0 authorization code, PKCE), through Authlib.

The wallet first signs a sign-in request (EIP-712 `PlatformSignIn`: the wallet, the
platform, this service, the service's nonce and an expiry): only a wallet's own
signature names it. The contributor then signs in on Reddit or X; the service exchanges
the code for a token and asks the platform's "me" endpoint who that is. The answer
becomes a sign-in pass: the platform's account id and name, bound to the wallet that
signed the request, tagged with the service's custody MAC and short-lived. An upload
carrying the pass is validated with that account (validators' "platform sign-in" check
compares it with the export's).
Nothing is stored: the pending sign-in travels in an HttpOnly cookie, the pass with the
contributor, so any number of API processes can serve either half.
"""

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import OAuth2Error
from requests import RequestException

from dao_service.chain.attestations import recover_typed_signer, sign_in_typed_data
from dao_service.core.config import Settings
from dao_service.core.custody import CustodyKey
from dao_service.exceptions import SignInRefused
from validators import SignedInAccount

PENDING_SECONDS = 600
PASS_SECONDS = 1800
USER_AGENT = "datadao-service/1.0 (sign-in)"


@dataclass(frozen=True)
class OAuthPlatform:
    name: str  # in the URL: "reddit" or "x"
    source: str  # the export source it signs in for
    authorize_url: str
    token_url: str
    me_url: str
    scope: str
    client_id: str
    client_secret: str

    def account(self, me: dict[str, Any]) -> tuple[str, str]:
        """(account id, name) from the "me" answer, in the platform's documented shape."""
        if self.name == "x":
            me = me.get("data") or {}
            return str(me["id"]), str(me["username"])
        return str(me["id"]), str(me["name"])


def platforms(settings: Settings) -> dict[str, OAuthPlatform]:
    reddit, x_api = settings.reddit_api_url.rstrip("/"), settings.x_api_url.rstrip("/")
    return {
        "reddit": OAuthPlatform(
            "reddit", "reddit", f"{reddit}/api/v1/authorize", f"{reddit}/api/v1/access_token",
            f"{settings.reddit_oauth_api_url.rstrip('/')}/api/v1/me", "identity",
            settings.reddit_client_id, settings.reddit_client_secret,
        ),
        "x": OAuthPlatform(
            "x", "twitter", settings.x_authorize_url, f"{x_api}/2/oauth2/token",
            f"{x_api}/2/users/me", "users.read tweet.read",
            settings.x_client_id, settings.x_client_secret,
        ),
    }  # fmt: skip


def _seal(custody: CustodyKey, purpose: str, value: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(value, sort_keys=True).encode()).decode()
    return f"{body}.{custody.mac(f'{purpose}:{body}')}"


def _open(custody: CustodyKey, purpose: str, sealed: str) -> dict[str, Any]:
    body, _, tag = sealed.partition(".")
    if not sealed.isascii():  # (compare_digest refuses non-ASCII text with a TypeError)
        raise SignInRefused("The sign-in pass is garbled: it holds characters no pass has.")
    if not secrets.compare_digest(tag, custody.mac(f"{purpose}:{body}")):
        raise SignInRefused("The sign-in pass was not issued by this service.")
    try:
        value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body))
    except (binascii.Error, ValueError):
        raise SignInRefused("The sign-in pass is garbled.") from None
    if value.get("expires", 0) < time.time():
        raise SignInRefused("The sign-in has expired; sign in with the platform again.")
    return value


class SignIn:
    def __init__(self, settings: Settings, custody: CustodyKey) -> None:
        self.platforms, self.custody = platforms(settings), custody
        self.callback_base = f"{settings.public_url}/api/signin"

    def platform(self, name: str) -> OAuthPlatform:
        platform = self.platforms.get(name)
        if platform is None:
            raise SignInRefused(f"No sign-in with {name!r}: use reddit or x.")
        if not platform.client_id:
            raise SignInRefused(f"This service has no OAuth client registered with {name}.")
        return platform

    def _session(self, platform: OAuthPlatform) -> OAuth2Session:
        session = OAuth2Session(
            platform.client_id,
            platform.client_secret,
            scope=platform.scope,
            redirect_uri=f"{self.callback_base}/{platform.name}/callback",
            code_challenge_method="S256",
        )
        session.headers["User-Agent"] = USER_AGENT
        return session

    def request(self, name: str, wallet: str, chain_id: int, registry: str) -> dict[str, Any]:
        """What `wallet` signs to start a sign-in with `name` (EIP-712 typed data): its
        nonce is the service's tag over the wallet, the platform and the expiry, so nothing
        is stored and only this service's requests are taken."""
        self.platform(name)
        expires = int(time.time()) + PENDING_SECONDS
        nonce = self.custody.mac(f"sign-in-request:{wallet.lower()}:{name}:{expires}")
        return sign_in_typed_data(
            wallet, name, self.callback_base, nonce, expires, chain_id, registry
        )

    def check_request(
        self, name: str, wallet: str, nonce: str, expires: int, signature: bytes,
        chain_id: int, registry: str,
    ) -> None:  # fmt: skip
        """SignInRefused unless `wallet` signed this service's request to sign in with `name`."""
        expected = self.custody.mac(f"sign-in-request:{wallet.lower()}:{name}:{expires}")
        if not nonce.isascii() or not secrets.compare_digest(nonce, expected):
            raise SignInRefused(
                "The sign-in request was not issued by this service for this wallet: ask "
                f"for one at /api/signin/{name}/request."
            )
        if expires < time.time():
            raise SignInRefused("The sign-in request has expired; ask for a new one.")
        typed = sign_in_typed_data(
            wallet, name, self.callback_base, nonce, expires, chain_id, registry
        )
        try:
            signer = recover_typed_signer(typed, signature)
        except (ValueError, TypeError) as exc:
            raise SignInRefused(f"The sign-in request's signature is malformed: {exc}.") from None
        if signer.lower() != wallet.lower():
            raise SignInRefused(
                f"The sign-in request is signed by {signer}, not by {wallet}: a sign-in pass "
                "names only the wallet that signed for it."
            )

    def start(self, name: str, wallet: str, return_to: str) -> tuple[str, str]:
        """(the platform's authorization URL, the pending sign-in for the cookie), for a
        wallet whose signed request `check_request` accepted."""
        platform = self.platform(name)
        verifier = secrets.token_urlsafe(48)
        with self._session(platform) as session:
            url, state = session.create_authorization_url(
                platform.authorize_url, code_verifier=verifier, duration="temporary"
            )
        expires = int(time.time()) + PENDING_SECONDS
        pending = {"platform": name, "wallet": wallet, "state": state, "verifier": verifier,
                   "return_to": return_to, "expires": expires}  # fmt: skip
        return url, _seal(self.custody, "pending", pending)

    def finish(self, name: str, code: str, state: str, cookie: str) -> tuple[str, str]:
        """(the sign-in pass, where to return) once the platform sent the contributor back."""
        platform = self.platform(name)
        if not cookie:
            raise SignInRefused("No sign-in was started in this browser (or it expired).")
        pending = _open(self.custody, "pending", cookie)
        if pending["platform"] != name or not secrets.compare_digest(pending["state"], state):
            raise SignInRefused("The sign-in's state does not match: start it again.")
        try:
            with self._session(platform) as session:
                session.fetch_token(
                    platform.token_url, code=code, state=state, code_verifier=pending["verifier"]
                )
                answer = session.get(platform.me_url, timeout=10)
                answer.raise_for_status()
                account_id, account_name = platform.account(answer.json())
        except (OAuth2Error, RequestException, KeyError, ValueError, TypeError) as exc:
            raise SignInRefused(f"Signing in with {name} failed: {exc}") from None
        signed_in = {
            "platform": name,
            "source": platform.source,
            "account_id": account_id,
            "account_name": account_name,
            "wallet": pending["wallet"],
            "expires": int(time.time()) + PASS_SECONDS,
        }
        return _seal(self.custody, "pass", signed_in), str(pending["return_to"])

    def read(self, sealed: str) -> dict[str, Any]:
        return _open(self.custody, "pass", sealed)

    def account_for(self, sealed: str, wallet: str) -> SignedInAccount:
        """The signed-in account of a pass, which must have been issued to `wallet`."""
        value = self.read(sealed)
        if str(value["wallet"]).lower() != wallet.lower():
            raise SignInRefused("The sign-in pass was issued to another wallet.")
        return SignedInAccount(value["source"], value["account_id"], value["account_name"])
