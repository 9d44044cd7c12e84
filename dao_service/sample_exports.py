"""Sample platform exports in their real layouts: for trying the web form (`datadao demo
--exports DIR`), for the tests and for the benchmarks.

Reddit: a flat zip of CSVs (posts, comments, statistics, checkfile with SHA-256 sums).
X: a zip with data/*.js files assigning JSON to window.YTD.<name>.part0, and manifest.js.
Content has unicode, quoting, multi-line bodies and deleted items, like the real thing.
"""

import csv
import hashlib
import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

WORDS = [
    "data",
    "model",
    "governance",
    "token",
    "vote",
    "rental",
    "privacy",
    "archive",
    "export",
    "reddit",
    "thread",
    "comment",
    "café",
    "naïve",
    "résumé",
    "東京",
    "مرحبا",
    "emoji",
    "🚀",
    "quote",
    '"double"',
    "'single'",
    "comma,",
    "semicolon;",
    "new",
    "river",
    "mountain",
    "coffee",
    "bicycle",
    "library",
    "garden",
    "music",
    "winter",
    "summer",
    "football",
    "chess",
    "code",
]

REDDIT_EXPORT_TIME = datetime(2026, 10, 1, 12, 0, 0, tzinfo=UTC)
REDDIT_REGISTERED = datetime(2019, 3, 14, 9, 30, 0, tzinfo=UTC)


SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "te",
    "vo",
    "zu",
    "bra",
    "chi",
    "dre",
    "fla",
    "gno",
    "pli",
    "qua",
    "stro",
    "tri",
    "wen",
    "yel",
]


def word(rng: random.Random) -> str:
    """Mostly invented words (a vocabulary big enough that random texts differ), some real."""
    if rng.random() < 0.3:
        return rng.choice(WORDS)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3)))


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(word(rng) for _ in range(words))


def reddit_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class RedditExportSpec:
    account: str = "alice_redditor"
    export_time: datetime = REDDIT_EXPORT_TIME
    registered: datetime = REDDIT_REGISTERED
    comments: list[dict[str, str]] = field(default_factory=list)
    posts: list[dict[str, str]] = field(default_factory=list)


def reddit_spec(
    seed: int = 1, comments: int = 40, posts: int = 8, account: str = "alice_redditor"
) -> RedditExportSpec:
    rng = random.Random(seed)
    spec = RedditExportSpec(account=account)
    span = (spec.export_time - spec.registered).total_seconds()
    for i in range(comments):
        moment = spec.registered + timedelta(seconds=rng.uniform(0, span * 0.99))
        body = sentence(rng, rng.randint(12, 40))
        if i % 7 == 3:
            body += '\n\nSecond paragraph, with "quotes", commas, and a link https://example.org/x'
        if i % 13 == 5:
            body = "[deleted]"
        spec.comments.append(
            {
                "id": f"c{seed:x}{i:05x}",
                "permalink": f"https://www.reddit.com/r/test/comments/x/y/c{i}/",
                "date": reddit_time(moment),
                "ip": "0.0.0.0",
                "subreddit": rng.choice(["python", "MachineLearning", "AskReddit", "東京"]),
                "gildings": "0",
                "link": "https://www.reddit.com/r/test/comments/x/",
                "parent": f"t1_p{i}",
                "body": body,
                "media": "",
            }
        )
    for i in range(posts):
        moment = spec.registered + timedelta(seconds=rng.uniform(0, span * 0.99))
        spec.posts.append(
            {
                "id": f"p{seed:x}{i:05x}",
                "permalink": f"https://www.reddit.com/r/test/comments/p{i}/",
                "date": reddit_time(moment),
                "ip": "0.0.0.0",
                "subreddit": "test",
                "gildings": "0",
                "title": sentence(rng, 6),
                "url": "",
                "body": sentence(rng, rng.randint(20, 60)),
            }
        )
    return spec


