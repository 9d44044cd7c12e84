"""Custody nodes for tests: real node processes (`python -m dao_service.custody_node`) on
loopback, and deposits as a validator makes them."""

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dao_service.chain import connection
from dao_service.chain.custody_deposit import deposit_text, sign_text
from dao_service.chain.custody_set import CustodyNode, CustodyNodeSet, as_arguments
from dao_service.chain.dev_accounts import VALIDATOR_INDEX, dev_account
from dao_service.chain.manifest import DeploymentManifest, write_manifest
from dao_service.core.config import Settings
from dao_service.core.shares import seal_share, split_key
from dao_service.stack import custody_nodes
from dao_service.stack.process import ManagedProcess
from tests.utils.chain import Dao

VALIDATOR = dev_account(VALIDATOR_INDEX)
RELAYER = dev_account(8)


def record(dao: Dao, blob: "Blob", contributor: str, dataset_id: int = 1) -> None:
    """Record `blob`'s contribution on-chain, as minting does: a node takes a deposit only
    for a contribution the registry records, live, for its contributor."""
    fingerprint = bytes.fromhex(blob.fingerprint.removeprefix("0x"))
    attestation = dao.attestation(contributor, 1, dataset_id=dataset_id, fingerprint=fingerprint)
    dao.contribute(attestation, [VALIDATOR], RELAYER)


@dataclass
class RunningNodes:
    settings: Settings
    node_set: CustodyNodeSet
    processes: list[ManagedProcess]

    def stop(self, index: int) -> None:
        self.processes[index - 1].stop()

    def start(self, index: int) -> None:
        process = self.processes[index - 1]
        process.start()
        url = self.node_set.nodes[index - 1].url
        process.wait_ready(lambda: custody_nodes.node_answers(url), 60)

    def folder(self, index: int) -> str:
        return str(self.settings.custody_dir / f"node-{index}")


def set_on_chain(dao: Dao, threshold: int, nodes: list[CustodyNode]) -> CustodyNodeSet:
    """Make `nodes` the chain's current custody node set, as an executed vote would (kept
    if it already is); the set as the chain now records it."""
    current = dao.current_node_set()
    if current is None or (current.threshold, current.nodes) != (threshold, nodes):
        dao.as_timelock(dao.node_sets.functions.setNodeSet(threshold, as_arguments(nodes)))
        current = dao.current_node_set()
    assert current is not None
    return current


@contextmanager
def running_nodes(
    settings: Settings, manifest: DeploymentManifest, on_chain: bool = True
) -> Iterator[RunningNodes]:
    """The local stack's node set (3 nodes, M = 2) running, made the chain's current set
    (or, `on_chain` false, only proposed: the set the chain's next one would be); the
    nodes read `manifest` from its file."""
    write_manifest(settings.manifest_file, manifest)
    dao = Dao(connection.connect(settings.chain_rpc_url), manifest)
    listed = custody_nodes.local_nodes(settings)
    if on_chain:
        node_set = set_on_chain(dao, settings.custody_threshold, listed)
    else:
        current = dao.current_node_set()
        epoch = (current.epoch if current else 0) + 1
        node_set = CustodyNodeSet(epoch=epoch, threshold=settings.custody_threshold, nodes=listed)
    processes = [custody_nodes.node_process(settings, i) for i in range(1, 4)]
    for process in processes:
        process.env["DATADAO_NODE_BLOCK_POLL_SECONDS"] = "0"  # grant changes seen at once
        process.env["DATADAO_NODE_SHRED_POLL_SECONDS"] = "0.2"
        process.start()
    nodes = RunningNodes(settings, node_set, processes)
    try:
        for process, node in zip(processes, node_set.nodes, strict=True):
            process.wait_ready(lambda url=node.url: custody_nodes.node_answers(url), 60)  # type: ignore[misc]
        yield nodes
    finally:
        for process in processes:
            process.stop()


@dataclass(frozen=True)
class Blob:
    sequence: int
    contribution_id: str
    fingerprint: str
    file_key: bytes
    iv: bytes
    ciphertext: bytes
    plaintext: bytes


def new_blob(sequence: int, plaintext: bytes = b"") -> Blob:
    key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    plaintext = plaintext or os.urandom(64)
    return Blob(
        sequence, f"c{sequence:04d}-" + os.urandom(4).hex(), "0x" + os.urandom(32).hex(),
        key, iv, AESGCM(key).encrypt(iv, plaintext, None), plaintext,
    )  # fmt: skip


def deposit(
    node_set: CustodyNodeSet,
    blob: Blob,
    contributor: str,
    dataset_id: int = 1,
    signer: object = VALIDATOR,
    only: list[int] | None = None,
) -> list[requests.Response]:
    """Split `blob`'s key and deposit each share with its node, as the intake worker does."""
    shares = split_key(blob.file_key, node_set.threshold, len(node_set.nodes))
    answers = []
    for index, (node, share) in enumerate(zip(node_set.nodes, shares, strict=True), start=1):
        if only is not None and index not in only:
            continue
        sealed = seal_share(node.public_key, blob.contribution_id, share)
        sha256 = "0x" + "ab" * 32
        text = deposit_text(node.public_key, blob.sequence, blob.contribution_id, dataset_id,
                            contributor, blob.fingerprint, "bafy" + blob.contribution_id,
                            sha256, blob.iv, sealed)  # fmt: skip
        body = {"sequence": blob.sequence, "contribution_id": blob.contribution_id,
                "dataset_id": dataset_id, "contributor": contributor,
                "fingerprint": blob.fingerprint, "cid": "bafy" + blob.contribution_id,
                "sha256": sha256, "iv": base64.b64encode(blob.iv).decode(),
                "sealed_share": sealed.hex(), "signature": sign_text(signer, text)}  # fmt: skip
        answers.append(requests.post(f"{node.url}/api/shares", json=body, timeout=10))
    return answers
