"""Only an export's public data leaves the machine: an archive with media becomes a zip of
the files its source takes (the same archive, the same bytes), and passes validation."""

import io
import os
import zipfile
from pathlib import Path

from dao_service.client.contribute import MEDIA, export_data
from dao_service.stack.sample_exports import reddit_export, x_files, x_spec, zip_files
from tests.validators.conftest import run
from validators import DedupIndex
from validators.selection import published


def test_archive_with_media_keeps_only_its_data_files(tmp_path: Path) -> None:
    files = x_files(x_spec())
    media = {f"data/tweets_media/{i}.jpg": os.urandom(300_000) for i in range(5)}
    archive = tmp_path / "archive.zip"
    archive.write_bytes(zip_files({**files, **media, "Your archive.html": b"<html>"}))
    sent = export_data(archive, published())
    assert sorted(sent.taken) == sorted(files)
    assert {left.name: left.why for left in sent.left} == dict.fromkeys(
        [*media, "Your archive.html"], MEDIA
    )
    with zipfile.ZipFile(io.BytesIO(sent.plaintext)) as kept:
        assert sorted(kept.namelist()) == sorted(files)
        # account.js as uploaded already holds only the kept fields: rewritten, same content
        assert all(kept.read(name) == files[name] for name in files if name != "data/account.js")
    assert export_data(archive, published()).plaintext == sent.plaintext  # same sha256
    assert len(sent.plaintext) < archive.stat().st_size // 10
    assert run(sent.plaintext, DedupIndex(":memory:")).report.accepted


def test_an_upload_already_reduced_is_rebuilt_to_the_same_files(tmp_path: Path) -> None:
    reddit = tmp_path / "reddit.zip"
    reddit.write_bytes(reddit_export())
    sent = export_data(reddit, published())
    assert sent.source == "reddit" and sent.left == []
    with zipfile.ZipFile(reddit) as given, zipfile.ZipFile(io.BytesIO(sent.plaintext)) as built:
        assert {n: given.read(n) for n in given.namelist()} == {
            n: built.read(n) for n in built.namelist()
        }
    plain = tmp_path / "export.json"
    plain.write_bytes(b'[{"text": "hello"}]')
    assert export_data(plain, published()).plaintext == plain.read_bytes()
