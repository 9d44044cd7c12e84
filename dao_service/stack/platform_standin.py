"""A local stand-in for the platforms, for the tests and the local stack (these machines
reach no platform). It answers the endpoints the service uses, in the formats the
platforms document, and nothing else:

  Reddit  GET  /api/info.json?id=t1_…,t3_…   a Listing of things by fullname
          GET  /api/v1/authorize              OAuth 2.0 sign-in (authorization code)
          POST /api/v1/access_token           code -> bearer token (HTTP Basic client auth)
          GET  /api/v1/me                     the signed-in account ({"name", "id", …})
  X       GET  /oembed?url=…/status/<id>      oEmbed JSON (author_url, html), 404 if gone
          GET  /i/oauth2/authorize            OAuth 2.0 sign-in with PKCE (S256)
          POST /2/oauth2/token                code -> bearer token
          GET  /2/users/me                    {"data": {"id", "name", "username"}}

What the platforms hold is published through `/standin/…` (the stand-in's own, no
platform has them): as if the accounts had posted their items. The sign-in page asks
for an account name, as a platform's login would; there are no passwords.
"""

import base64
import csv
import hashlib
import html
import io
import json
import os
import re
import secrets
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import uvicorn
from fastapi import FastAPI, Form, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

# The client the local stack's service is registered as (a stand-in's, not a secret).
LOCAL_CLIENT_ID = "datadao-local"
LOCAL_CLIENT_SECRET = "stand-in-only-not-a-secret"
TWEET_FILE = re.compile(r"^data/(tweets?|tweets-part\d+)\.js$")
STATUS = re.compile(r"/status(?:es)?/(\d+)")


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = digits[digit] + out
        if not number:
            return out


@dataclass
class Grant:
    platform: str
    account: str
    client_id: str
    redirect_uri: str
    code_challenge: str | None


@dataclass
class PlatformContent:
    """What the stand-in platforms show: Reddit things by fullname, tweets by id, and
    the accounts (name -> id) that can sign in."""

    reddit: dict[str, dict[str, Any]] = field(default_factory=dict)
    tweets: dict[str, dict[str, str]] = field(default_factory=dict)
    accounts: dict[str, dict[str, str]] = field(default_factory=lambda: {"reddit": {}, "x": {}})
    clients: dict[str, str] = field(default_factory=lambda: {LOCAL_CLIENT_ID: LOCAL_CLIENT_SECRET})
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (platform, name)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Where published items are kept across restarts: one JSON line per publication,
    # appended (rewriting everything on each one grew with the square of the items).
    saved_to: Path | None = None

    @classmethod
    def kept_in(cls, path: Path) -> "PlatformContent":
        content = cls(saved_to=path)
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    kept = json.loads(line)
                except ValueError:  # a line cut short by a crash: its export is republished
                    continue
                content.reddit.update(kept["reddit"])
                content.tweets.update(kept["tweets"])
                for platform, accounts in kept["accounts"].items():
                    content.accounts.setdefault(platform, {}).update(accounts)
        return content

    def _save(self, things: list[dict[str, Any]], tweets: list[dict[str, str]]) -> None:
        if self.saved_to is None:
            return
        with self.lock:
            line = json.dumps({
                "reddit": {str(thing["name"]): thing for thing in things},
                "tweets": {tweet["id"]: tweet for tweet in tweets},
                "accounts": self.accounts,
            })  # fmt: skip
            with open(self.saved_to, "a") as kept:
                kept.write(line + "\n")

    def account_id(self, platform: str, name: str) -> str:
        """The account's id, made up on first sight (Reddit: base36; X: digits)."""
        with self.lock:
            known = self.accounts[platform]
            for existing, account_id in known.items():
                if existing.lower() == name.lower():
                    return account_id
            number = int.from_bytes(hashlib.sha256(name.lower().encode()).digest()[:6], "big")
            known[name] = base36(number) if platform == "reddit" else str(number)
            return known[name]

    def publish_reddit(self, things: list[dict[str, Any]]) -> None:
        for thing in things:
            self.account_id("reddit", str(thing["author"]))
            self.reddit[str(thing["name"])] = thing

    def publish_export(self, data: bytes) -> int:
        """Hold what an export's account posted; the number of items."""
        things, tweets = export_items(data)
        self.publish_reddit(things)
        self.publish_tweets(tweets)
        self._save(things, tweets)
        return len(things) + len(tweets)

    def publish_tweets(self, tweets: list[dict[str, str]]) -> None:
        for tweet in tweets:
            with self.lock:
                self.accounts["x"].setdefault(tweet["username"], tweet.get("account_id", ""))
            self.tweets[tweet["id"]] = tweet


