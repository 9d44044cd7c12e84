"""Spot-checks against the platform (the local stand-in, speaking Reddit's and X's
documented formats): a fabricated export fails, a genuine one passes, an unreachable
platform is reported as not available, never passed."""

import socket
from datetime import timedelta

from dao_service.stack.sample_exports import (
    reddit_export,
    reddit_files,
    reddit_spec,
    reddit_time,
    with_checkfile,
    x_archive,
    zip_files,
)
from tests.utils.platform_standin import StandIn
from tests.validators.conftest import CHAIN_ID, REGISTRY, WALLET, run
from validators import CheckStatus, DedupIndex, verification_code
from validators.platforms import SampledItem
from validators.platforms.sample import Sampler
from validators.sources.common import batch


def spot(result) -> tuple[CheckStatus, str]:  # type: ignore[no-untyped-def]
    check = next(c for c in result.report.authenticity if c.name == "platform spot-check")
    return check.status, check.reason


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fabricated_reddit_export() -> bytes:
    """What the issue's script wrote: an invented account, word salad, and a checkfile.csv
    it computed itself (the sample generator writes exactly that)."""
    return reddit_export(reddit_spec(seed=41, account="totally_real_user_8812"))


def test_fabricated_export_is_rejected_by_the_platform_check(
    platform: StandIn, index: DedupIndex
) -> None:
    result = run(fabricated_reddit_export(), index, platform=platform.policy(), nonce="n1")
    assert not result.report.accepted
    status, reason = spot(result)
    assert status == CheckStatus.FAIL and "Reddit has no such item" in reason
    assert any(
        r.startswith("authenticity: platform spot-check failed")
        for r in result.report.rejection_reasons
    )
    # The export's own checks all pass: only the platform can tell.
    assert all(c.status == CheckStatus.PASS for c in result.report.authenticity[:-1])
    assert len(result.report.platform_items) == 20
    assert all(i.status == CheckStatus.FAIL for i in result.report.platform_items)


def test_genuine_export_served_by_the_platform_passes(platform: StandIn, index: DedupIndex) -> None:
    export = reddit_export()
    platform.content.publish_export(export)
    result = run(export, index, platform=platform.policy(), nonce="n1")
    assert result.report.accepted, result.report.rejection_reasons
    status, reason = spot(result)
    assert status == CheckStatus.PASS and reason == "20 of 20 sampled items match Reddit"
    assert {i.item[:3] for i in result.report.platform_items} <= {"t1_", "t3_"}
    assert "platform spot-check" in result.report.required_checks


def test_someone_elses_items_or_altered_text_fail(platform: StandIn, index: DedupIndex) -> None:
    export = reddit_export()
    platform.content.publish_export(export)
    for thing in platform.content.reddit.values():  # another account really posted them
        thing["author"] = "someone_else"
    status, reason = spot(run(export, index, platform=platform.policy()))
    assert status == CheckStatus.FAIL and "posted by u/someone_else" in reason

    platform.content.publish_export(export)
    for thing in platform.content.reddit.values():
        thing["body"] = thing.get("body", "") + " (edited to say otherwise)"
        thing["selftext"] = thing.get("selftext", "") + " (edited)"
    status, reason = spot(run(export, index, platform=platform.policy()))
    assert status == CheckStatus.FAIL and "differs from the export" in reason


