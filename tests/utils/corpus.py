"""The regression corpus: genuine and hostile exports from the test generators plus
mutated ones, each with the index state it is validated against.

`python -m tests.utils.corpus` records the engine's verdict on every case into
tests/validators/regression_verdicts.json; tests/validators/test_regression.py holds
the engine to the recorded accept/reject decisions. The file was first written by the
engine as it stood before the streaming rewrite (commit b4f919e), so the comparison is
against that engine, not against whatever the current code says.
"""

import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from dao_service.stack.sample_exports import (
    reddit_request_files,
    reddit_spec,
    reddit_time,
    with_checkfile,
    x_archive_files,
    x_spec,
    zip_files,
)
from tests.utils.mutations import mutated


# The exports as the platforms send them (the bytes the verdicts were recorded on).
def reddit_export(spec: object | None = None) -> bytes:
    return zip_files(with_checkfile(reddit_request_files(spec or reddit_spec())))  # type: ignore[arg-type]


def x_archive(spec: object | None = None, tweet_file: str = "data/tweets.js") -> bytes:
    return zip_files(x_archive_files(spec or x_spec(), tweet_file))  # type: ignore[arg-type]


WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OTHER_WALLET = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
CHAIN_ID = 31337
REGISTRY = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"
VERDICTS = Path(__file__).resolve().parents[1] / "validators" / "regression_verdicts.json"
MUTATED_CASES = 400


@dataclass
class Case:
    name: str
    data: bytes
    wallet: str = WALLET
    # Exports validated and committed to the index first, each as (data, wallet).
    prior: list[tuple[bytes, str]] = field(default_factory=list)
    options: dict[str, object] = field(default_factory=dict)


def _reddit(spec: object | None = None, **changes: bytes) -> bytes:
    files = reddit_request_files(spec or reddit_spec())  # type: ignore[arg-type]
    files.update(changes)
    return zip_files(with_checkfile(files))


