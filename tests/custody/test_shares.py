"""The sharing itself: any M shares give the key back (our combine agrees with
pycryptodome's for every subset), fewer do not, a sealed share opens only with its node's
key and only for its contribution, and a node's key is never made outside the local stack."""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from Crypto.Protocol.SecretSharing import Shamir

from dao_service.core.shares import (
    Share,
    combine_key,
    new_node_key,
    node_public_key,
    open_share,
    seal_share,
    split_key,
)
from dao_service.custody.node_key import NodeKey
from dao_service.exceptions import ConfigurationError, CustodyError


@pytest.mark.parametrize(("threshold", "count"), [(2, 3), (3, 5), (1, 3), (4, 7), (5, 5)])
def test_any_m_shares_give_the_key_and_agree_with_the_library(threshold: int, count: int) -> None:
    for _ in range(10):
        key = os.urandom(32)
        shares = split_key(key, threshold, count)
        assert [s.index for s in shares] == list(range(1, count + 1))
        for chosen in itertools.combinations(shares, threshold):
            assert combine_key(list(chosen), threshold) == key
            if threshold > 1:
                library = b"".join(
                    Shamir.combine([(s.index, s.value[h : h + 16]) for s in chosen])
                    for h in (0, 16)
                )
                assert library == key


def test_fewer_than_m_shares_do_not_give_the_key() -> None:
    key = os.urandom(32)
    shares = split_key(key, 3, 5)
    with pytest.raises(CustodyError, match="2 distinct shares; 3 are needed"):
        combine_key(shares[:2], 3)
    with pytest.raises(CustodyError, match="1 distinct shares; 3 are needed"):
        combine_key([shares[0], shares[0], shares[0]], 3)  # one share three times is one
    for pair in itertools.combinations(shares, 2):  # interpolated as if two were enough
        assert combine_key(list(pair), 2) != key


def test_a_sealed_share_opens_only_with_its_node_key_and_for_its_contribution() -> None:
    nodes = [new_node_key() for _ in range(2)]
    share = split_key(os.urandom(32), 2, 2)[0]
    sealed = seal_share(node_public_key(nodes[0]), "contribution-a", share)
    assert open_share(nodes[0], sealed, "contribution-a") == share
    with pytest.raises(CustodyError, match="does not open with this node's key"):
        open_share(nodes[1], sealed, "contribution-a")
    with pytest.raises(CustodyError, match="is of contribution contribution-a, not of b"):
        open_share(nodes[0], sealed, "b")


def test_bad_splits_are_refused_with_what_was_wrong() -> None:
    with pytest.raises(CustodyError, match="only 32-byte keys are split"):
        split_key(b"short", 2, 3)
    with pytest.raises(CustodyError, match="a threshold of 4 of 3 nodes is not possible"):
        split_key(os.urandom(32), 4, 3)
    with pytest.raises(CustodyError, match=r"an index 1\.\.255 and 32 bytes"):
        Share(0, os.urandom(32))


def test_a_node_key_is_made_only_where_asked_and_a_node_without_one_does_not_start(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "node.key"
    with pytest.raises(
        ConfigurationError, match=r"No custody node key at .*a new key is made only"
    ):
        NodeKey(missing)
    assert not missing.exists()
    made = NodeKey(missing, generate=True)
    assert missing.stat().st_mode & 0o777 == 0o600
    assert NodeKey(missing).public_key == made.public_key  # kept, not made again

    env = {**os.environ, "DATADAO_NODE_KEY_FILE": str(tmp_path / "absent.key"),
           "DATADAO_NODE_DATABASE_URL": f"sqlite:///{tmp_path / 'n.sqlite3'}",
           "DATADAO_NODE_CHAIN_RPC_URL": "http://127.0.0.1:9",
           "DATADAO_NODE_MANIFEST_PATH": str(tmp_path / "deployment.json")}  # fmt: skip
    started = subprocess.run(
        [sys.executable, "-m", "dao_service.custody_node"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode == 1
    assert started.stderr.startswith("custody node: No custody node key at")
    assert "Traceback" not in started.stderr
    assert not (tmp_path / "absent.key").exists()
