"""Only public, self-authored content leaves the contributor's machine: the upload is
built from each source's published rules, the validators refuse anything else (naming
it), and an export without its private files is still authentic."""

import io
import json
import zipfile
from pathlib import Path

import pytest

from dao_service.client.contribute import export_data
from dao_service.stack.sample_exports import (
    SECRETS,
    reddit_full_export,
    reddit_private_files,
    reddit_spec,
    x_full_archive,
)
from tests.validators.conftest import run
from validators import DedupIndex
from validators.selection import published


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_whole_reddit_request_is_refused_naming_a_private_file(index: DedupIndex) -> None:
    report = run(reddit_full_export(), index).report
    assert not report.accepted
    (reason,) = report.rejection_reasons
    assert "The upload carries account_gender.csv (gender) (and 11 more)" in reason


def test_a_whole_x_archive_is_refused_naming_the_file_or_field(index: DedupIndex) -> None:
    (reason,) = run(x_full_archive(), index).report.rejection_reasons
    assert reason.startswith("The upload carries data/ageinfo.js (age)")
    files = entries(x_full_archive())
    only_account = {
        n: d
        for n, d in files.items()
        if n in ("data/account.js", "data/manifest.js", "data/tweets.js")
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in only_account.items():
            archive.writestr(name, data)
    (reason,) = run(buffer.getvalue(), index).report.rejection_reasons
    assert "data/account.js carries accountDisplayName, createdVia, email" in reason


@pytest.mark.parametrize("build", [reddit_full_export, x_full_archive])
def test_the_upload_carries_only_public_files_and_is_accepted(
    build: object, tmp_path: Path, index: DedupIndex
) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(build())  # type: ignore[operator]
    built = export_data(path, published())
    sent = entries(built.plaintext)
    if built.source == "reddit":
        assert sorted(sent) == ["checkfile.csv", "comments.csv", "posts.csv", "statistics.csv"]
        left = {f.name: f.why for f in built.left}
        assert left["messages.csv"] == "private messages"
        assert left["ip_logs.csv"] == "IP address log"
        assert set(left) == set(reddit_private_files())
    else:
        assert sorted(sent) == ["data/account.js", "data/manifest.js", "data/tweets.js"]
        account = json.loads(sent["data/account.js"].split(b"=", 1)[1])
        assert account == [
            {"account": {"username": "alice_x", "accountId": "1234567890",
                         "createdAt": "2015-06-01T00:00:00.000Z"}}
        ]  # fmt: skip
        assert built.reduced == {"data/account.js": ["accountId", "username", "createdAt"]}
    for secret in SECRETS.private_values():
        if secret != SECRETS.ip:  # the ip column lives in the checksummed posts and comments
            assert secret.encode() not in built.plaintext, secret
    assert export_data(path, published()).plaintext == built.plaintext  # same bytes each time
    assert run(built.plaintext, index).report.accepted


def test_an_export_without_its_private_files_is_authentic(index: DedupIndex) -> None:
    """checkfile.csv lists every file Reddit sent; the ones kept home are not missing."""
    sent = entries(export_data(reddit_full_export(reddit_spec(seed=3)), published()).plaintext)
    checkfile = sent["checkfile.csv"].decode()
    assert "messages.csv" in checkfile and "messages.csv" not in sent
    report = run(export_data(reddit_full_export(), published()).plaintext, index).report
    assert report.accepted, report.rejection_reasons
    checksums = next(c for c in report.authenticity if c.name == "checksums")
    assert checksums.reason == "all 3 uploaded files match checkfile.csv"


def test_a_missing_public_file_listed_in_the_checkfile_still_fails(index: DedupIndex) -> None:
    sent = entries(export_data(reddit_full_export(), published()).plaintext)
    del sent["comments.csv"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sent.items():
            archive.writestr(name, data)
    reasons = run(buffer.getvalue(), index).report.rejection_reasons
    assert "authenticity: comments.csv is listed in checkfile.csv but missing" in reasons


def test_a_generic_export_goes_with_its_id_text_and_time_only(
    tmp_path: Path, index: DedupIndex
) -> None:
    items = [
        {"id": i, "text": f"a public note number {i} about gardens and rivers",
         "created_at": "2024-05-01T10:00:00Z", "email": SECRETS.email, "location": "52.1,4.3"}
        for i in range(5)
    ]  # fmt: skip
    raw = json.dumps(items).encode()
    (reason,) = run(raw, index).report.rejection_reasons
    assert reason.startswith("Item 1 carries email, location:")
    path = tmp_path / "notes.json"
    path.write_bytes(raw)
    built = export_data(path, published())
    assert SECRETS.email.encode() not in built.plaintext and b"location" not in built.plaintext
    assert run(built.plaintext, index).report.accepted
    csv_path = tmp_path / "notes.csv"
    csv_path.write_text('id,text,phone\n1,"hello, gardens and rivers",555-0199\n')
    assert (
        export_data(csv_path, published()).plaintext == b'id,text\n1,"hello, gardens and rivers"\n'
    )


def test_a_conversation_or_a_private_file_is_not_contributed_as_a_generic_export(
    tmp_path: Path,
) -> None:
    """Keeping only the text fields would launder them: other people's messages under
    the contributor's pseudonym. A platform's private file taken out of its zip, or a zip
    of no known platform holding one, is refused or left home by name."""
    from dao_service.exceptions import ContributionFailed

    messages = tmp_path / "messages.csv"
    messages.write_bytes(reddit_private_files()["messages.csv"])
    with pytest.raises(ContributionFailed, match=r"messages\.csv is a file of private messages"):
        export_data(messages, published())
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps([{"id": 1, "from": "dave", "text": SECRETS.message}]))
    with pytest.raises(ContributionFailed, match="has from: it looks like a conversation"):
        export_data(chat, published())
    mailbox = tmp_path / "mail.csv"
    mailbox.write_text(f"id,subject,body\n1,hi,{SECRETS.message}\n")
    with pytest.raises(ContributionFailed, match="has subject: it looks like a conversation"):
        export_data(mailbox, published())
    unknown = tmp_path / "unknown.zip"  # a Reddit request without its statistics.csv
    files = {n: d for n, d in entries(reddit_full_export()).items() if n != "statistics.csv"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    unknown.write_bytes(buffer.getvalue())
    built = export_data(unknown, published())
    assert "messages.csv" not in built.taken and "ip_logs.csv" not in built.taken
    assert {f.name: f.why for f in built.left}["messages.csv"] == "private messages (reddit)"
    assert SECRETS.message.encode() not in built.plaintext
