"""Only an export's data files leave the machine: an archive with media becomes a zip of
its data files (the same archive, the same bytes), and passes validation as the whole."""

import io
import os
import zipfile
from pathlib import Path

from dao_service.client.contribute import export_data
from dao_service.sample_exports import reddit_export, x_files, x_spec, zip_files
from tests.validators.conftest import run
from validators import DedupIndex


def test_archive_with_media_keeps_only_its_data_files(tmp_path: Path) -> None:
    files = x_files(x_spec())
    media = {f"data/tweets_media/{i}.jpg": os.urandom(300_000) for i in range(5)}
    archive = tmp_path / "archive.zip"
    archive.write_bytes(zip_files({**files, **media, "Your archive.html": b"<html>"}))
    sent = export_data(archive)
    assert (sent.kept_files, sent.of_files) == (3, 9)

    with zipfile.ZipFile(io.BytesIO(sent.plaintext)) as kept:
        assert sorted(kept.namelist()) == sorted(files)
        assert all(kept.read(name) == files[name] for name in files)
    assert export_data(archive).plaintext == sent.plaintext  # deterministic: same sha256
    assert len(sent.plaintext) < archive.stat().st_size // 10
    assert run(sent.plaintext, DedupIndex(":memory:")).report.accepted


def test_exports_of_data_files_only_and_plain_files_go_whole(tmp_path: Path) -> None:
    reddit = tmp_path / "reddit.zip"
    reddit.write_bytes(reddit_export())
    assert export_data(reddit).plaintext == reddit.read_bytes()
    assert export_data(reddit).kept_files is None
    plain = tmp_path / "export.json"
    plain.write_bytes(b'[{"text": "hello"}]')
    assert export_data(plain).plaintext == plain.read_bytes()
