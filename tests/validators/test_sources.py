"""Each export format: accepted when genuine, rejected with the reason when not."""

import json
import secrets
from datetime import timedelta

from dao_service.stack.sample_exports import (
    reddit_export,
    reddit_files,
    reddit_spec,
    with_checkfile,
    x_archive,
    x_files,
    x_spec,
    zip_files,
)
from tests.utils.platform_standin import StandIn
from tests.validators.conftest import run
from validators import CheckStatus, DedupIndex


def reasons(validation) -> str:  # type: ignore[no-untyped-def]
    return " | ".join(validation.report.rejection_reasons)


def test_genuine_reddit_export_is_accepted(index: DedupIndex, platform: StandIn) -> None:
    platform.content.publish_export(reddit_export())
    result = run(reddit_export(), index, platform=platform.policy())
    report = result.report
    assert report.accepted, reasons(result)
    assert report.source == "reddit" and report.account_id == "alice_redditor"
    assert report.total_records == 48
    assert report.low_quality_records >= 3  # the [deleted] comments
    assert report.score > 0 and report.new_records > 40
    assert all(c.status == CheckStatus.PASS for c in report.authenticity)
    assert report.fingerprint and report.fingerprint.startswith("0x")


def test_tampered_reddit_file_fails_its_checksum(index: DedupIndex) -> None:
    files = with_checkfile(reddit_files(reddit_spec()))
    files["comments.csv"] = files["comments.csv"].replace(b"python", b"pyth0n", 1)
    result = run(zip_files(files), index)
    assert not result.report.accepted
    assert "comments.csv does not match its checkfile SHA-256" in reasons(result)


def test_reddit_file_missing_from_checkfile_is_refused(index: DedupIndex) -> None:
    files = reddit_files(reddit_spec())
    listed = with_checkfile({n: d for n, d in files.items() if n != "comments.csv"})
    refused = reasons(run(zip_files({**listed, "comments.csv": files["comments.csv"]}), index))
    assert "files not in checkfile.csv: comments.csv" in refused


def test_reddit_without_checkfile_is_refused(index: DedupIndex) -> None:
    assert "checkfile.csv is missing" in reasons(run(zip_files(reddit_files(reddit_spec())), index))


def test_reddit_items_after_the_export_time_are_refused(index: DedupIndex) -> None:
    spec = reddit_spec()
    spec.comments[0]["date"] = (spec.export_time + timedelta(days=3)).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )
    result = run(zip_files(with_checkfile(reddit_files(spec))), index)
    assert "1 items dated after the export time" in reasons(result)


def test_reddit_items_before_registration_are_refused(index: DedupIndex) -> None:
    spec = reddit_spec()
    spec.posts[0]["date"] = "2010-01-01 00:00:00 UTC"
    assert "dated before the account was registered" in reasons(
        run(zip_files(with_checkfile(reddit_files(spec))), index)
    )


def test_reddit_missing_columns_are_refused(index: DedupIndex) -> None:
    files = reddit_files(reddit_spec())
    files["posts.csv"] = b"id,date\np1,2020-01-01 00:00:00 UTC\n"
    assert "posts.csv lacks columns" in reasons(run(zip_files(with_checkfile(files)), index))


def test_wrong_encoding_is_refused_naming_the_file(index: DedupIndex) -> None:
    files = reddit_files(reddit_spec())
    files["comments.csv"] = files["comments.csv"].decode().encode("utf-16")
    result = run(zip_files(with_checkfile(files)), index)
    assert "comments.csv is not UTF-8 text" in reasons(result)


def test_huge_single_field_is_refused(index: DedupIndex) -> None:
    spec = reddit_spec()
    spec.comments[1]["body"] = secrets.token_hex(1_000_000)  # 2 MB in one CSV field
    result = run(zip_files(with_checkfile(reddit_files(spec))), index)
    assert "comments.csv record 2: field larger than field limit" in reasons(result)


def test_genuine_x_archive_is_accepted_and_retweets_count_for_nothing(index: DedupIndex) -> None:
    result = run(x_archive(), index)
    report = result.report
    assert report.accepted, reasons(result)
    assert (
        report.source == "twitter"
        and report.account_id == "1234567890"
        and report.account_name == "alice_x"
    )
    assert report.low_quality_records == 3  # the "RT @" reposts
    assert report.new_records == 27


def test_x_archive_with_split_tweet_files(index: DedupIndex) -> None:
    assert run(x_archive(tweet_file="data/tweets-part1.js"), index).report.accepted
    assert run(
        x_archive(x_spec(seed=5), tweet_file="data/tweet.js"), DedupIndex(":memory:")
    ).report.accepted


def test_x_manifest_naming_another_account_is_refused(index: DedupIndex) -> None:
    files = x_files(x_spec())
    files["data/manifest.js"] = files["data/manifest.js"].replace(
        b'"userName": "alice_x"', b'"userName": "mallory"'
    )
    assert "manifest.js and account.js name different accounts" in reasons(
        run(zip_files(files), index)
    )


def test_x_manifest_count_mismatch_is_refused(index: DedupIndex) -> None:
    spec = x_spec()
    files = x_files(spec)
    spec.tweets.append(spec.tweets[0])
    files["data/tweets.js"] = x_files(spec)["data/tweets.js"]
    assert "data/tweets.js holds 31 items, the manifest says 30" in reasons(
        run(zip_files(files), index)
    )


def test_x_tweet_file_missing_from_manifest_is_refused(index: DedupIndex) -> None:
    files = x_files(x_spec())
    files["data/tweets-part2.js"] = files["data/tweets.js"]
    assert "tweet files missing from the manifest: data/tweets-part2.js" in reasons(
        run(zip_files(files), index)
    )


def test_x_future_tweets_are_refused(index: DedupIndex) -> None:
    spec = x_spec()
    spec.tweets[0]["tweet"]["created_at"] = "Mon Jan 01 00:00:00 +0000 2035"  # type: ignore[index]
    assert "dated after the export time" in reasons(run(x_archive(spec), index))


def test_x_malformed_data_file_is_refused(index: DedupIndex) -> None:
    files = x_files(x_spec())
    files["data/tweets.js"] = b'window.YTD.tweets.part0 = [ {"tweet": '
    assert "data/tweets.js holds malformed JSON" in reasons(run(zip_files(files), index))


def test_generic_json_ndjson_and_csv_are_accepted_with_signature_only_ownership(
    index: DedupIndex,
) -> None:
    items = [
        {
            "id": i,
            "text": f"item number {i} talks about rivers and bicycles {i * 7}",
            "created_at": "2024-05-01T10:00:00Z",
        }
        for i in range(5)
    ]
    as_json = json.dumps(items).encode()
    as_ndjson = b"\n".join(
        json.dumps({**i, "id": i["id"] + 100, "text": i["text"] + " again differently"}).encode()
        for i in items
    )
    as_csv = b'id,body,date\n1,"a csv row, with a comma and enough words to count",2024-01-01\n'
    for data in (as_json, as_ndjson, as_csv):
        result = run(data, DedupIndex(":memory:"))
        assert result.report.accepted, reasons(result)
        assert result.report.source == "generic"
        assert result.report.ownership_score == 0.4


def test_unrecognised_and_malformed_exports_are_refused(index: DedupIndex) -> None:
    assert "Not a recognised export" in reasons(
        run(zip_files({"a.txt": b"x", "b.txt": b"y"}), index)
    )
    assert "malformed JSON" in reasons(run(b'[{"text": ', index))
    assert "The export is empty" in reasons(run(b"", index))
    assert "neither JSON, NDJSON nor a CSV" in reasons(run(b"just some words\n", index))
