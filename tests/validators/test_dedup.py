"""Only new records count: re-uploads, re-zipped and lightly edited copies add nothing;
the index survives a restart."""

import random
import re
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dao_service.stack.sample_exports import reddit_files, reddit_spec, with_checkfile, zip_files
from tests.validators.conftest import OTHER_WALLET, WALLET, run
from validators import DedupIndex
from validators.fingerprints import band_keys, normalise, signatures


def test_same_export_twice_adds_nothing(index: DedupIndex) -> None:
    data = zip_files(with_checkfile(reddit_files(reddit_spec())))
    first = run(data, index)
    assert first.report.accepted
    first.commit(index)
    again = run(data, index)
    assert not again.report.accepted and again.report.new_records == 0
    assert "nothing new" in again.report.rejection_reasons[0]
    assert again.report.fingerprint == first.report.fingerprint


def test_rezipped_copy_has_the_same_fingerprint_and_adds_nothing(index: DedupIndex) -> None:
    files = with_checkfile(reddit_files(reddit_spec()))
    first = run(zip_files(files), index)
    first.commit(index)
    reordered = dict(reversed(list(files.items())))
    rezipped = run(zip_files(reordered, zipfile.ZIP_STORED), index)
    assert rezipped.report.fingerprint == first.report.fingerprint
    assert rezipped.report.new_records == 0 and not rezipped.report.accepted


def test_lightly_edited_copy_adds_nothing(index: DedupIndex) -> None:
    spec = reddit_spec(comments=60)
    run(zip_files(with_checkfile(reddit_files(spec))), index).commit(index)
    rng = random.Random(7)
    for comment in spec.comments:
        words = comment["body"].split()
        if len(words) > 12:
            words[rng.randrange(len(words))] = "edited"  # one word changed in every comment
            comment["body"] = " ".join(words) + "!!"
    edited = run(zip_files(with_checkfile(reddit_files(spec))), index)
    assert edited.report.new_records == 0, edited.report.breakdown
    assert not edited.report.accepted


def test_partial_overlap_counts_only_new_records(index: DedupIndex) -> None:
    old = reddit_spec(seed=1, comments=30, posts=0)
    run(zip_files(with_checkfile(reddit_files(old))), index).commit(index)
    newer = reddit_spec(seed=2, comments=10, posts=0)
    newer.comments = old.comments + newer.comments
    result = run(zip_files(with_checkfile(reddit_files(newer))), index)
    assert result.report.accepted
    assert result.report.new_records == 9  # the 10 new comments, less one "[deleted]"
    assert result.report.uniqueness == 9 / 40


def test_near_duplicates_of_an_accepted_export_join_the_index(index: DedupIndex) -> None:
    """A chain of similar texts (A ~ B ~ C, not A ~ C): B counts as nothing new in the
    first export, but it is in the dataset, so a later copy of it adds nothing either."""
    import json

    base = "the river runs past the old library where we play chess every winter evening"
    texts = [base, base + " again", "coffee and music in the garden on a slow sunday"]
    first = run(json.dumps([{"id": i, "text": t} for i, t in enumerate(texts)]).encode(), index)
    assert first.report.accepted and first.report.new_records == 2
    assert len(first.additions) == 3  # the near-duplicate too
    first.commit(index)
    later = [{"id": 100 + i, "text": t} for i, t in enumerate(texts)]  # other ids, same texts
    again = run(json.dumps(later).encode(), index)
    assert again.report.new_records == 0 and not again.report.accepted


def test_index_persists_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    data = zip_files(with_checkfile(reddit_files(reddit_spec())))
    first_index = DedupIndex(path)
    run(data, first_index).commit(first_index)
    count = first_index.record_count()
    first_index.close()

    reopened = DedupIndex(path)
    assert reopened.record_count() == count > 0
    assert run(data, reopened).report.new_records == 0
    assert reopened.bound_wallet("reddit", "alice_redditor") is not None


def test_scoring_is_deterministic(index: DedupIndex) -> None:
    data = zip_files(with_checkfile(reddit_files(reddit_spec(seed=4))))
    assert run(data, index).report == run(data, DedupIndex(":memory:")).report


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    words = ["ab", "cde", "fgh", "ijkl", "東京", "naïve", "x", "river", "🚀", "Straße"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 40))) for _ in range(count)]
    return [*texts, "", "a", "abcd", "abcde", "abcdef", "!!!"]


def test_sketch_of_a_record_is_the_same_alone_or_in_any_batch() -> None:
    texts = _texts(5, 200)
    together = band_keys(normalise(pa.array(texts, pa.large_string())))
    for i, text in enumerate(texts):
        alone = band_keys(normalise(pa.array([text], pa.string())))
        assert np.array_equal(alone[0], together[i]), text
    assert np.array_equal(together, band_keys(normalise(pa.array(texts[::-1])))[::-1])


