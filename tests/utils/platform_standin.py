"""The platform stand-in for tests: served in a thread, its content in the test's hands."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import requests

from dao_service.stack.platform_standin import PlatformContent, serving
from validators.platforms import PlatformPolicy


@dataclass
class StandIn:
    content: PlatformContent
    url: str

    def policy(self, **overrides: object) -> PlatformPolicy:
        where = {"reddit_api_url": self.url, "x_oembed_url": f"{self.url}/oembed", "timeout": 5}
        return PlatformPolicy(**{**where, **overrides})  # type: ignore[arg-type]


@contextmanager
def platform_stand_in() -> Iterator[StandIn]:
    content = PlatformContent()
    with serving(content) as url:
        yield StandIn(content, url)


def approve_on_stand_in(authorize_url: str, account: str) -> str:
    """Sign in on the stand-in's page as `account` and allow; the redirect back (the
    service's callback URL with the code), as a browser would follow it."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    fields = dict(parse_qsl(urlsplit(authorize_url).query))
    platform = "x" if "/i/oauth2/" in authorize_url else "reddit"
    base = authorize_url.split("/api/v1/")[0].split("/i/oauth2/")[0]
    answer = requests.post(
        f"{base}/standin/{platform}/authorize",
        data={**fields, "account": account},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])