def _generic_items(count: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    words = ["river", "garden", "winter", "coffee", "library", "chess", "music", "bicycle"]
    return [
        {"id": i, "text": " ".join(rng.choice(words) for _ in range(rng.randint(1, 25))),
         "created_at": "2024-05-01T10:00:00Z"}
        for i in range(count)
    ]  # fmt: skip


def genuine() -> Iterator[Case]:
    for seed in range(1, 6):
        yield Case(f"reddit-seed{seed}", reddit_export(reddit_spec(seed=seed, comments=30 * seed)))
        yield Case(f"x-seed{seed}", x_archive(x_spec(seed=seed, tweets=20 * seed)))
    yield Case("x-split-part1", x_archive(tweet_file="data/tweets-part1.js"))
    yield Case("x-tweet-js", x_archive(x_spec(seed=5), tweet_file="data/tweet.js"))
    yield Case("reddit-comments-only", _reddit(reddit_spec(seed=7, posts=0)))
    yield Case("reddit-posts-only", _reddit(reddit_spec(seed=8, comments=0)))
    items = _generic_items(40, 1)
    yield Case("generic-json", json.dumps(items).encode())
    yield Case("generic-ndjson", b"\n".join(json.dumps(i).encode() for i in _generic_items(30, 2)))
    rows = "".join(f'{i},"row {i}, with words about rivers and {i * 3} gardens",2024-01-01\n'
                   for i in range(20))  # fmt: skip
    yield Case("generic-csv", f"id,body,date\n{rows}".encode())
    yield Case("generic-one-word-items", json.dumps([{"text": "hi"}, {"text": "ok"}]).encode())
    repeated = [{"text": "buy my token now please friends"}] * 5
    yield Case("generic-bot-repeats", json.dumps(repeated).encode())
    yield Case("generic-one-char", json.dumps([{"text": "a" * 40}, {"text": "zz " * 20}]).encode())
    yield Case(
        "generic-deleted", json.dumps([{"text": "[deleted]"}, {"body": "[removed]"}]).encode()
    )


def hostile() -> Iterator[Case]:
    spec = reddit_spec()
    files = with_checkfile(reddit_request_files(spec))
    yield Case(
        "reddit-tampered",
        zip_files(
            {**files, "comments.csv": files["comments.csv"].replace(b"python", b"pyth0n", 1)}
        ),
    )
    yield Case("reddit-unlisted-file", zip_files({**files, "extra.csv": b"id\n1\n"}))
    yield Case("reddit-no-checkfile", zip_files(reddit_request_files(spec)))
    late = reddit_spec()
    late.comments[0]["date"] = reddit_time(late.export_time + timedelta(days=3))
    yield Case("reddit-after-export", _reddit(late))
    early = reddit_spec()
    early.posts[0]["date"] = "2010-01-01 00:00:00 UTC"
    yield Case("reddit-before-registration", _reddit(early))
    yield Case(
        "reddit-missing-columns",
        _reddit(None, **{"posts.csv": b"id,date\np1,2020-01-01 00:00:00 UTC\n"}),
    )
    plain = reddit_request_files(reddit_spec())
    yield Case(
        "reddit-utf16",
        _reddit(None, **{"comments.csv": plain["comments.csv"].decode().encode("utf-16")}),
    )
    huge = reddit_spec()
    huge.comments[1]["body"] = "ab" * 1_000_000
    yield Case("reddit-huge-field", _reddit(huge))
    nameless = reddit_request_files(reddit_spec())
    nameless["statistics.csv"] = nameless["statistics.csv"].replace(b"account name", b"acct")
    yield Case("reddit-no-account-name", zip_files(with_checkfile(nameless)))
    bad_quote = reddit_request_files(reddit_spec())
    bad_quote["comments.csv"] += b'x,"unterminated\n'
    yield Case("reddit-unterminated-quote", zip_files(with_checkfile(bad_quote)))
    xf = x_archive_files(x_spec())
    yield Case(
        "x-other-account",
        zip_files(
            {
                **xf,
                "data/manifest.js": xf["data/manifest.js"].replace(
                    b'"userName": "alice_x"', b'"userName": "m"'
                ),
            }
        ),
    )
    more = x_spec()
    grown = x_archive_files(more)
    more.tweets.append(more.tweets[0])
    yield Case(
        "x-count-mismatch",
        zip_files({**grown, "data/tweets.js": x_archive_files(more)["data/tweets.js"]}),
    )
    yield Case("x-stray-file", zip_files({**xf, "data/tweets-part2.js": xf["data/tweets.js"]}))
    future = x_spec()
    future.tweets[0]["tweet"]["created_at"] = "Mon Jan 01 00:00:00 +0000 2035"  # type: ignore[index]
    yield Case("x-future-tweet", x_archive(future))
    yield Case(
        "x-malformed",
        zip_files({**xf, "data/tweets.js": b'window.YTD.tweets.part0 = [ {"tweet": '}),
    )
    yield Case(
        "x-not-a-list", zip_files({**xf, "data/tweets.js": b'window.YTD.tweets.part0 = {"a": 1}'})
    )
    yield Case(
        "x-entry-without-tweet",
        zip_files({**xf, "data/tweets.js": b"window.YTD.tweets.part0 = [1]"}),
    )
    yield Case("x-no-assignment", zip_files({**xf, "data/tweets.js": b"[]"}))
    yield Case("unrecognised-zip", zip_files({"a.txt": b"x", "b.txt": b"y"}))
    yield Case("malformed-json", b'[{"text": ')
    yield Case("empty", b"")
    yield Case("plain-words", b"just some words\n")
    yield Case("json-not-objects", b"[1, 2, 3]")
    yield Case(
        "generic-future",
        json.dumps(
            [{"text": "from the future, many words here", "created_at": "2099-01-01T00:00:00Z"}]
        ).encode(),
    )


def ownership() -> Iterator[Case]:
    from validators import verification_code

    def with_comment(text: str, seed: int = 1) -> bytes:
        spec = reddit_spec(seed=seed)
        spec.comments[0]["body"] = text
        spec.comments[0]["date"] = reddit_time(spec.export_time - timedelta(days=10))
        return _reddit(spec)

    code = verification_code(WALLET, CHAIN_ID, REGISTRY)
    other = verification_code(OTHER_WALLET, CHAIN_ID, REGISTRY)
    yield Case("code-posted", with_comment(f"binding my account: {code.lower()}"))
    yield Case("code-of-another-wallet", with_comment(f"verifying {other}"))
    yield Case("code-required-missing", reddit_export(), options={"require_code": True})
    yield Case("code-required-present", with_comment(code), options={"require_code": True})
    yield Case("signature-bad", reddit_export(), options={"signature_verified": False})
    yield Case("signature-good", reddit_export(), options={"signature_verified": True})
    first = with_comment("first upload with some words in it", seed=1)
    second = with_comment("newer comments from the same account", seed=9)
    yield Case("bound-to-another-wallet", second, OTHER_WALLET, prior=[(first, WALLET)])
    yield Case("bound-to-this-wallet", second, WALLET, prior=[(first, WALLET)])


def dedup() -> Iterator[Case]:
    files = with_checkfile(reddit_request_files(reddit_spec()))
    data = zip_files(files)
    yield Case("same-export-twice", data, prior=[(data, WALLET)])
    yield Case("rezipped-reordered", zip_files(dict(reversed(list(files.items())))),
               prior=[(data, WALLET)])  # fmt: skip
    spec = reddit_spec(comments=60)
    original = _reddit(spec)
    rng = random.Random(7)
    for comment in spec.comments:
        words = comment["body"].split()
        if len(words) > 12:
            words[rng.randrange(len(words))] = "edited"
            comment["body"] = " ".join(words) + "!!"
    yield Case("lightly-edited", _reddit(spec), prior=[(original, WALLET)])
    old = reddit_spec(seed=1, comments=30, posts=0)
    newer = reddit_spec(seed=2, comments=10, posts=0)
    newer.comments = old.comments + newer.comments
    yield Case("partial-overlap", _reddit(newer), prior=[(_reddit(old), WALLET)])
    tweets = x_spec(seed=3, tweets=30)
    emoji = x_spec(seed=3, tweets=30)
    for item in emoji.tweets:
        item["tweet"]["full_text"] = str(item["tweet"]["full_text"]) + " 🚀🔥"  # type: ignore[index]
    yield Case("x-emoji-added", x_archive(emoji), prior=[(x_archive(tweets), WALLET)])
    unrelated = x_spec(seed=4, tweets=30)
    yield Case("x-unrelated", x_archive(unrelated), prior=[(x_archive(tweets), WALLET)])
    items = _generic_items(30, 5)
    shuffled = [dict(i, id=100 + int(i["id"])) for i in reversed(items)]  # type: ignore[call-overload]
    yield Case("generic-reordered", json.dumps(shuffled).encode(),
               prior=[(json.dumps(items).encode(), WALLET)])  # fmt: skip


def mutations(count: int = MUTATED_CASES) -> Iterator[Case]:
    for seed in range(count):
        kind, data = mutated(seed)
        yield Case(f"mutated-{seed}-{kind}", data)


def cases() -> Iterator[Case]:
    yield from genuine()
    yield from hostile()
    yield from ownership()
    yield from dedup()
    yield from mutations()


def uploaded(data: bytes) -> bytes:
    """What a contributor's machine uploads of `data` (the web form and `datadao
    contribute` build it so); data it cannot build an upload from goes as it is, as a
    hostile client would send it."""
    from dao_service.client.contribute import export_data
    from validators.selection import published

    try:
        return export_data(data, published()).plaintext
    except Exception:
        return data


def verdict(case: Case) -> dict[str, object]:
    """The engine's verdict on one case as uploaded, against a fresh in-memory index."""
    from validators import DedupIndex, ValidationContext, validate_export

    def context(wallet: str) -> ValidationContext:
        return ValidationContext(
            wallet=wallet,
            chain_id=CHAIN_ID,
            registry=REGISTRY,
            **case.options,  # type: ignore[arg-type]
        )

    index = DedupIndex(":memory:")
    try:
        for data, wallet in case.prior:
            earlier = validate_export(uploaded(data), context(wallet), index)
            if earlier.report.accepted:
                earlier.commit(index)
        try:
            report = validate_export(uploaded(case.data), context(case.wallet), index).report
        except Exception as exc:  # the engine before the fix raised on deep nesting
            return {"outcome": f"raised {type(exc).__name__}", "accepted": False}
    finally:
        index.close()
    return {
        "outcome": "accepted" if report.accepted else "rejected",
        "accepted": report.accepted,
        "reasons": report.rejection_reasons,
        "new_records": report.new_records,
        "score": report.score,
    }


def record() -> None:
    verdicts = {case.name: verdict(case) for case in cases()}
    VERDICTS.write_text(json.dumps(verdicts, indent=1, ensure_ascii=False) + "\n")
    outcomes: dict[str, int] = {}
    for v in verdicts.values():
        outcomes[str(v["outcome"])] = outcomes.get(str(v["outcome"]), 0) + 1
    print(f"{len(verdicts)} cases recorded in {VERDICTS}: {outcomes}")


if __name__ == "__main__":
    sys.setrecursionlimit(1000)
    record()
