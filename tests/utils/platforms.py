"""The platform stand-in for tests: served in a thread, its content in the test's hands."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dao_service.stack.platforms import PlatformContent, serving
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
