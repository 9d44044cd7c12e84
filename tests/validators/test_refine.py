"""Refinement: an accepted export becomes records of the one schema, and nothing else of
it survives: no platform ids, no account name, no IP column, no personal data in texts."""

import io
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dao_service.client.contribute import export_data
from dao_service.stack.sample_exports import (
    SECRETS,
    reddit_full_export,
    reddit_spec,
    x_full_archive,
    x_spec,
)
from tests.validators.conftest import WALLET, run
from validators import DedupIndex, ExportRejected
from validators.pipeline import preview_records, preview_rows
from validators.refine import SCHEMA, SCHEMA_ID, Pseudonyms, clusters, from_parquet, to_parquet
from validators.scrub import PLACEHOLDERS, Scrubber
from validators.selection import published

KEY = b"k" * 32


def refined(data: bytes, index: DedupIndex, key: bytes = KEY) -> pa.Table:
    validation = run(export_data(data, published()).plaintext, index)
    assert validation.report.accepted, validation.report.rejection_reasons
    assert validation.refinable is not None
    pseudonyms = Pseudonyms(key)
    source = validation.refinable.source
    scrubber = Scrubber(lambda handle: pseudonyms.of(source, handle))
    return validation.refinable.table("c-1", WALLET, pseudonyms, scrubber.scrub)


def test_reddit_records_keep_only_the_schema(index: DedupIndex) -> None:
    spec = reddit_spec(seed=4)
    table = refined(reddit_full_export(spec), index)
    assert table.schema == SCHEMA
    parquet = to_parquet(table)
    assert pq.read_schema(io.BytesIO(parquet)).metadata[b"datadao.schema"].decode() == SCHEMA_ID
    for secret in [*SECRETS.private_values(), SECRETS.public_email, SECRETS.public_phone,
                   SECRETS.third_party, spec.account]:  # fmt: skip
        assert secret.encode() not in parquet, secret
        assert secret not in str(table.to_pylist()), secret
    ids = {row["id"] for row in [*spec.posts, *spec.comments]}
    assert not ids & set(table.column("record_id").to_pylist())  # not the platform's ids
    texts = "\n".join(table.column("text").to_pylist())
    assert PLACEHOLDERS["EMAIL"] in texts and PLACEHOLDERS["PHONE"] in texts
    (author,) = set(table.column("contributor").to_pylist())
    assert author == Pseudonyms(KEY).of("reddit", spec.account)
    mention = next(t for t in texts.split("\n") if t.startswith("I agree with u/"))
    assert mention.startswith(f"I agree with u/{Pseudonyms(KEY).of('reddit', SECRETS.third_party)}")
    assert set(table.column("kind").to_pylist()) == {"post", "comment"}
    assert set(table.column("source").to_pylist()) == {"reddit"}
    assert set(table.column("contribution_id").to_pylist()) == {"c-1"}
    assert table.column("day").null_count == 0
    assert set(table.column("community").to_pylist()) <= {"python", "MachineLearning",
                                                           "AskReddit", "東京", "test"}  # fmt: skip
    assert from_parquet(parquet).num_rows == table.num_rows


def test_records_exclude_what_the_dataset_does_not_gain(index: DedupIndex) -> None:
    """Deleted items and reposts are not records; an identical export adds nothing."""
    spec = x_spec(seed=6, tweets=30)
    table = refined(x_full_archive(spec), index)
    texts = table.column("text").to_pylist()
    assert not any(t.startswith("RT @") for t in texts)
    assert all(t.strip() for t in texts)
    assert len(texts) == len(set(texts))


def test_pseudonyms_are_stable_under_one_key_and_unlinkable_across_keys() -> None:
    first = refined(reddit_full_export(reddit_spec(seed=5)), DedupIndex(":memory:"))
    again = refined(reddit_full_export(reddit_spec(seed=5)), DedupIndex(":memory:"))
    other = refined(reddit_full_export(reddit_spec(seed=5)), DedupIndex(":memory:"), b"x" * 32)
    assert first.column("contributor") == again.column("contributor")
    assert first.column("record_id") == again.column("record_id")
    assert set(first.column("contributor").to_pylist()).isdisjoint(
        other.column("contributor").to_pylist()
    )


