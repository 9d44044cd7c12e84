"""Damaged anvil state files are recovered, never a reason to refuse to start."""

from pathlib import Path

from dao_service.stack.chain_node import keep_good_copy, recover_state


def test_truncated_state_falls_back_to_the_last_good_copy(tmp_path: Path) -> None:
    state = tmp_path / "anvil-state.json"
    state.write_text('{"block": {"number": 7}, "accounts": {}}')
    keep_good_copy(state)
    state.write_text('{"block": {"numb')  # a kill in the middle of a dump
    warning = recover_state(state)
    assert warning and "restored the last good copy" in warning
    assert state.read_text() == '{"block": {"number": 7}, "accounts": {}}'
    assert list(tmp_path.glob("anvil-state.json.broken-*"))


def test_damaged_state_without_a_copy_starts_empty_and_keeps_the_damaged_file(
    tmp_path: Path,
) -> None:
    state = tmp_path / "anvil-state.json"
    state.write_text("{not json")
    warning = recover_state(state)
    assert warning and "starts empty" in warning
    assert not state.exists()
    assert [p.read_text() for p in tmp_path.glob("anvil-state.json.broken-*")] == ["{not json"]


def test_good_state_is_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "anvil-state.json"
    state.write_text("{}")
    assert recover_state(state) is None
    assert state.read_text() == "{}"
