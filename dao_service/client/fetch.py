"""`data fetch`: a renter's wallet signs the service's challenge, receives each file key
encrypted to its own public key, downloads each blob from IPFS, checks it against its CID,
decrypts it locally and checks the plaintext's SHA-256. Each blob is one contribution's
refined records (Parquet, schema datadao-records): they are written as part files under
`out/data/` (Parquet as they came, or JSON lines), with a data card beside them.

The keys come a page at a time; after each page the files and the manifest are on disk,
and the cursor of the next page is kept in `out` (FETCH_STATE), so a fetch that stops
resumes at the page it stopped in (while the cursor is valid; else from the start, where
a file already on disk with the right SHA-256 is not fetched again). One blob is in
memory at a time."""

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from dao_service.client.core import DaoClient
from dao_service.client.custody import CustodyClient
from dao_service.client.governance import short
from dao_service.exceptions import FetchFailed, Refused, ServiceRefused

MANIFEST_NAME = "manifest.json"
FETCH_STATE = ".fetch-state.json"
DATA_DIR = "data"
FORMATS = ("parquet", "jsonl")
SCHEMA_NAME = "datadao-records/"
PAGE_SIZE = 1000
FileProgress = Callable[[str, int, int], None]  # (contribution id, files done, files total)


class BlobStore(Protocol):
    """Where the ciphertexts are: the deployment's IPFS node (the caller opens it, so that
    this library needs none of the service's storage)."""

    def cat(self, cid: str) -> bytes: ...

    def cid_of(self, data: bytes) -> str: ...


@dataclass(frozen=True)
class FetchedFile:
    contribution_id: str
    cid: str
    sha256: str  # of the decrypted blob, as attested
    file: str  # under out/, e.g. data/<id>.parquet
    size: int
    records: int
    file_sha256: str  # of the file as written (the blob itself, for Parquet)
    schema_id: str


@dataclass
class FetchResult:
    dataset_id: int
    address: str
    files: list[FetchedFile]
    downloaded: int
    skipped: int
    removed: list[str]
    manifest: Path
    datacard: Path
    records: int
    unused_nodes: list[str] = field(default_factory=list)  # custody nodes not used, and why
    # Contributions fewer than M answering nodes gave a share of (fetch again later).
    incomplete: list[str] = field(default_factory=list)


def grant_refusal(client: DaoClient, address: str, dataset_id: int) -> str:
    """Why `address` may not decrypt `dataset_id`, read from AccessRegistry."""
    expires, revoked = client.access.call("grantOf", dataset_id, address)
    who = f"{short(address)} on dataset {dataset_id}"
    if expires == 0:
        return (
            f"no access grant for {who}: a rental grants it once its proposal is executed "
            "(`datadao rent status` says how far yours is; `datadao rent propose --help` "
            "says how to request one)"
        )
    if revoked:
        return f"the access grant for {who} was revoked"
    ended = datetime.fromtimestamp(expires, UTC)
    return f"no access grant for {who} (expired {ended:%Y-%m-%d %H:%M} UTC)"


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "0x" + digest.hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# A contribution id names a file in --out: never a path, whatever the service answers.
CONTRIBUTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _file_name(contribution_id: str, fmt: str) -> str:
    return f"{DATA_DIR}/{contribution_id}.{fmt}"