def test_items_deleted_since_count_by_the_policy(platform: StandIn, index: DedupIndex) -> None:
    spec = reddit_spec(seed=5, comments=60, posts=0)
    export = reddit_export(spec)
    platform.content.publish_export(export)
    things = sorted(platform.content.reddit)
    for name in things[: len(things) // 10]:  # 10 % deleted since: within 80 %
        platform.content.reddit[name].update(author="[deleted]", body="[deleted]")
    result = run(export, index, platform=platform.policy(sample_size=60))
    status, reason = spot(result)
    assert status == CheckStatus.PASS and "deleted since the export" in reason
    assert result.report.accepted

    for name in things[: len(things) // 2]:  # half gone: below the policy
        platform.content.reddit[name].update(author="[deleted]", body="[removed]")
    result = run(export, index, platform=platform.policy(sample_size=60))
    status, reason = spot(result)
    assert status == CheckStatus.FAIL and "still on Reddit (this DAO requires 80%)" in reason
    assert not result.report.accepted


def test_unreachable_platform_is_not_available_and_rejects_when_required(
    index: DedupIndex,
) -> None:
    from validators.platforms import PlatformPolicy

    away = f"http://127.0.0.1:{closed_port()}"
    required = run(reddit_export(), index, platform=PlatformPolicy(reddit_api_url=away, timeout=2))
    status, reason = spot(required)
    assert status == CheckStatus.NOT_AVAILABLE and "Reddit could not be reached" in reason
    assert not required.report.accepted
    assert "this DAO requires it" in " ".join(required.report.rejection_reasons)

    optional = PlatformPolicy(reddit_api_url=away, timeout=2, required=False)
    result = run(reddit_export(), index, platform=optional)
    assert spot(result)[0] == CheckStatus.NOT_AVAILABLE and result.report.accepted


def test_platform_answering_errors_is_not_available(platform: StandIn, index: DedupIndex) -> None:
    policy = platform.policy(reddit_api_url=f"{platform.url}/no-such-api")
    status, reason = spot(run(reddit_export(), index, platform=policy))
    assert status == CheckStatus.NOT_AVAILABLE and "answered HTTP 404" in reason


def test_x_archive_checked_through_oembed(platform: StandIn, index: DedupIndex) -> None:
    archive = x_archive()
    fabricated = run(archive, index, platform=platform.policy())
    status, reason = spot(fabricated)
    assert status == CheckStatus.FAIL and "still on X" in reason
    assert not fabricated.report.accepted

    platform.content.publish_export(archive)
    genuine = run(archive, index, platform=platform.policy())
    assert spot(genuine)[0] == CheckStatus.PASS and genuine.report.accepted

    for tweet in platform.content.tweets.values():  # real tweets, but someone else's
        tweet["username"] = "celebrity"
    status, reason = spot(run(archive, index, platform=platform.policy()))
    assert status == CheckStatus.FAIL and "posted by @celebrity on X" in reason


def test_verification_code_must_be_on_the_platform(platform: StandIn, index: DedupIndex) -> None:
    code = verification_code(WALLET, CHAIN_ID, REGISTRY)
    spec = reddit_spec(seed=3)
    spec.comments[0]["body"] = f"binding my account: {code}"
    spec.comments[0]["date"] = reddit_time(spec.export_time - timedelta(days=3))
    export = zip_files(with_checkfile(reddit_files(spec)))
    platform.content.publish_export(export)
    genuine = run(export, index, platform=platform.policy())
    codes = {c.name: c for c in genuine.report.ownership}
    assert codes["verification code"].status == CheckStatus.PASS
    assert "confirmed on the platform" in codes["verification code"].reason
    assert genuine.report.ownership_score == 1.0

    # The code written into the export only: the platform's copy has no code.
    name = f"t1_{spec.comments[0]['id']}"
    platform.content.reddit[name]["body"] = "an ordinary comment"
    forged = run(export, index, platform=platform.policy())
    code_check = next(c for c in forged.report.ownership if c.name == "verification code")
    assert code_check.status == CheckStatus.FAIL
    assert "not in the platform's copy" in code_check.reason
    assert not forged.report.accepted

    # Without the platform the export's word is not enough.
    unchecked = run(export, index)
    code_check = next(c for c in unchecked.report.ownership if c.name == "verification code")
    assert code_check.status == CheckStatus.NOT_AVAILABLE
    assert unchecked.report.ownership_score == 0.6


def test_sample_is_seeded_by_the_nonce_and_the_export() -> None:
    import numpy as np

    records = batch("comment", [f"c{i}" for i in range(1000)], [f"text {i}" for i in range(1000)],
                    np.zeros(1000, np.int64))  # fmt: skip

    def sample(seed: bytes) -> list[SampledItem]:
        sampler = Sampler(seed, 20)
        for start in range(0, 1000, 100):  # as batches stream past
            sampler.observe(records.rows(start, start + 100))
        return sampler.sample()

    first = sample(b"nonce-1")
    assert len(first) == 20 and len({i.id for i in first}) == 20
    assert sample(b"nonce-1") == first
    assert {i.id for i in sample(b"nonce-2")} != {i.id for i in first}
    assert len({i.id for i in first} & {f"c{i}" for i in range(100)}) < 10  # not the first batch


def test_records_without_ids_are_sampled_and_fail(platform: StandIn, index: DedupIndex) -> None:
    """The review's attack: a genuine export padded with invented comments that carry no
    id (so no lookup could ever find them) and a recomputed checkfile.csv."""
    import copy

    spec = reddit_spec(seed=1)
    platform.content.publish_export(reddit_export(spec))
    padded = copy.deepcopy(spec)
    template = next(c for c in spec.comments if c["body"] != "[deleted]")
    for i in range(300):
        padded.comments.append({**template, "id": "", "body": f"an invented comment {i} " * 3})
    result = run(reddit_export(padded), index, platform=platform.policy(), nonce="n1")
    status, reason = spot(result)
    assert status == CheckStatus.FAIL and "the export gives it no Reddit id" in reason
    assert not result.report.accepted


def test_someone_elses_removed_item_is_not_a_deleted_one(
    platform: StandIn, index: DedupIndex
) -> None:
    export = reddit_export()
    platform.content.publish_export(export)
    for thing in platform.content.reddit.values():  # removed by a moderator, author kept
        thing.update(author="someone_else", body="[removed]", selftext="[removed]")
    status, reason = spot(run(export, index, platform=platform.policy()))
    assert status == CheckStatus.FAIL and "posted by u/someone_else" in reason


def test_tweet_ids_of_another_time_fail_without_a_lookup(
    platform: StandIn, index: DedupIndex
) -> None:
    """A made-up tweet id gets a 404 from oEmbed, which X also answers for a deleted
    tweet; but a snowflake id carries its time, and a made-up one is of another time."""
    import random

    from dao_service.stack.sample_exports import x_spec

    spec = x_spec(seed=6)
    platform.content.publish_export(x_archive(spec))
    rng = random.Random(1)
    for item in spec.tweets:
        item["tweet"]["id_str"] = str(rng.randrange(1 << 60, 1 << 62))  # type: ignore[index]
    status, reason = spot(run(x_archive(spec), index, platform=platform.policy()))
    assert status == CheckStatus.FAIL and "made at another time" in reason


def test_the_sample_needs_the_services_secret(platform: StandIn, index: DedupIndex) -> None:
    """Seeded by the nonce and the export alone, a contributor could alter the export's
    bytes until the sample missed its invented items; the service's secret is mixed in."""
    export = reddit_export(reddit_spec(seed=5, comments=200, posts=0))
    platform.content.publish_export(export)

    def sampled(key: bytes) -> set[str]:
        result = run(export, index, platform=platform.policy(), nonce="n1", sample_key=key)
        return {item.item for item in result.report.platform_items}

    assert sampled(b"secret-1") == sampled(b"secret-1")
    assert sampled(b"secret-1") != sampled(b"secret-2")


def test_generic_export_has_no_platform_to_check_and_is_not_refused_for_it(
    platform: StandIn, index: DedupIndex
) -> None:
    texts = [
        f"A comment about the garden and the {i} tomatoes we grew this year." for i in range(9)
    ]
    export = "\n".join(f'{{"id": "{i}", "text": "{t}"}}' for i, t in enumerate(texts)).encode()
    result = run(export, index, platform=platform.policy())  # required by default
    assert spot(result) == (
        CheckStatus.NOT_AVAILABLE,
        "this kind of export has no platform to check",
    )
    assert result.report.accepted and result.report.required_checks == []
