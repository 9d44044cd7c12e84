"""The regression corpus (tests/utils/corpus.py) gets the accept/reject decisions
recorded from the engine before the streaming rewrite; where that engine raised (deep
nesting, a broken checkfile row), the export is now a rejection with a reason. Each case
is validated as a contributor's machine uploads it (only the files its source takes)."""

import json

import pytest

from tests.utils.corpus import VERDICTS, Case, cases, verdict

# Decisions that differ from the recorded ones, each with why.
PRIVATE_ALTERED = (
    "only a private file (post_votes.csv) was altered: the upload never carries it, and the "
    "checkfile's entry for a file left on the contributor's machine is not checked"
)
EXTRA_FILES = (
    "the mutation added files no source takes (extra/*.csv): the upload never carries them"
)
DIFFERENT = {
    "code-required-present": "a code inside the export no longer proves anything by itself: "
    "it must be found on the platform's copy of the item, and this case checks no platform",
    "reddit-unlisted-file": "extra.csv is not a file Reddit's source takes: it stays on the "
    "contributor's machine (an upload carrying it is refused, tests/validators/test_selection.py)",
    **{
        name: PRIVATE_ALTERED
        for name in (
            "mutated-20-truncation",
            "mutated-34-nested-zips",
            "mutated-38-spliced-junk",
            "mutated-74-truncation",
            "mutated-151-spliced-junk",
            "mutated-292-truncation",
            "mutated-384-spliced-junk",
        )
    },
    **{
        name: EXTRA_FILES
        for name in (
            "mutated-92-many-entries",
            "mutated-205-many-entries",
            "mutated-261-many-entries",
            "mutated-306-many-entries",
            "mutated-387-many-entries",
        )
    },
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