def _previous(out: Path) -> dict[str, dict[str, Any]]:
    """The files an earlier fetch into `out` wrote (only names it could have written)."""
    try:
        entries = json.loads((out / MANIFEST_NAME).read_text())["files"]
        return {
            e["contribution_id"]: e
            for e in entries
            if CONTRIBUTION_ID.fullmatch(e["contribution_id"])
            and e["file"] in (_file_name(e["contribution_id"], f) for f in FORMATS)
            and set(e) == set(FetchedFile.__dataclass_fields__)
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def sign_challenge(account: Any, text: str) -> str:
    """The renter's personal_sign (EIP-191) of the service's key-release challenge."""
    from eth_account.messages import encode_defunct

    return "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()


def open_released(account: Any, key: dict[str, Any], ciphertext: bytes) -> bytes:
    """Decrypt one blob with its key: combined from the custody nodes' shares, or released
    by the service (ECIES to `account`), then AES-256-GCM."""
    import ecies
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    file_key = key.get("file_key") or ecies.decrypt(
        account.key.hex(), bytes.fromhex(key["encrypted_key"])
    )
    try:
        return AESGCM(file_key).decrypt(base64.b64decode(key["iv"]), ciphertext, None)
    except InvalidTag as exc:
        raise FetchFailed(
            f"contribution {key['contribution_id']} does not decrypt with its released key"
        ) from exc


def check_challenge(
    text: str, address: str, dataset_id: int, chain_id: int, access_registry: str
) -> None:
    """Sign only a key-release challenge for this address, dataset and chain: a service
    must not get the wallet to sign anything else (another site's sign-in, say). The
    text must be exactly what `challenge_text` writes, with only its nonce and expiry free."""
    from dao_service.chain.challenges import challenge_text

    fields = dict(line.split(": ", 1) for line in text.split("\n") if ": " in line)
    nonce, expires = fields.get("nonce", ""), fields.get("expires", "")
    if not expires.isdigit() or text != challenge_text(
        address, dataset_id, chain_id, access_registry, nonce, int(expires)
    ):
        raise FetchFailed(
            "the service asked the wallet to sign something other than a key-release "
            f"challenge for {address} on dataset {dataset_id}; nothing was signed"
        )


def recorded_cids(client: DaoClient, dataset_id: int) -> set[str]:
    """The CIDs of `dataset_id`'s contributions that the chain records and that were not
    withdrawn or voided: a service cannot pass anything else off as the dataset. A
    contribution stored before refinement existed has the CID of its refined records."""
    registry = client.registry
    recorded = {
        log.args["fingerprint"]: log.args["cid"]
        for log in registry.logs("ContributionRecorded", client.deployed_at, datasetId=dataset_id)
    }
    for log in registry.logs("ContributionRefined", client.deployed_at, datasetId=dataset_id):
        if log.args["fingerprint"] in recorded:
            recorded[log.args["fingerprint"]] = log.args["cid"]
    for gone in ("ContributionWithdrawn", "ContributionVoided"):
        for log in registry.logs(gone, client.deployed_at, datasetId=dataset_id):
            recorded.pop(log.args["fingerprint"], None)
    return set(recorded.values())


def _first_page(client: DaoClient, account: Any, dataset_id: int, page_size: int) -> dict[str, Any]:
    service = client.service
    challenge = service.key_challenge(account.address, dataset_id)
    check_challenge(
        challenge["text"],
        account.address,
        dataset_id,
        client.chain_id,
        client.access_registry_address,
    )
    try:
        return service.release_keys(
            account.address,
            challenge,
            dataset_id,
            sign_challenge(account, challenge["text"]),
            page_size,
        )
    except ServiceRefused as exc:
        if exc.status == 403 and "grant" in exc.user_message:
            raise Refused(grant_refusal(client, account.address, dataset_id)) from exc
        raise


def _resumed_page(
    client: DaoClient, account: Any, dataset_id: int, out: Path, page_size: int
) -> dict[str, Any] | None:
    """The page an interrupted fetch into `out` stopped at, if its cursor still works."""
    try:
        state = json.loads((out / FETCH_STATE).read_text())
        if state["dataset_id"] != dataset_id or state["address"] != account.address:
            return None
        return client.service.next_keys(str(state["cursor"]), page_size)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    except ServiceRefused as exc:
        if exc.status == 403:  # expired, or the grant changed: start over
            return None
        raise


Pages = Iterator[tuple[list[dict[str, Any]], Any]]  # (keys, where to resume after them)


def _service_pages(
    client: DaoClient, account: Any, dataset_id: int, out: Path, page_size: int
) -> tuple[Pages, bool]:
    """The service's pages of released keys (a deployment without custody nodes)."""
    page = _resumed_page(client, account, dataset_id, out, page_size)
    resumed = page is not None
    if page is None:
        page = _first_page(client, account, dataset_id, page_size)

    def pages(page: dict[str, Any]) -> Pages:
        while True:
            cursor = page.get("next_cursor")
            yield page["keys"], cursor
            if not cursor:
                return
            page = client.service.next_keys(cursor, page_size)

    return pages(page), resumed


def _node_pages(
    client: DaoClient,
    sets: list[CustodyClient],
    account: Any,
    dataset_id: int,
    out: Path,
    page_size: int,
) -> tuple[Pages, bool]:
    """Keys combined from the custody nodes' shares, a round of pages at a time: from the
    current node set, then from each older one (the contributions split for it; a node's
    key belongs to one set, so each set gives only its own, combined with its own M)."""
    start, saved = 0, None
    try:
        state = json.loads((out / FETCH_STATE).read_text())
        if state["dataset_id"] == dataset_id and state["address"] == account.address:
            epochs = [nodes.node_set.epoch for nodes in sets]
            start, saved = epochs.index(state["epoch"]), sets[0].resumed(state["cursor"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        start, saved = 0, None

    def pages() -> Pages:
        resumed = saved
        try:
            for nodes in sets[start:]:
                signed = None
                if resumed is None:  # each set's nodes take one request once: sign anew
                    signed = nodes.signed_request(
                        account, dataset_id, client.chain_id, client.access_registry_address
                    )
                for done in nodes.release(account, signed, page_size, resumed):
                    keys = [
                        {"contribution_id": k.contribution_id, "cid": k.cid, "sha256": k.sha256,
                         "iv": base64.b64encode(k.iv).decode(), "file_key": k.file_key}
                        for k in done.keys
                    ]  # fmt: skip
                    yield keys, {"epoch": nodes.node_set.epoch, "cursor": done.state}
                resumed = None
        except ServiceRefused as exc:
            if exc.status == 403 and "grant" in exc.user_message:
                raise Refused(grant_refusal(client, account.address, dataset_id)) from exc
            raise

    return pages(), saved is not None


def fetch_dataset(
    client: DaoClient,
    account: Any,
    dataset_id: int,
    out: Path,
    ipfs: BlobStore,
    progress: FileProgress | None = None,
    page_size: int = PAGE_SIZE,
    fmt: str = "parquet",
) -> FetchResult:
    """Fetch every contribution of `dataset_id` that `account` may decrypt into `out`:
    part files in `out/data/` (`fmt`: parquet or jsonl), manifest and data card."""
    if fmt not in FORMATS:
        raise FetchFailed(f"unknown format {fmt!r}: choose {' or '.join(FORMATS)}")
    previous = _previous(out)
    sets = [CustodyClient(node_set) for node_set in client.custody_node_sets()]
    try:
        if sets:
            pages, resumed = _node_pages(client, sets, account, dataset_id, out, page_size)
        else:
            pages, resumed = _service_pages(client, account, dataset_id, out, page_size)
        (out / DATA_DIR).mkdir(parents=True, exist_ok=True)  # once something may be released
        # Resuming, the files of the pages already done are kept as they are.
        files: list[FetchedFile] = [FetchedFile(**e) for e in previous.values()] if resumed else []
        downloaded = 0
        live: set[str] | None = None
        for keys, cursor in pages:
            for key in keys:
                if not CONTRIBUTION_ID.fullmatch(str(key.get("contribution_id", ""))):
                    named = str(key.get("contribution_id"))[:80]
                    raise FetchFailed(
                        f"the service named a contribution {named!r}: not a contribution id"
                    )
            if keys and live is None:
                live = recorded_cids(client, dataset_id)
            for key in keys:
                if key["cid"] not in (live or set()):
                    raise FetchFailed(
                        f"the service released contribution {key['contribution_id']} (CID "
                        f"{str(key['cid'])[:80]}), which the chain does not record as live in "
                        f"dataset {dataset_id}"
                    )
            for key in keys:
                if progress:
                    progress(key["contribution_id"], len(files), len(files) + len(keys))
                fetched, was_downloaded = _fetch_one(account, key, out, previous, ipfs, fmt)
                files = [f for f in files if f.contribution_id != fetched.contribution_id]
                files.append(fetched)
                downloaded += was_downloaded
            _write_manifest(out, dataset_id, account.address, files)
            if cursor:
                state = {"dataset_id": dataset_id, "address": account.address}
                state.update(cursor if isinstance(cursor, dict) else {"cursor": cursor})
                write_atomically(out / FETCH_STATE, json.dumps(state).encode())
    finally:
        for nodes in sets:
            nodes.close()
    (out / FETCH_STATE).unlink(missing_ok=True)
    current = {f.contribution_id for f in files}
    removed = [] if resumed else [cid for cid in previous if cid not in current]
    for contribution_id in removed:  # withdrawn by its contributor since the last fetch
        (out / previous[contribution_id]["file"]).unlink(missing_ok=True)
    # A part of another format, or of a contribution no longer released, is not the dataset.
    wanted = {f.file for f in files}
    for part in (out / DATA_DIR).iterdir():
        if f"{DATA_DIR}/{part.name}" not in wanted and part.suffix in (".parquet", ".jsonl"):
            part.unlink()
    manifest = _write_manifest(out, dataset_id, account.address, files)
    card = _write_card(client, account.address, dataset_id, out, files, fmt)
    if progress:
        progress("", len(files), len(files))
    return FetchResult(
        dataset_id,
        account.address,
        files,
        downloaded,
        len(files) - downloaded,
        removed,
        manifest,
        card,
        sum(f.records for f in files),
        [
            f"{nodes.node_set.named(i)} {why}"
            for nodes in sets
            for i, why in sorted(nodes.failed.items())
        ],
        sorted(c for nodes in sets for c in nodes.incomplete),
    )


def _fetch_one(
    account: Any,
    key: dict[str, Any],
    out: Path,
    previous: dict[str, dict[str, Any]],
    ipfs: BlobStore,
    fmt: str,
) -> tuple[FetchedFile, bool]:
    """The part file of one released key, and whether it was downloaded (not already on
    disk, verified)."""
    known = previous.get(key["contribution_id"])
    name = _file_name(key["contribution_id"], fmt)
    if (
        known
        and known["file"] == name
        and known["sha256"] == key["sha256"]
        and (out / name).is_file()
        and _sha256_of(out / name) == known["file_sha256"]
    ):
        return FetchedFile(**known), False
    ciphertext = ipfs.cat(key["cid"])
    if ipfs.cid_of(ciphertext) != key["cid"]:
        raise FetchFailed(f"IPFS returned bytes that do not match {key['cid']}")
    plaintext = open_released(account, key, ciphertext)
    del ciphertext
    if "0x" + hashlib.sha256(plaintext).hexdigest() != key["sha256"]:
        raise FetchFailed(
            f"contribution {key['contribution_id']} decrypted to other bytes than attested"
        )
    table, schema_id = _records(key["contribution_id"], plaintext)
    data = plaintext if fmt == "parquet" else _json_lines(table)
    del plaintext
    write_atomically(out / name, data)
    fetched = FetchedFile(
        key["contribution_id"],
        key["cid"],
        key["sha256"],
        name,
        len(data),
        table.num_rows,
        "0x" + hashlib.sha256(data).hexdigest(),
        schema_id,
    )
    return fetched, True


def _records(contribution_id: str, parquet: bytes) -> tuple[Any, str]:
    """The blob's records and schema id; FetchFailed unless it is refined records."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(parquet))
    except (pa.ArrowException, OSError) as exc:
        raise FetchFailed(
            f"contribution {contribution_id} is not a Parquet file of refined records"
        ) from exc
    schema_id = (table.schema.metadata or {}).get(b"datadao.schema", b"").decode()
    if not schema_id.startswith(SCHEMA_NAME):
        raise FetchFailed(
            f"contribution {contribution_id} is not of the refined record schema "
            f"({schema_id or 'no schema id'})"
        )
    return table, schema_id


def _json_lines(table: Any) -> bytes:
    """One JSON object a line, a batch at a time (days as ISO dates)."""
    lines = []
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            if row.get("day") is not None:
                row["day"] = row["day"].isoformat()
            lines.append(json.dumps(row, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _write_card(
    client: DaoClient, address: str, dataset_id: int, out: Path, files: list[FetchedFile], fmt: str
) -> Path:
    """The data card of what is in `out` now: counts read back from the part files."""
    from dao_service.client.datacard import Counts, part_schema, write_datacard

    counts = Counts()
    contributions = []
    for fetched in sorted(files, key=lambda f: f.contribution_id):
        records = counts.add_part(out / fetched.file)
        contributions.append(
            {"contribution_id": fetched.contribution_id, "cid": fetched.cid,
             "sha256": fetched.sha256, "records": records, "file": fetched.file}
        )  # fmt: skip
    schema_ids = sorted({f.schema_id for f in files})
    fields: list[list[str]] = []
    if files:
        fields = [[f.name, str(f.type)] for f in part_schema(out / files[0].file)]
    body = {
        "dataset_id": dataset_id,
        "renter": address,
        "data_dir": DATA_DIR,
        "format": fmt,
        "schema": {"id": " | ".join(schema_ids) or None, "fields": fields},
        "rental": _rental_terms(client, address, dataset_id),
    }
    write_datacard(out, body, counts, contributions)
    return out / "datacard.md"


def _rental_terms(client: DaoClient, address: str, dataset_id: int) -> dict[str, Any]:
    """The grant's expiry and the renter's approved rentals of the dataset."""
    from dao_service.client.rentals import RentalStatus, list_rentals

    expires, revoked = client.access.call("grantOf", dataset_id, address)
    rentals = [
        {"id": r.id, "days": r.duration // 86_400, "payment_eth": r.payment / 10**18}
        for r in list_rentals(client, address)
        if r.dataset_id == dataset_id and r.status is RentalStatus.Approved
    ]
    return {
        "access_expires_at": (
            datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds") if expires else None
        ),
        "revoked": bool(revoked),
        "rentals": rentals,
    }


def _write_manifest(out: Path, dataset_id: int, address: str, files: list[FetchedFile]) -> Path:
    path = out / MANIFEST_NAME
    body = {
        "dataset_id": dataset_id,
        "address": address,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": [asdict(f) for f in files],
    }
    write_atomically(path, json.dumps(body, indent=2).encode())
    return path
