"""The collecting node's arithmetic over validators' signatures and verdicts: signatures
in signer order, one per signer, and M of N counted the way the registry counts them."""

import pytest

from dao_service.chain.dev_accounts import dev_account
from dao_service.chain.validator_set import Verdict, collect, signer_order
from dao_service.exceptions import ServiceBusy, SignaturesMissing
from dao_service.intake.records import with_verdicts
from dao_service.models import Contribution, Stage

A, B, C = (dev_account(i).address for i in (1, 10, 11))


def test_signatures_go_in_increasing_signer_order_once_per_signer() -> None:
    own = (B, b"b" * 65)
    others = ([(C, b"c" * 65), (A, b"a" * 65), (B.lower(), b"x" * 65)], [])
    ordered = collect(own, others, 3, "contribution x")
    by_address = sorted([A, B, C], key=lambda a: int(a, 16))
    assert ordered == [{A: b"a", B: b"b", C: b"c"}[a] * 65 for a in by_address]
    assert signer_order([(C, b"c"), (A, b"a")]) == [
        s for _, s in sorted([(A, b"a"), (C, b"c")], key=lambda p: int(p[0], 16))
    ]


def test_too_few_signers_is_named_with_each_refusal() -> None:
    own = (A, b"a" * 65)
    with pytest.raises(SignaturesMissing) as missing:
        collect(own, ([(A, b"again" * 13)], [f"{B}: did not answer"]), 2, "contribution x")
    assert missing.value.user_message == (
        f"contribution x: 1 of the 2 validator signatures needed ({B}: did not answer)"
    )


def verdict(validator: str, status: str) -> Verdict:
    return Verdict(validator=validator, status=status)  # type: ignore[arg-type]


def accepted() -> Contribution:
    return Contribution(
        public_id="c",
        stage=Stage.VALIDATED,
        fingerprint="0x" + "11" * 32,
        wrapped_key=b"k",
        refined_sha256="0x" + "22" * 32,
        report={"accepted": True, "rejection_reasons": []},
    )


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        (["agrees", "agrees", "away"], "accepted"),
        (["agrees", "disagrees", "agrees"], "accepted"),
        (["agrees", "disagrees", "disagrees"], "rejected"),
        (["agrees", "disagrees", "unable"], "rejected"),
        (["agrees", "away", "disagrees"], "again"),  # the one away could make it two
        (["agrees", "away", "away"], "again"),
    ],
)
def test_m_of_n_verdicts(statuses: list[str], outcome: str) -> None:
    contribution = accepted()
    verdicts = [verdict(v, s) for v, s in zip((A, B, C), statuses, strict=True)]
    if outcome == "again":
        with pytest.raises(ServiceBusy):
            with_verdicts(contribution, verdicts, 2)
        assert contribution.stage == Stage.VALIDATED and "verdicts" not in contribution.report
        return
    with_verdicts(contribution, verdicts, 2)
    assert [v["status"] for v in contribution.report["verdicts"]] == statuses
    if outcome == "accepted":
        assert contribution.stage == Stage.VALIDATED and contribution.fingerprint
        return
    assert contribution.stage == Stage.REJECTED
    assert contribution.fingerprint is None and contribution.wrapped_key is None
    (reason,) = contribution.report["rejection_reasons"]
    assert reason.startswith("1 of 3 validators agreed on this export, and 2 must sign it")
