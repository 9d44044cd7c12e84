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
    }


def reddit_request_files(spec: RedditExportSpec) -> dict[str, bytes]:
    """reddit_files and a private file beside them (votes), as a data request holds them:
    the input a contributor's machine builds the upload from."""
    votes = _csv(
        ["id", "permalink", "direction"], [{"id": "v1", "permalink": "x", "direction": "up"}]
    )
    return {**reddit_files(spec), "post_votes.csv": votes}


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
    # account.js as an upload carries it: the fields that name the account (the archive's
    # own also holds the email and sign-up details: see x_full_archive).
    account = [{"account": {"username": spec.username, "accountId": spec.account_id,
                            "createdAt": spec.created.strftime("%Y-%m-%dT%H:%M:%S.000Z")}}]  # fmt: skip
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


def x_archive_files(spec: XArchiveSpec, tweet_file: str = "data/tweets.js") -> dict[str, bytes]:
    """x_files with account.js as X writes it (email and sign-up details): the input a
    contributor's machine builds the upload from."""
    files = x_files(spec, tweet_file)
    account = [{"account": {"email": "alice@example.org", "username": spec.username, "accountId": spec.account_id,
                            "createdAt": spec.created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            "accountDisplayName": "Alice ✨"}}]  # fmt: skip
    files["data/account.js"] = ytd("account", account)
    sizes = str(sum(len(v) for n, v in files.items() if n != "data/manifest.js"))
    files["data/manifest.js"] = files["data/manifest.js"].replace(
        f'"sizeBytes": "{_x_size(files)}"'.encode(), f'"sizeBytes": "{sizes}"'.encode()
    )
    return files


def _x_size(files: dict[str, bytes]) -> str:
    manifest = json.loads(files["data/manifest.js"].decode().split("=", 1)[1])
    return str(manifest["archiveInfo"]["sizeBytes"])


def x_archive(spec: XArchiveSpec | None = None, tweet_file: str = "data/tweets.js") -> bytes:
    return zip_files(x_files(spec or x_spec(), tweet_file))


# --- whole exports, private files included --------------------------------------------
# A real data request carries far more than the public posts: these plant a recognisable
# secret in every private file and in the public texts, so tests can show that none of
# them reaches what is stored or what a renter receives.


@dataclass(frozen=True)
class PlantedSecrets:
    ip: str = "203.0.113.77"
    email: str = "alice.private@example.net"
    phone: str = "+1 415 555 0199"
    birthdate: str = "1990-04-17"
    stripe: str = "acct_1PrivateStripe42"
    message: str = "the spare key is under the blue flowerpot"  # a third party's DM
    chat: str = "my passport number is X1234567"  # a private chat line
    friend: str = "carol_private_friend"
    gender: str = "nonbinary-planted"
    # In the public texts: scrubbed, not dropped.
    public_email: str = "alice.public@example.com"
    public_phone: str = "(415) 555-0123"
    third_party: str = "bob_thirdparty"

    def private_values(self) -> list[str]:
        """What must never leave the contributor's machine in any form."""
        return [self.ip, self.email, self.phone, self.birthdate, self.stripe, self.message,
                self.chat, self.friend, self.gender]  # fmt: skip

    def public_values(self) -> list[str]:
        """Personal data inside public texts: scrubbed before anything is stored."""
        return [self.public_email, self.public_phone, self.third_party]


SECRETS = PlantedSecrets()


def _with_public_secrets(spec: RedditExportSpec, secrets: PlantedSecrets) -> RedditExportSpec:
    for row in [*spec.posts, *spec.comments]:
        row["ip"] = secrets.ip
    if spec.posts:
        spec.posts[0]["body"] += (
            f" Write to me at {secrets.public_email} or call {secrets.public_phone} any evening."
        )
    if spec.comments:
        spec.comments[0]["body"] = f"I agree with u/{secrets.third_party} on this: " + str(
            spec.comments[0]["body"]
        )
    return spec


