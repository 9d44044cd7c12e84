"""The regression corpus (tests/utils/corpus.py) gets the accept/reject decisions
recorded from the engine before the streaming rewrite; where that engine raised (deep
nesting, a broken checkfile row), the export is now a rejection with a reason."""

import json

import pytest

from tests.utils.corpus import VERDICTS, Case, cases, verdict

# Decisions that differ from the recorded ones, each with why.
DIFFERENT = {
    "code-required-present": "a code inside the export no longer proves anything by itself: "
    "it must be found on the platform's copy of the item, and this case checks no platform",
}
RECORDED: dict[str, dict[str, object]] = json.loads(VERDICTS.read_text())
CASES = list(cases())


def test_the_corpus_is_the_recorded_one() -> None:
    assert [c.name for c in CASES] == list(RECORDED)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_decision_as_recorded(case: Case) -> None:
    then, now = RECORDED[case.name], verdict(case)
    if case.name in DIFFERENT:
        assert now["accepted"] != then["accepted"], "no longer differs: drop it from DIFFERENT"
    else:
        assert now["accepted"] == then["accepted"], (then, now)
    if not now["accepted"]:
        assert now["reasons"] and all(str(r).strip() for r in now["reasons"])  # type: ignore[attr-defined]
    if str(then["outcome"]).startswith("raised"):
        assert now["outcome"] == "rejected"
