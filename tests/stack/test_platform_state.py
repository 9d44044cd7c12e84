"""The platform stand-in keeps what was published across restarts, appending one line per
publication (it rewrote everything each time: hundreds of exports took minutes)."""

from pathlib import Path

from dao_service.stack.platform_standin import PlatformContent
from dao_service.stack.sample_exports import reddit_export, reddit_spec


def test_published_items_survive_a_restart_and_a_line_cut_short(tmp_path: Path) -> None:
    state = tmp_path / "platforms.json"
    first = PlatformContent.kept_in(state)
    one = first.publish_export(reddit_export(reddit_spec(seed=1, comments=5, account="ann")))
    two = first.publish_export(reddit_export(reddit_spec(seed=2, comments=7, account="bob")))
    assert len(state.read_text().splitlines()) == 2  # appended, not rewritten

    with open(state, "a") as kept:
        kept.write('{"reddit": {"t1_cut')  # a crash in the middle of a third

    again = PlatformContent.kept_in(state)
    assert len(again.reddit) == one + two == len(first.reddit)
    assert set(again.accounts["reddit"]) == {"ann", "bob"}
    assert again.reddit == first.reddit