def test_normalisation_matches_the_python_rules() -> None:
    def reference(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = re.sub(r"https?://\S+|www\.\S+", " ", text)
        text = re.sub(r"[^\w\s]+", " ", text)
        return re.sub(r"\s+", " ", text).strip()

    texts = [
        *_texts(6, 300),
        "Visit https://example.org/x?y=1 NOW!!",
        "(www.a.b/c)x",
        "a-http://b\u2028c",
        "ß ς Σ",
        "\uff26\uff35\uff2c\uff2c\u3000\uff57\uff49\uff44\uff54\uff48",
        "a\tb\n c",
    ]
    assert normalise(pa.array(texts)).to_pylist() == [reference(t) for t in texts]


def test_equal_bins_estimate_the_jaccard_similarity() -> None:
    rng = random.Random(8)
    errors = []
    for _ in range(300):
        base = "".join(rng.choice("abcdefghij klmnop") for _ in range(rng.randint(40, 400)))
        cut = rng.randint(0, len(base))
        other = base[:cut] + "".join(rng.choice("qrstuvwxyz ") for _ in range(rng.randint(0, 200)))
        a, b = signatures(normalise(pa.array([base, other])))
        grams = [
            {t[i : i + 5] for i in range(len(t) - 4)}
            for t in normalise(pa.array([base, other])).to_pylist()
        ]
        jaccard = len(grams[0] & grams[1]) / len(grams[0] | grams[1])
        errors.append(np.mean(a == b) - jaccard)
    assert abs(np.mean(errors)) < 0.02  # unbiased
    assert np.mean(np.abs(errors)) < 0.06  # and close, with 132 bins


def test_index_records_its_format_and_refuses_another(tmp_path: Path) -> None:
    import sqlite3

    import pytest

    from validators import FORMAT_VERSION, IndexFormatError
    from validators.fingerprints import SKETCH

    path = tmp_path / "index.sqlite3"
    DedupIndex(path).close()
    index = DedupIndex(path)
    assert index.format() == {"format_version": str(FORMAT_VERSION), "sketch": SKETCH}
    index.close()
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE dedup_meta SET value = 'minhash-120' WHERE key = 'sketch'")
    db.close()
    with pytest.raises(IndexFormatError, match=r"sketch minhash-120.*datadao index rebuild"):
        DedupIndex(path)


def test_bloom_filter_never_hides_a_stored_key(index: DedupIndex) -> None:
    from validators import NewRecords

    rng = np.random.default_rng(1)
    fingerprints = rng.integers(0, 256, size=(5_000, 16), dtype=np.uint8)
    keys = rng.integers(-(2**63), 2**63 - 1, size=(5_000, 22), dtype=np.int64)
    index.commit(NewRecords(fingerprints[:2_500], keys[:2_500]))
    assert index.known_fingerprints(fingerprints[:2_500]).all()  # built after the commit
    index.commit(NewRecords(fingerprints[2_500:4_000], keys[2_500:4_000]))
    assert index.known_band_keys(keys[:4_000]).all()  # added to the built filter
    assert not index.known_band_keys(keys[4_000:]).any()
    assert not index.known_fingerprints(fingerprints[4_000:]).any()


def test_each_process_sees_the_others_commits_and_the_filter_survives_a_restart(
    tmp_path: Path,
) -> None:
    from validators import NewRecords

    rng = np.random.default_rng(2)
    fingerprints = rng.integers(0, 256, size=(300, 16), dtype=np.uint8)
    keys = rng.integers(-(2**63), 2**63 - 1, size=(300, 21), dtype=np.int64)
    path = tmp_path / "index.sqlite3"
    one, other = DedupIndex(path), DedupIndex(path)
    assert not one.known_band_keys(keys).any()  # its filter is built now
    other.commit(NewRecords(fingerprints[:100], keys[:100]))
    assert (
        one.known_band_keys(keys[:100]).all() and one.known_fingerprints(fingerprints[:100]).all()
    )
    one.commit(NewRecords(fingerprints[100:200], keys[100:200]))
    one.close()
    other.close()
    reopened = DedupIndex(path)  # loads the saved filter, then the additions after it
    assert reopened.known_band_keys(keys[:200]).all()
    assert not reopened.known_band_keys(keys[200:]).any()
    reopened.close()


def test_records_taken_in_slices_and_blocks_give_the_same_report(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dao_service.stack.sample_exports import x_archive, x_spec
    from validators import records

    data = x_archive(x_spec(seed=9, tweets=300))
    whole = run(data, DedupIndex(":memory:")).report
    monkeypatch.setattr(records, "SLICE", 700)  # a few tweets per slice
    monkeypatch.setattr(records, "BLOCK", 7)  # and per block of kept keys
    sliced = run(data, DedupIndex(":memory:")).report
    assert sliced == whole and whole.new_records > 200


def test_a_second_wallet_binding_the_same_account_is_a_conflict(index: DedupIndex) -> None:
    """Both exports saw the account unbound (validated at the same moment): the second
    commit is refused, so the service validates it again and finds the binding."""
    from validators import IndexConflict, NewRecords

    account = DedupIndex.account_hash("reddit", "t2_abc")
    index.commit(NewRecords.none(), (account, WALLET))
    index.commit(NewRecords.none(), (account, WALLET))  # the same wallet again: fine
    with pytest.raises(IndexConflict, match="another wallet"):
        index.commit(NewRecords.none(), (account, OTHER_WALLET))
    assert index.bound_wallet("reddit", "t2_abc") == WALLET


def test_judged_again_against_the_same_index_the_verdict_is_the_same() -> None:
    """`Validation.again` (after another export committed records meanwhile) reads the
    export's keys as they were read, whatever the first verdict took of them."""
    spec = reddit_spec(seed=3, comments=60)  # with deleted and repeated comments
    first = run(zip_files(with_checkfile(reddit_files(spec))), DedupIndex(":memory:"))
    kept = first.additions.fingerprints.copy()
    again = first.again(DedupIndex(":memory:"))
    assert again.report.new_records == first.report.new_records
    assert (again.additions.fingerprints == kept).all()
    assert first.refinable is not None and again.refinable is not None
    assert (again.refinable.rows == first.refinable.rows).all()