def _csv(columns: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


POSTS_COLUMNS = ["id", "permalink", "date", "ip", "subreddit", "gildings", "title", "url", "body"]
COMMENTS_COLUMNS = [
    "id",
    "permalink",
    "date",
    "ip",
    "subreddit",
    "gildings",
    "link",
    "parent",
    "body",
    "media",
]


def reddit_files(spec: RedditExportSpec) -> dict[str, bytes]:
    statistics = [
        {"statistic": "account name", "value": spec.account},
        {"statistic": "export time", "value": reddit_time(spec.export_time)},
        {"statistic": "is_deleted", "value": "False"},
        {"statistic": "registration date", "value": reddit_time(spec.registered)},
        {"statistic": "email verified", "value": "True"},
    ]
    return {
        "statistics.csv": _csv(["statistic", "value"], statistics),
        "posts.csv": _csv(POSTS_COLUMNS, spec.posts),
        "comments.csv": _csv(COMMENTS_COLUMNS, spec.comments),
        "post_votes.csv": _csv(
            ["id", "permalink", "direction"], [{"id": "v1", "permalink": "x", "direction": "up"}]
        ),
    }


def with_checkfile(files: dict[str, bytes]) -> dict[str, bytes]:
    rows = [
        {"filename": n, "sha256": hashlib.sha256(d).hexdigest()} for n, d in sorted(files.items())
    ]
    return {**files, "checkfile.csv": _csv(["filename", "sha256"], rows)}


ZIP_TIME = (2026, 10, 1, 12, 0, 0)  # fixed, so the same files always zip to the same bytes


def zip_files(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.compress_type = compression
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)
    return buffer.getvalue()


def reddit_export(spec: RedditExportSpec | None = None) -> bytes:
    return zip_files(with_checkfile(reddit_files(spec or reddit_spec())))


def ytd(name: str, value: object) -> bytes:
    return f"window.YTD.{name}.part0 = {json.dumps(value, ensure_ascii=False, indent=2)}".encode()


def x_time(moment: datetime) -> str:
    return moment.strftime("%a %b %d %H:%M:%S +0000 %Y")


def snowflake(moment: datetime, sequence: int) -> int:
    """A tweet id as X makes them: the time in ms since X's epoch above 22 low bits."""
    return (int(moment.timestamp() * 1000) - 1_288_834_974_657) << 22 | sequence & 0x3FFFFF


@dataclass
class XArchiveSpec:
    username: str = "alice_x"
    account_id: str = "1234567890"
    created: datetime = datetime(2015, 6, 1, tzinfo=UTC)
    generated: datetime = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)
    tweets: list[dict[str, object]] = field(default_factory=list)


def x_spec(seed: int = 2, tweets: int = 30) -> XArchiveSpec:
    rng = random.Random(seed)
    spec = XArchiveSpec()
    span = (spec.generated - spec.created).total_seconds()
    for i in range(tweets):
        moment = spec.created + timedelta(seconds=rng.uniform(0, span * 0.99))
        text = sentence(rng, rng.randint(8, 30))
        if i % 9 == 4:
            text = "RT @someone: " + text
        spec.tweets.append(
            {
                "tweet": {
                    "id_str": str(snowflake(moment, seed * 1000 + i)),
                    "full_text": text,
                    "created_at": x_time(moment),
                }
            }
        )
    return spec


def x_files(spec: XArchiveSpec, tweet_file: str = "data/tweets.js") -> dict[str, bytes]:
    account = [{"account": {"email": "alice@example.org", "username": spec.username, "accountId": spec.account_id,
                            "createdAt": spec.created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            "accountDisplayName": "Alice ✨"}}]  # fmt: skip
    files = {"data/account.js": ytd("account", account), tweet_file: ytd("tweets", spec.tweets)}
    manifest = {
        "userInfo": {"accountId": spec.account_id, "userName": spec.username, "displayName": "Alice ✨"},
        "archiveInfo": {"sizeBytes": str(sum(len(v) for v in files.values())),
                        "generationDate": spec.generated.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "isPartialArchive": False},
        "dataTypes": {
            "account": {"files": [{"fileName": "data/account.js", "globalName": "YTD.account.part0", "count": "1"}]},
            "tweets": {"files": [{"fileName": tweet_file, "globalName": "YTD.tweets.part0", "count": str(len(spec.tweets))}]},
        },
    }  # fmt: skip
    files["data/manifest.js"] = f"window.__THAR_CONFIG = {json.dumps(manifest, indent=2)}".encode()
    return files


def x_archive(spec: XArchiveSpec | None = None, tweet_file: str = "data/tweets.js") -> bytes:
    return zip_files(x_files(spec or x_spec(), tweet_file))