def reddit_private_files(secrets: PlantedSecrets = SECRETS) -> dict[str, bytes]:
    """The private files of a Reddit data request, as their real names and columns."""
    dm = ["id", "permalink", "thread_id", "date", "ip", "from", "to", "subject", "body"]
    return {
        "messages.csv": _csv(
            dm,
            [
                {
                    "id": "m1",
                    "permalink": "",
                    "thread_id": "t1",
                    "date": "2026-01-02 10:00:00 UTC",
                    "ip": secrets.ip,
                    "from": "dave",
                    "to": "alice_redditor",
                    "subject": "hi",
                    "body": secrets.message,
                }
            ],
        ),
        "messages_archive.csv": _csv(
            dm,
            [
                {
                    "id": "m0",
                    "permalink": "",
                    "thread_id": "t0",
                    "date": "2025-01-02 10:00:00 UTC",
                    "ip": secrets.ip,
                    "from": "alice_redditor",
                    "to": "dave",
                    "subject": "re",
                    "body": secrets.message,
                }
            ],
        ),
        "chat_history.csv": _csv(
            ["message_id", "created_at", "username", "message", "channel_url"],
            [
                {
                    "message_id": "1",
                    "created_at": "2026-02-03 11:00:00 UTC",
                    "username": secrets.friend,
                    "message": secrets.chat,
                    "channel_url": "x",
                }
            ],
        ),
        "ip_logs.csv": _csv(
            ["date", "ip"], [{"date": "2026-09-01 08:00:00 UTC", "ip": secrets.ip}]
        ),
        "linked_phone_number.csv": _csv(["phone_number"], [{"phone_number": secrets.phone}]),
        "linked_identities.csv": _csv(
            ["issuer_id", "subject_id"], [{"issuer_id": "google", "subject_id": secrets.email}]
        ),
        "birthdate.csv": _csv(
            ["birthdate", "verified_birthdate"],
            [{"birthdate": secrets.birthdate, "verified_birthdate": ""}],
        ),
        "account_gender.csv": _csv(["account_gender"], [{"account_gender": secrets.gender}]),
        "payouts.csv": _csv(
            ["payout_amount_usd", "date", "payout_id"],
            [{"payout_amount_usd": "12.00", "date": "2026-03-01", "payout_id": secrets.stripe}],
        ),
        "stripe.csv": _csv(["stripe_account_id"], [{"stripe_account_id": secrets.stripe}]),
        "friends.csv": _csv(["username", "note"], [{"username": secrets.friend, "note": ""}]),
        "post_votes.csv": _csv(
            ["id", "permalink", "direction"], [{"id": "v1", "permalink": "x", "direction": "up"}]
        ),
    }


def reddit_full_export(
    spec: RedditExportSpec | None = None, secrets: PlantedSecrets = SECRETS
) -> bytes:
    """A Reddit data request as Reddit sends it: public and private files, one checkfile."""
    spec = _with_public_secrets(spec or reddit_spec(), secrets)
    return zip_files(with_checkfile({**reddit_files(spec), **reddit_private_files(secrets)}))


def x_full_archive(spec: XArchiveSpec | None = None, secrets: PlantedSecrets = SECRETS) -> bytes:
    """An X archive as X sends it: account.js with the email, private files beside the
    tweets, every file in the manifest."""
    spec = spec or x_spec()
    if spec.tweets:
        first = spec.tweets[0]["tweet"]
        assert isinstance(first, dict)
        first["full_text"] = (
            f"@{secrets.third_party} mail me at {secrets.public_email} or call "
            f"{secrets.public_phone} " + str(first["full_text"])
        )
    files = x_files(spec)
    account = [{"account": {"email": secrets.email, "username": spec.username,
                            "accountId": spec.account_id, "createdVia": "web",
                            "createdAt": spec.created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            "accountDisplayName": "Alice ✨"}}]  # fmt: skip
    private = {
        "data/account.js": ytd("account", account),
        "data/phone-number.js": ytd("phoneNumber", [{"device": {"phoneNumber": secrets.phone}}]),
        "data/direct-messages.js": ytd(
            "directMessages",
            [
                {
                    "dmConversation": {
                        "conversationId": "1-2",
                        "messages": [
                            {
                                "messageCreate": {
                                    "senderId": "2",
                                    "text": secrets.message,
                                    "createdAt": "2026-01-01T00:00:00.000Z",
                                }
                            }
                        ],
                    }
                }
            ],
        ),
        "data/ip-audit.js": ytd(
            "ipAudit",
            [
                {
                    "ipAudit": {
                        "accountId": spec.account_id,
                        "createdAt": "2026-01-01T00:00:00.000Z",
                        "loginIp": secrets.ip,
                    }
                }
            ],
        ),
        "data/ageinfo.js": ytd(
            "ageinfo", [{"ageMeta": {"ageInfo": {"age": ["36"], "birthDate": secrets.birthdate}}}]
        ),
    }
    manifest_text = files["data/manifest.js"].decode().split("=", 1)[1]
    manifest = json.loads(manifest_text)
    for name in private:
        key = name.removeprefix("data/").removesuffix(".js")
        manifest["dataTypes"].setdefault(key, {"files": [{"fileName": name, "count": "1"}]})
    files = {**files, **private}
    files["data/manifest.js"] = f"window.__THAR_CONFIG = {json.dumps(manifest, indent=2)}".encode()
    return zip_files(files)