def test_near_duplicate_clusters_join_records_sharing_a_band() -> None:
    keys = np.array([[1, 2, 3], [9, 2, 8], [7, 6, 5], [4, 4, 4], [10, 11, 5]], np.int64)
    # rows 0 and 1 share band 1; rows 2 and 4 share band 2; row 3 is alone
    assert clusters(keys).tolist() == [1, 1, 5, 4, 5]


def test_language_comes_from_function_words(index: DedupIndex) -> None:
    spec = reddit_spec(seed=8, comments=3, posts=0)
    spec.comments[0]["body"] = "so the weather is fine and we are going to the park with them"
    spec.comments[1]["body"] = "der Hund ist nicht mit dem Ball auf der Wiese und das ist gut"
    spec.comments[2]["body"] = "le chat est sur la table avec une pomme et je suis content"
    bodies = [c["body"] for c in spec.comments]
    table = refined(reddit_full_export(spec), index)
    texts, languages = table.column("text").to_pylist(), table.column("language").to_pylist()
    found = [
        next(lang for text, lang in zip(texts, languages, strict=True) if text.endswith(body))
        for body in bodies
    ]
    assert found == ["en", "de", "fr"]


def test_a_preview_reads_only_the_first_records_and_refuses_private_files() -> None:
    upload = export_data(reddit_full_export(reddit_spec(seed=9, comments=200)), published())
    preview = preview_records(upload.plaintext, 5)
    assert len(preview) == 5
    with pytest.raises(ExportRejected, match=r"The upload carries account_gender\.csv"):
        preview_records(reddit_full_export(), 5)
    with zipfile.ZipFile(io.BytesIO(upload.plaintext)) as archive:
        assert "messages.csv" not in archive.namelist()


def test_cluster_ids_cannot_be_computed_from_a_guessed_text(index: DedupIndex) -> None:
    """A renter holding the open code and a guess of a scrubbed text computes its band
    keys, but not its cluster id: that needs the dataset's key."""
    validation = run(
        export_data(reddit_full_export(reddit_spec(seed=12)), published()).plaintext, index
    )
    assert validation.refinable is not None
    raw = set(clusters(validation.refinable.band_keys).tolist())
    table = refined(reddit_full_export(reddit_spec(seed=12)), DedupIndex(":memory:"))
    other = refined(reddit_full_export(reddit_spec(seed=12)), DedupIndex(":memory:"), b"x" * 32)
    ids = table.column("near_duplicate_cluster").to_pylist()
    assert not raw & set(ids)
    assert set(ids).isdisjoint(other.column("near_duplicate_cluster").to_pylist())
    assert len(set(ids)) == len(raw)  # the same clusters, relabelled


def test_the_service_preview_uses_a_throwaway_key() -> None:
    """Anyone may ask for a preview: it must not name the dataset's pseudonyms (a made-up
    export mentioning u/victim would tell the victim's), record ids or clusters."""
    from dao_service.intake.refining import Refiner

    upload = export_data(reddit_full_export(reddit_spec(seed=13)), published()).plaintext
    refiner = Refiner(KEY)
    validation = run(upload, DedupIndex(":memory:"))
    assert validation.refinable is not None
    stored = validation.refinable.table(
        "c-1",
        WALLET,
        refiner.pseudonyms,
        Scrubber(lambda h: refiner.pseudonyms.of("reddit", h)).scrub,
    )
    shown = preview_rows(upload, WALLET, 10)
    mention = f"u/{refiner.pseudonyms.of('reddit', SECRETS.third_party)}"
    assert mention in "\n".join(stored.column("text").to_pylist())
    assert mention not in "\n".join(row["text"] for row in shown)
    for column in ("contributor", "record_id", "near_duplicate_cluster"):
        assert {row[column] for row in shown}.isdisjoint(stored.column(column).to_pylist())
