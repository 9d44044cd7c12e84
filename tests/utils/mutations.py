"""Exports mutated the way a careless or hostile user would: byte flips, truncation,
spliced junk, deep nesting, thousands of entries, nested zips, huge fields.

`mutated(seed)` is deterministic: the same seed gives the same bytes, so the fuzz test
and the regression corpus see the same cases on every run.
"""

import io
import json
import random
import zipfile
from collections.abc import Callable

from dao_service.stack.sample_exports import (
    reddit_request_files,
    reddit_spec,
    with_checkfile,
    x_archive_files,
    x_spec,
    zip_files,
)

REDDIT_FILES = with_checkfile(reddit_request_files(reddit_spec(seed=21, comments=12, posts=3)))
X_FILES = x_archive_files(x_spec(seed=22, tweets=12))
GENERIC = json.dumps(
    [{"id": i, "text": f"generic item {i} about rivers and gardens", "date": "2024-01-02"}
     for i in range(8)]
).encode()  # fmt: skip
BASES: dict[str, dict[str, bytes]] = {"reddit": REDDIT_FILES, "x": X_FILES}


def _zipped(files: dict[str, bytes], rng: random.Random, recheck: bool = True) -> bytes:
    """Zip the files; for Reddit, sometimes recompute the checkfile so the mutation gets
    past the checksum into the parsers."""
    if "checkfile.csv" in files and recheck and rng.random() < 0.5:
        files = with_checkfile({n: d for n, d in files.items() if n != "checkfile.csv"})
    return zip_files(files)


def _base(rng: random.Random) -> tuple[str, dict[str, bytes]]:
    kind = rng.choice(sorted(BASES))
    return kind, dict(BASES[kind])


def _junk(rng: random.Random, size: int) -> bytes:
    pools = [
        bytes(rng.getrandbits(8) for _ in range(size)),
        rng.choice([b"[", b"{", b'"', b",", b"\\", b"\n", b"\r", b"\x00", b"\xff"]) * size,
        "".join(rng.choice('😀東,;"\n\\{}[]') for _ in range(size)).encode(),
    ]
    return rng.choice(pools)


def byte_flips(rng: random.Random) -> bytes:
    _, files = _base(rng)
    data = bytearray(_zipped(files, rng))
    for _ in range(rng.randint(1, 30)):
        data[rng.randrange(len(data))] = rng.getrandbits(8)
    return bytes(data)


def truncation(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        _, files = _base(rng)
        data = _zipped(files, rng)
        return data[: rng.randrange(len(data) + 1)]
    _, files = _base(rng)  # a truncated file inside an intact zip
    name = rng.choice(sorted(files))
    files[name] = files[name][: rng.randrange(len(files[name]) + 1)]
    return _zipped(files, rng)


def spliced_junk(rng: random.Random) -> bytes:
    if rng.random() < 0.3:
        _, files = _base(rng)
        data = _zipped(files, rng)
        at = rng.randrange(len(data) + 1)
        return data[:at] + _junk(rng, rng.randint(1, 300)) + data[at:]
    if rng.random() < 0.2:
        at = rng.randrange(len(GENERIC) + 1)
        return GENERIC[:at] + _junk(rng, rng.randint(1, 300)) + GENERIC[at:]
    _, files = _base(rng)
    name = rng.choice(sorted(files))
    at = rng.randrange(len(files[name]) + 1)
    files[name] = files[name][:at] + _junk(rng, rng.randint(1, 300)) + files[name][at:]
    return _zipped(files, rng)


def _nest(rng: random.Random, depth: int) -> str:
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}"), ('[{"tweet":', "}]")])
    return opener * depth + "1" + closer * depth


def deep_nesting(rng: random.Random) -> bytes:
    depth = rng.choice([50, 900, 1100, 3000, 20_000, 100_000])
    nested = _nest(rng, depth)
    where = rng.choice(["tweets", "manifest", "account", "generic", "generic-ndjson"])
    if where == "generic":
        return f'[{{"text": "hello there", "extra": {nested}}}]'.encode()
    if where == "generic-ndjson":
        return f'{{"text": "hello there"}}\n{{"text": "x", "deep": {nested}}}\n'.encode()
    files = dict(X_FILES)
    if where == "tweets":
        body = rng.choice([nested, f"[{nested}]", f'[{{"tweet": {{"full_text": {nested}}}}}]'])
        files["data/tweets.js"] = f"window.YTD.tweets.part0 = {body}".encode()
    elif where == "manifest":
        files["data/manifest.js"] = f"window.__THAR_CONFIG = {nested}".encode()
    else:
        files["data/account.js"] = f"window.YTD.account.part0 = [{nested}]".encode()
    return zip_files(files)


def many_entries(rng: random.Random) -> bytes:
    count = rng.choice([1_000, 5_000, 20_001])
    _, files = _base(rng)
    for i in range(count):
        files[f"extra/{i}.csv"] = b"id\n1\n"
    return _zipped(files, rng, recheck=rng.random() < 0.5)


def nested_zips(rng: random.Random) -> bytes:
    _, files = _base(rng)
    inner = _zipped(files, rng)
    for _ in range(rng.randint(0, 3)):
        inner = zip_files({"export.zip": inner})
    if rng.random() < 0.5:
        return zip_files({"export.zip": inner})
    name = rng.choice(sorted(files))
    files[name] = inner  # a zip where a data file should be
    return _zipped(files, rng)


def huge_fields(rng: random.Random) -> bytes:
    size = rng.choice([100_000, 1_100_000, 3_000_000])
    blob = rng.choice(["x" * size, "word " * (size // 5), "東" * (size // 3)])
    choice = rng.choice(["reddit", "x", "generic", "statistics"])
    if choice == "generic":
        return json.dumps([{"text": blob}, {"text": "a normal short item here"}]).encode()
    if choice == "x":
        spec = x_spec(seed=23, tweets=3)
        spec.tweets[1]["tweet"]["full_text"] = blob  # type: ignore[index]
        return zip_files(x_archive_files(spec))
    spec = reddit_spec(seed=24, comments=3, posts=1)
    files = reddit_request_files(spec)
    if choice == "statistics":
        files["statistics.csv"] += f"huge,{blob}\n".encode()
    else:
        spec.comments[1]["body"] = blob
        files = reddit_request_files(spec)
    return zip_files(with_checkfile(files))


MUTATIONS: dict[str, Callable[[random.Random], bytes]] = {
    "byte-flips": byte_flips,
    "truncation": truncation,
    "spliced-junk": spliced_junk,
    "deep-nesting": deep_nesting,
    "many-entries": many_entries,
    "nested-zips": nested_zips,
    "huge-fields": huge_fields,
}
# How often each kind is drawn: the cheap ones most, the slow-to-build ones rarely.
WEIGHTS = {"many-entries": 1, "huge-fields": 2, "deep-nesting": 6, "nested-zips": 4}


def mutated(seed: int) -> tuple[str, bytes]:
    """The seed-th mutated export and the name of its mutation."""
    rng = random.Random(seed)
    names = sorted(MUTATIONS)
    kind = rng.choices(names, weights=[WEIGHTS.get(n, 10) for n in names])[0]
    return kind, MUTATIONS[kind](rng)


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n) for n in archive.namelist()}
