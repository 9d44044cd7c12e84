"""Ownership: verification code, account binding and the wallet's signature, each reported
as pass / fail / not available, and the acceptance policy built on them."""

from datetime import timedelta

from dao_service.stack.sample_exports import (
    reddit_export,
    reddit_files,
    reddit_spec,
    reddit_time,
    with_checkfile,
    x_archive,
    x_spec,
    zip_files,
)
from tests.utils.platform_standin import StandIn
from tests.validators.conftest import CHAIN_ID, OTHER_WALLET, REGISTRY, WALLET, run
from validators import CheckStatus, DedupIndex, verification_code
from validators.dedup import Binding


def export_with_comment(text: str, days_before_export: int = 10, seed: int = 1) -> bytes:
    spec = reddit_spec(seed=seed)
    spec.comments[0]["body"] = text
    spec.comments[0]["date"] = reddit_time(spec.export_time - timedelta(days=days_before_export))
    return zip_files(with_checkfile(reddit_files(spec)))


def ownership(validation) -> dict[str, CheckStatus]:  # type: ignore[no-untyped-def]
    return {c.name: c.status for c in validation.report.ownership}


def test_code_is_derived_from_wallet_and_deployment() -> None:
    code = verification_code(WALLET, CHAIN_ID, REGISTRY)
    assert code.startswith("DATADAO-") and len(code) == len("DATADAO-XXXXX-XXXXX")
    assert code == verification_code(WALLET.lower(), CHAIN_ID, REGISTRY)
    assert code != verification_code(OTHER_WALLET, CHAIN_ID, REGISTRY)
    assert code != verification_code(WALLET, 1, REGISTRY)
    assert code != verification_code(WALLET, CHAIN_ID, OTHER_WALLET)


def test_posted_code_proves_ownership_and_scores_highest(
    index: DedupIndex, platform: StandIn
) -> None:
    code = verification_code(WALLET, CHAIN_ID, REGISTRY)
    export = export_with_comment(f"Binding my account to the data DAO: {code.lower()}")
    platform.content.publish_export(export)  # posted from the account: on its public copy
    result = run(export, index, platform=platform.policy())
    assert result.report.accepted
    assert ownership(result)["verification code"] == CheckStatus.PASS
    assert result.report.ownership_score == 1.0

    without = run(reddit_export(), DedupIndex(":memory:"))
    assert ownership(without)["verification code"] == CheckStatus.NOT_AVAILABLE
    assert without.report.accepted and without.report.ownership_score == 0.6
    assert result.report.score > without.report.score


def test_code_of_another_wallet_rejects(index: DedupIndex) -> None:
    other = verification_code(OTHER_WALLET, CHAIN_ID, REGISTRY)
    result = run(export_with_comment(f"verifying {other}"), index)
    assert ownership(result)["verification code"] == CheckStatus.FAIL
    assert not result.report.accepted
    assert any("the code of another wallet" in r for r in result.report.rejection_reasons)


def test_dao_can_require_the_code(index: DedupIndex) -> None:
    result = run(reddit_export(), index, require_code=True)
    assert not result.report.accepted
    assert "requires the verification code" in " ".join(result.report.rejection_reasons)


def test_account_is_bound_to_the_first_wallet_only(index: DedupIndex) -> None:
    first = run(export_with_comment("first upload with some words in it", seed=1), index)
    assert first.report.accepted
    first.commit(index)
    assert index.bound_wallet("reddit", "alice_redditor") == WALLET

    second = run(
        export_with_comment("newer comments from the same account", seed=9),
        index,
        wallet=OTHER_WALLET,
    )
    assert ownership(second)["account binding"] == CheckStatus.FAIL
    assert not second.report.accepted
    reasons = " ".join(second.report.rejection_reasons)
    assert "this reddit account is bound to another wallet" in reasons
    assert WALLET.lower() not in str(second.report.model_dump()).lower()  # never whose wallet

    same_wallet = run(export_with_comment("newer comments from the same account", seed=9), index)
    assert ownership(same_wallet)["account binding"] == CheckStatus.PASS
    assert same_wallet.report.accepted


