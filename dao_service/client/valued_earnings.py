"""Rental income split by measured value: an account's earnings per rental, read from the
tables the service published on IPFS and checked against the roots on-chain, and claims
with their Merkle proofs.

A posted root waits out the pool's challenge delay before claims may use it (the guardian
or the timelock may cancel it meanwhile): its rentals show with the time they become
claimable, and a cancelled root's table is not counted at all."""

from dataclasses import dataclass, field
from typing import Any

from dao_service.chain.merkle import EarningsTree
from dao_service.client.core import DaoClient
from dao_service.earnings.table import PublishedTable
from dao_service.exceptions import ConfigurationError, Refused, StackError


@dataclass
class RentalEarning:
    """What one rental paid an account, and the measured value that earned it."""

    rental_id: int
    epoch: int
    amount_wei: int
    value: float  # the sum of its contributions' KNN-Shapley values to the renter's sample
    table_cid: str
    split_by: str = "measured value"  # or by score, when no contribution helped the sample
    claimable_at: int | None = None  # unix seconds while its root waits out the challenge delay


@dataclass
class DatasetEarnings:
    dataset_id: int
    cumulative_wei: int  # everything earned so far, as the claimable root proves it
    claimed_wei: int
    proof: list[bytes]
    rentals: list[RentalEarning] = field(default_factory=list)
    pending_wei: int = 0  # earned under the root still waiting out its challenge delay
    claimable_at: int | None = None  # when that root becomes claimable (unix seconds)

    @property
    def claimable_wei(self) -> int:
        return max(self.cumulative_wei - self.claimed_wei, 0)


def _http_base(api_url: str) -> str:
    """The Kubo RPC API's http(s) base URL, from a multiaddr (/ip4/HOST/tcp/PORT/http) or
    a URL."""
    if api_url.startswith(("http://", "https://")):
        return api_url.rstrip("/")
    parts = api_url.strip("/").split("/")
    if len(parts) >= 4 and parts[0] in ("ip4", "ip6", "dns", "dns4", "dns6") and parts[2] == "tcp":
        host = f"[{parts[1]}]" if parts[0] == "ip6" else parts[1]
        scheme = "https" if parts[4:5] == ["https"] else "http"
        return f"{scheme}://{host}:{parts[3]}"
    raise ConfigurationError(f"{api_url!r} is not an IPFS RPC API address")


def cat(api_url: str, cid: str, timeout: float = 60.0) -> bytes:
    """One file from IPFS over the Kubo RPC API, with the standard library's HTTP (the
    IPFS client library would cost a read command its import time)."""
    import http.client
    from urllib.parse import quote, urlsplit

    base = urlsplit(_http_base(api_url))
    kind = http.client.HTTPSConnection if base.scheme == "https" else http.client.HTTPConnection
    connection = kind(base.hostname or "", base.port, timeout=timeout)
    try:
        connection.request("POST", f"/api/v0/cat?arg={quote(cid)}")
        reply = connection.getresponse()
        data = reply.read()
    except OSError as exc:
        raise StackError(f"cannot reach IPFS at {api_url}: is `datadao up` running?") from exc
    finally:
        connection.close()
    if reply.status != 200:
        raise StackError(f"IPFS at {api_url} could not give {cid}: HTTP {reply.status}")
    return data


def _table(client: DaoClient, cid: str) -> PublishedTable:
    return PublishedTable.model_validate_json(cat(client.endpoints.ipfs_api_url, cid))


def earnings(client: DaoClient, address: str) -> list[DatasetEarnings]:
    """Per dataset with earnings roots: what `address` earned per rental, its cumulative
    amount and proof under the current root (checked against the chain), and its claims."""
    pool = client.pool
    cancelled = {
        (log.args["datasetId"], log.args["epoch"])
        for log in pool.logs("EarningsRootCancelled", client.deployed_at)
    }
    posted: dict[int, list[Any]] = {}
    for log in pool.logs("EarningsRootPosted", client.deployed_at):
        if (log.args["datasetId"], log.args["epoch"]) not in cancelled:
            posted.setdefault(log.args["datasetId"], []).append(log)
    found = []
    for dataset_id, logs in sorted(posted.items()):
        logs.sort(key=lambda log: log.args["epoch"])
        _, pending_epoch, _, claimable_at = pool.call("pendingEarningsRoot", dataset_id)
        waiting = [log for log in logs if claimable_at and log.args["epoch"] == pending_epoch]
        accepted = [log for log in logs if log not in waiting]
        rentals = []
        tables = [_table(client, log.args["cid"]) for log in logs]
        for log, table in zip(logs, tables, strict=True):
            rows = [r for r in table.contributions if r.contributor.lower() == address.lower()]
            if rows:
                rentals.append(
                    RentalEarning(
                        rental_id=table.rental_id,
                        epoch=int(log.args["epoch"]),
                        amount_wei=sum(r.amount for r in rows),
                        value=sum(r.value for r in rows),
                        table_cid=log.args["cid"],
                        split_by=table.split_by,
                        claimable_at=claimable_at if log in waiting else None,
                    )
                )
        table_of = {log.args["epoch"]: table for log, table in zip(logs, tables, strict=True)}
        newest = table_of[accepted[-1].args["epoch"]] if accepted else None
        cumulative, proof = _proven(client, dataset_id, newest, address)
        pending = 0
        if waiting:
            owed = _cumulative_of(table_of[waiting[-1].args["epoch"]], address)
            pending = max(owed - cumulative, 0)
        claimed = pool.call("claimedEarnings", dataset_id, address)
        found.append(
            DatasetEarnings(
                dataset_id,
                cumulative,
                claimed,
                proof,
                rentals,
                pending_wei=pending,
                claimable_at=claimable_at if waiting else None,
            )
        )
    return found


def _cumulative_of(table: PublishedTable, address: str) -> int:
    return sum(v for k, v in table.cumulative.items() if k.lower() == address.lower())


def _proven(
    client: DaoClient, dataset_id: int, newest: PublishedTable | None, address: str
) -> tuple[int, list[bytes]]:
    """`address`'s cumulative amount and proof under the dataset's claimable root: the
    newest accepted table's, which must give that root."""
    if newest is None:
        return 0, []
    root = client.pool.call("earningsOf", dataset_id)[0]
    tree = EarningsTree.of(newest.cumulative)
    if tree.root != root:
        raise Refused(
            f"dataset {dataset_id}'s published table (root 0x{tree.root.hex()}) does not give "
            f"the root on-chain (0x{root.hex()}); do not claim with it"
        )
    try:
        return tree.proof(address)
    except KeyError:
        return 0, []
