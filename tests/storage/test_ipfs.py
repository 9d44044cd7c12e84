"""The IPFS store against a real js-ipfs node: Kubo's CIDs, pinning, bounded waits."""

import os

import ipfshttpclient
import pytest

from dao_service.storage.ipfs import IpfsStore

HELLO = b"hello world\n"
HELLO_CIDV0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
HELLO_CIDV1_RAW = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


def test_add_gives_kubos_cidv1_and_pins(ipfs: IpfsStore) -> None:
    cid = ipfs.add(HELLO)
    assert cid == HELLO_CIDV1_RAW
    assert ipfs.pinned(cid)
    assert ipfs.cat(cid) == HELLO


def test_client_add_cat_pin_with_cidv0(ipfs: IpfsStore) -> None:
    client = ipfs._client
    assert client.add_bytes(HELLO) == HELLO_CIDV0
    assert client.cat(HELLO_CIDV0, timeout=10) == HELLO
    client.pin.add(HELLO_CIDV0, timeout=10)
    assert HELLO_CIDV0 in client.pin.ls(type="recursive", timeout=10)["Keys"]


def test_large_blob_round_trips_across_chunks(ipfs: IpfsStore) -> None:
    blob = bytes(range(256)) * 8192  # 2 MiB: several 256 KiB chunks
    assert ipfs.cat(ipfs.add(blob)) == blob


def test_cat_of_a_missing_cid_times_out_instead_of_hanging(ipfs: IpfsStore) -> None:
    missing = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    with pytest.raises(ipfshttpclient.exceptions.TimeoutError):
        ipfs._client.cat(missing, timeout=1)
    assert not ipfs.pinned(missing)


def test_cid_of_is_the_cid_add_gives_without_storing(ipfs: IpfsStore) -> None:
    data = os.urandom(300_000)  # more than one 256 KiB chunk: a DAG root, not a raw leaf
    cid = ipfs.cid_of(data)
    assert not ipfs.pinned(cid)
    assert ipfs.add(data) == cid and ipfs.pinned(cid)
