"""Natural text: word salad scores low, with its reason on the quality line; prose and
comments in several languages keep their quality; other scripts are not judged."""

import json
import random

import numpy as np
import pyarrow as pa

from dao_service.stack.sample_exports import sentence
from tests.utils.labelled_text import COMMENTS, labelled_set, natural_records
from tests.validators.conftest import run
from validators import DedupIndex
from validators.fingerprints import normalise
from validators.naturalness import unnatural


def generic_export(texts: list[str]) -> bytes:
    return json.dumps([{"id": str(i), "text": t} for i, t in enumerate(texts)]).encode()


def flagged(texts: list[str]) -> np.ndarray:
    normalised = normalise(pa.array(texts, pa.large_string()))
    words = np.array([len(t.split()) for t in normalised.to_pylist()], np.int32)
    return unnatural(normalised, words)


def test_word_salad_scores_low_quality_with_its_reason(index: DedupIndex) -> None:
    rng = random.Random(5)
    salad = [sentence(rng, rng.randint(15, 30)) for _ in range(60)]  # as the script
    prose = natural_records(60)[:60]
    salad_report = run(generic_export(salad), index).report
    prose_report = run(generic_export(prose), DedupIndex(":memory:")).report
    assert salad_report.unnatural_records >= 45
    quality = next(line for line in salad_report.breakdown if line.signal == "quality")
    assert quality.value < 0.35
    assert "records read as word salad or filler" in quality.reason
    assert prose_report.unnatural_records <= 1 and prose_report.quality > 0.9
    assert salad_report.score * 3 < prose_report.score


def test_prose_and_comments_in_several_languages_are_natural() -> None:
    assert not flagged(COMMENTS).any()
    assert flagged(natural_records()).mean() < 0.03


def test_other_scripts_and_short_texts_are_not_judged() -> None:
    assert not flagged(["東京 は 今日 とても 暑い です ね 本当 に 大変 です よ"]).any()
    assert not flagged(["Привет, как дела сегодня? Всё хорошо или нет, скажи мне"]).any()
    assert not flagged(["banana river purple"]).any()  # too short to tell


def test_labelled_set_precision_and_recall() -> None:
    """The figures bench/natural_text.py prints, held to what RESULTS.md records."""
    classes = labelled_set()
    marks = {name: flagged(texts) for name, texts in classes.items()}
    salad = np.concatenate([m for name, m in marks.items() if name.startswith("salad")])
    precision = salad.sum() / (salad.sum() + marks["natural"].sum())
    assert precision > 0.97
    assert marks["salad: invented words"].mean() > 0.75
    assert marks["salad: uniform vocabulary"].mean() > 0.7
    assert marks["salad: natural frequencies"].mean() > 0.3
    assert marks["salad: shuffled sentences"].mean() > 0.3