def stand_in_env(url: str) -> dict[str, str]:
    """The service's settings that point every platform URL at a stand-in at `url`."""
    return {
        "DATADAO_REDDIT_API_URL": url,
        "DATADAO_REDDIT_OAUTH_API_URL": url,
        "DATADAO_X_OEMBED_URL": f"{url}/oembed",
        "DATADAO_X_AUTHORIZE_URL": f"{url}/i/oauth2/authorize",
        "DATADAO_X_API_URL": url,
        "DATADAO_REDDIT_CLIENT_ID": LOCAL_CLIENT_ID,
        "DATADAO_REDDIT_CLIENT_SECRET": LOCAL_CLIENT_SECRET,
        "DATADAO_X_CLIENT_ID": LOCAL_CLIENT_ID,
        "DATADAO_X_CLIENT_SECRET": LOCAL_CLIENT_SECRET,
    }


def export_items(data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(Reddit things, tweets) as the platform shows the items of an export (a Reddit
    data-request zip or an X archive): what its account posted, for the stand-in to hold."""
    things: list[dict[str, Any]] = []
    tweets: list[dict[str, str]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        if "statistics.csv" in names:
            stats = {r["statistic"]: r["value"] for r in _csv(archive, "statistics.csv")}
            author = stats["account name"]
            for file, kind in (("posts.csv", "t3"), ("comments.csv", "t1")):
                for row in _csv(archive, file) if file in names else []:
                    moment = datetime.strptime(row["date"], "%Y-%m-%d %H:%M:%S UTC")
                    thing: dict[str, Any] = {
                        "id": row["id"], "name": f"{kind}_{row['id']}", "author": author,
                        "subreddit": row.get("subreddit", ""),
                        "created_utc": moment.replace(tzinfo=UTC).timestamp(),
                        "permalink": row.get("permalink", ""),
                    }  # fmt: skip
                    if kind == "t1":
                        thing["body"] = row.get("body", "")
                    else:
                        thing["title"], thing["selftext"] = (
                            row.get("title", ""),
                            row.get("body", ""),
                        )
                    things.append(thing)
        elif "data/account.js" in names:
            account = _ytd(archive, "data/account.js")[0]["account"]
            for name in sorted(n for n in names if TWEET_FILE.match(n)):
                for entry in _ytd(archive, name):
                    tweet = entry["tweet"]
                    text = tweet.get("full_text") or tweet.get("text", "")
                    tweets.append(
                        {
                            "id": str(tweet["id_str"]),
                            "username": account["username"],
                            "account_id": str(account["accountId"]),
                            "text": text,
                        }
                    )
    return things, tweets


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def _ytd(archive: zipfile.ZipFile, name: str) -> Any:
    text = archive.read(name).decode()
    return json.loads(text[text.index("=") + 1 :])


def create_app(content: PlatformContent | None = None) -> FastAPI:
    """The stand-in over `content`; without it (the local stack's process), over the
    items kept in $DATADAO_STAND_IN_STATE."""
    app = FastAPI(title="Platform stand-in (Reddit, X)", docs_url=None, redoc_url=None)
    if content is None:
        kept = os.environ.get("DATADAO_STAND_IN_STATE")
        content = PlatformContent.kept_in(Path(kept)) if kept else PlatformContent()
    store = content
    app.state.content = store

    @app.get("/api/info.json")
    def reddit_info(id: str = Query("")) -> dict[str, Any]:
        names = [n for n in id.split(",") if n][:100]
        children = [
            {"kind": name[:2], "data": store.reddit[name]} for name in names if name in store.reddit
        ]
        return {
            "kind": "Listing",
            "data": {"after": None, "dist": len(children), "modhash": "", "geo_filter": "",
                     "children": children, "before": None},
        }  # fmt: skip

    @app.get("/oembed", response_model=None)
    def x_oembed(url: str = Query(...)) -> JSONResponse | dict[str, Any]:
        match = STATUS.search(url)
        tweet = store.tweets.get(match.group(1)) if match else None
        if tweet is None:
            return JSONResponse({"errors": [{"message": "not found"}]}, status_code=404)
        author = tweet["username"]
        link = f"https://twitter.com/{author}/status/{tweet['id']}"
        text = html.escape(tweet["text"]).replace("\n", "<br>")
        markup = (
            f'<blockquote class="twitter-tweet"><p lang="en" dir="ltr">{text}</p>&mdash; '
            f'{html.escape(author)} (@{html.escape(author)}) <a href="{link}">a date</a>'
            "</blockquote>"
        )
        return {
            "url": link, "author_name": author, "author_url": f"https://twitter.com/{author}",
            "html": markup, "width": 550, "height": None, "type": "rich",
            "cache_age": "3153600000", "provider_name": "Twitter",
            "provider_url": "https://twitter.com", "version": "1.0",
        }  # fmt: skip

    def sign_in_page(platform: str, request: Request) -> HTMLResponse:
        query = request.query_params
        if query.get("response_type") != "code" or query.get("client_id") not in store.clients:
            raise HTTPException(400, "unknown client_id or response_type is not code")
        if platform == "x" and query.get("code_challenge_method") != "S256":
            raise HTTPException(400, "X requires PKCE with code_challenge_method=S256")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        return HTMLResponse(
            f"<!doctype html><title>Sign in ({platform} stand-in)</title>"
            f'<form method="post" action="/standin/{platform}/authorize">{hidden}'
            f'<label>Account <input name="account" autofocus></label>'
            f'<button type="submit">Allow</button></form>'
        )

    @app.get("/api/v1/authorize")
    def reddit_authorize(request: Request) -> HTMLResponse:
        return sign_in_page("reddit", request)

    @app.get("/i/oauth2/authorize")
    def x_authorize(request: Request) -> HTMLResponse:
        return sign_in_page("x", request)

    @app.post("/standin/{platform}/authorize")
    def approve(
        platform: str,
        account: str = Form(...),
        client_id: str = Form(...),
        redirect_uri: str = Form(...),
        state: str = Form(""),
        code_challenge: str | None = Form(None),
    ) -> RedirectResponse:
        code = secrets.token_urlsafe(16)
        store.account_id(platform, account)
        store.grants[code] = Grant(platform, account, client_id, redirect_uri, code_challenge)
        glue = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(
            f"{redirect_uri}{glue}{urlencode({'code': code, 'state': state})}", 302
        )

    def issue_token(
        platform: str, form: dict[str, str], authorization: str | None
    ) -> dict[str, Any]:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization and authorization.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if store.clients.get(client_id) != secret:
            raise HTTPException(401, "invalid_client")
        grant = store.grants.pop(form.get("code", ""), None)
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.platform != platform
            or grant.client_id != client_id
            or grant.redirect_uri != form.get("redirect_uri")
        ):
            raise HTTPException(400, "invalid_grant")
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if digest.decode() != grant.code_challenge:
                raise HTTPException(400, "invalid_grant: code_verifier does not match")
        token = secrets.token_urlsafe(24)
        store.tokens[token] = (platform, grant.account)
        scope = "identity" if platform == "reddit" else "users.read tweet.read"
        return {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": scope}

    @app.post("/api/v1/access_token")
    async def reddit_token(
        request: Request, authorization: str | None = Header(None)
    ) -> dict[str, Any]:
        form = {k: str(v) for k, v in (await request.form()).items()}
        return issue_token("reddit", form, authorization)

    @app.post("/2/oauth2/token")
    async def x_token(request: Request, authorization: str | None = Header(None)) -> dict[str, Any]:
        form = {k: str(v) for k, v in (await request.form()).items()}
        return issue_token("x", form, authorization)

    def signed_in(platform: str, authorization: str | None) -> str:
        token = (authorization or "").removeprefix("Bearer ").removeprefix("bearer ")
        holder = store.tokens.get(token)
        if holder is None or holder[0] != platform:
            raise HTTPException(401, "invalid or expired token")
        return holder[1]

    @app.get("/api/v1/me")
    def reddit_me(authorization: str | None = Header(None)) -> dict[str, Any]:
        name = signed_in("reddit", authorization)
        return {"name": name, "id": store.account_id("reddit", name), "verified": True}

    @app.get("/2/users/me")
    def x_me(authorization: str | None = Header(None)) -> dict[str, Any]:
        name = signed_in("x", authorization)
        return {"data": {"id": store.account_id("x", name), "name": name, "username": name}}

    @app.post("/standin/exports")
    async def publish_export(request: Request) -> dict[str, int]:
        """The body is an export zip: its account's items appear on the platform."""
        try:
            return {"published": store.publish_export(await request.body())}
        except (zipfile.BadZipFile, KeyError, ValueError, IndexError, TypeError) as exc:
            raise HTTPException(400, f"not a Reddit or X export: {exc!r}") from None

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


@contextmanager
def serving(content: PlatformContent, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the stand-in in a thread of this process; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(content), host=host, port=port, log_level="warning", ws="none")
    )
    thread = threading.Thread(target=server.run, name="platform-stand-in", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the platform stand-in did not start")
        threading.Event().wait(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
