"""Spot-checks against the platform: a random sample of an export's items, each looked
up on the platform's public endpoint, so that a fabricated export fails.

One verifier per source behind `PlatformVerifier`; the only stage of validation that
speaks to the network, and only to the URLs in the `PlatformPolicy` it is given (the
real platforms in production, a local stand-in in the tests and the local stack).
Each item: pass / fail / not available, with the reason; the verdict follows the policy.
"""

from validators.platforms.check import (
    ItemCheck,
    PlatformPolicy,
    PlatformVerifier,
    SampledItem,
    SpotCheck,
    spot_check,
)
from validators.platforms.reddit import RedditVerifier
from validators.platforms.x import XVerifier

VERIFIERS: dict[str, PlatformVerifier] = {"reddit": RedditVerifier(), "twitter": XVerifier()}

__all__ = [
    "VERIFIERS",
    "ItemCheck",
    "PlatformPolicy",
    "PlatformVerifier",
    "SampledItem",
    "SpotCheck",
    "spot_check",
]