def test_wallet_signature_outcome_is_recorded(index: DedupIndex) -> None:
    assert ownership(run(reddit_export(), index))["wallet signature"] == CheckStatus.NOT_AVAILABLE
    assert (
        ownership(run(reddit_export(), index, signature_verified=True))["wallet signature"]
        == CheckStatus.PASS
    )
    bad = run(reddit_export(), index, signature_verified=False)
    assert ownership(bad)["wallet signature"] == CheckStatus.FAIL and not bad.report.accepted


def test_without_proof_nothing_is_bound_where_the_dao_requires_it(index: DedupIndex) -> None:
    """Issue 22: a stranger uploads someone's public history, with no code and no sign-in."""
    squatted = run(export_with_comment("public comments anyone can copy"), index,
                   wallet=OTHER_WALLET, require_proof=True)  # fmt: skip
    assert not squatted.report.accepted and squatted.binding is None
    assert ownership(squatted)["account binding"] == CheckStatus.FAIL
    reasons = " ".join(squatted.report.rejection_reasons)
    assert "nothing proves this reddit account is yours" in reasons
    assert "sign in with Reddit" in reasons and "verification code DATADAO-" in reasons
    assert "account binding" in squatted.report.required_checks
    assert index.binding("reddit", "alice_redditor") is None


def test_posted_code_binds_by_proof_where_the_dao_requires_it(
    index: DedupIndex, platform: StandIn
) -> None:
    code = verification_code(WALLET, CHAIN_ID, REGISTRY)
    export = export_with_comment(f"my data DAO code: {code}")
    platform.content.publish_export(export)
    result = run(export, index, platform=platform.policy(), require_proof=True)
    assert result.report.accepted and result.binding_proven
    result.commit(index)
    bound = index.binding("reddit", "alice_redditor")
    assert bound is not None and bound.wallet == WALLET and bound.proven
    # Bound by proof: the same wallet's next export needs no proof again.
    again = run(export_with_comment("more words from the owner", seed=5), index, require_proof=True)
    assert again.report.accepted, again.report.rejection_reasons


def test_the_owner_who_proves_takes_an_unproven_binding_back(
    index: DedupIndex, platform: StandIn
) -> None:
    squatted = run(export_with_comment("copied public comments"), index, wallet=OTHER_WALLET)
    assert squatted.report.accepted and not squatted.binding_proven  # allowed here, unproven
    squatted.commit(index)
    assert index.binding("reddit", "alice_redditor") == Binding(OTHER_WALLET, proven=False)

    # Without proof the owner is refused, and told how to take the account back.
    refused = run(export_with_comment("the owner's own words", seed=3), index)
    assert not refused.report.accepted
    assert "to take it back" in " ".join(refused.report.rejection_reasons)

    code = verification_code(WALLET, CHAIN_ID, REGISTRY)
    export = export_with_comment(f"it is mine: {code}", seed=4)
    platform.content.publish_export(export)
    owner = run(export, index, platform=platform.policy())
    assert owner.report.accepted and owner.binding_proven
    assert ownership(owner)["account binding"] == CheckStatus.PASS
    owner.commit(index)
    assert index.binding("reddit", "alice_redditor") == Binding(WALLET, proven=True)
    # A proven binding is not taken by anyone: the stranger is refused from now on.
    late = run(export_with_comment("copied again", seed=6), index, wallet=OTHER_WALLET)
    assert not late.report.accepted
    assert "to take it back" not in " ".join(late.report.rejection_reasons)


def test_an_x_code_does_not_prove_an_account_id_the_export_only_states(
    index: DedupIndex, platform: StandIn
) -> None:
    """Attacker's review: an X export carrying the victim's numeric account id beside the
    attacker's own handle, with the code posted from the attacker's account. The code
    proves the handle, not the id the binding is keyed by: nothing is bound."""
    spec = x_spec(seed=7)
    spec.account_id = "4242424242"  # the victim's
    code = verification_code(WALLET, CHAIN_ID, REGISTRY)
    tweet = spec.tweets[0]["tweet"]
    assert isinstance(tweet, dict)
    tweet["full_text"] = f"my data DAO code: {code}"
    export = x_archive(spec)
    platform.content.publish_export(export)
    result = run(export, index, platform=platform.policy(), require_proof=True)
    assert ownership(result)["verification code"] == CheckStatus.PASS  # the handle's
    assert not result.report.accepted and result.binding is None
    assert ownership(result)["account binding"] == CheckStatus.FAIL
    assert index.binding("twitter", "4242424242") is None
