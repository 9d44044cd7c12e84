"""A validator node's signatures: of a contribution's attestation, only as it judged the
upload itself; of an earnings root, only for a table whose arithmetic it checked.

Attestation: the node agreed on the upload (its verdict, by the statement's nonce), the
contributor, platform account and fingerprint are the ones it found, the score is at most
its own, the dataset is its own, the deadline is within its attestation lifetime, and the
CID's content (fetched from its IPFS node) is the blob it sealed itself: so the CID holds
the records it refined.

Earnings root: the table at the root's CID names the same dataset, epoch, root and
total; its cumulative amounts make that Merkle root; each account's cumulative amount
rose from the previous table's by exactly what this table pays it; every row pays a live
contribution recorded on-chain for that contributor; the rows pay at most what the table
splits, and the table's payment is its rental's on-chain; the epoch follows the chain's;
the total is within what the pool holds for the dataset. So a root it signs pays only
the dataset's contributors, only the rental's money. What it does not redo: the valuation
itself (that needs the renter's sample and every contribution's records), so how the
payment is split among the contributors is the collecting node's word. The amounts it
adds to are those of the chain's latest root (its table must make that root), the rental
must be approved and settled by no earlier table, and the split at most the payment plus
the dust the previous table kept."""

import hashlib

from pydantic import ValidationError

from dao_service.chain.merkle import EarningsTree
from dao_service.chain.validator_set import (
    EarningsRootClaim,
    SignAttestationRequest,
    SignatureResponse,
)
from dao_service.earnings.table import PublishedTable
from dao_service.exceptions import AttestationRefused
from dao_service.models import ValidatorVerdict
from dao_service.validator_node.node import ValidatorNode

DEADLINE_SLACK = 600  # seconds: clocks of the nodes' chain RPCs differ a little


def sign_attestation(node: ValidatorNode, request: SignAttestationRequest) -> SignatureResponse:
    claim = request.attestation
    with node.sessions() as session:
        verdict = session.get(ValidatorVerdict, request.statement_nonce)
    if verdict is None:
        raise AttestationRefused("This node judged no upload with that statement nonce.")
    if not verdict.agreed:
        raise AttestationRefused(
            "This node did not agree on that upload: " + "; ".join(verdict.reasons)
        )
    refusals = []
    if claim.contributor.lower() != verdict.contributor.lower():
        refusals.append(f"it judged the upload of {verdict.contributor}, not {claim.contributor}")
    if claim.fingerprint != verdict.fingerprint:
        refusals.append(f"its fingerprint is {verdict.fingerprint}, not {claim.fingerprint}")
    own_account = verdict.account_hash or "0x" + "00" * 32
    if claim.account != own_account:  # the mint budget it would be charged to
        refusals.append(f"it bound the export to account {own_account}, not {claim.account}")
    if claim.score > verdict.score:
        refusals.append(f"it scored the export {verdict.score}, below {claim.score}")
    if claim.dataset_id != node.settings.dataset_id:
        refusals.append(f"it validates dataset {node.settings.dataset_id}, not {claim.dataset_id}")
    chain = node.chain()
    latest = chain.now() + node.settings.attestation_ttl_seconds + DEADLINE_SLACK
    if claim.deadline > latest:
        refusals.append(f"the deadline {claim.deadline} is past its attestation lifetime")
    if not refusals:
        stored = node.ipfs.cat(claim.cid)
        if "0x" + hashlib.sha256(stored).hexdigest() != verdict.sealed_sha256:
            refusals.append(f"{claim.cid} does not hold the refined records it sealed itself")
    if refusals:
        raise AttestationRefused("This node will not sign: " + "; ".join(refusals) + ".")
    signature = chain.sign_attestation(claim.attestation())
    return SignatureResponse(validator=chain.address, signature="0x" + signature.hex())


def sign_earnings_root(node: ValidatorNode, claim: EarningsRootClaim) -> SignatureResponse:
    root = claim.earnings_root()
    table = _table(node, root.cid)
    refusals = []
    if (table.dataset_id, table.epoch, table.root, table.total) != (
        root.dataset_id,
        root.epoch,
        claim.root,
        root.total,
    ):
        refusals.append(f"the table at {root.cid} is not the one of this root")
    try:
        tree: EarningsTree | None = EarningsTree.of(dict(table.cumulative))
    except ValueError as exc:
        tree = None
        refusals.append(f"the table's cumulative amounts make no tree: {exc}")
    if tree is not None and (tree.root, tree.total) != (root.root, root.total):
        refusals.append("the table's cumulative amounts do not make this root and total")
    chain = node.chain()
    refusals += _payments_checked(node, table)
    epoch, funded = chain.earnings_of(root.dataset_id)
    if root.epoch != epoch + 1:
        refusals.append(f"the chain is at epoch {epoch}, so the next root is {epoch + 1}")
    if root.total > funded:
        refusals.append(f"the table pays {root.total} wei, the pool holds {funded}")
    if refusals:
        raise AttestationRefused("This node will not sign the root: " + "; ".join(refusals) + ".")
    signature = chain.sign_earnings_root(root)
    return SignatureResponse(validator=chain.address, signature="0x" + signature.hex())


def _payments_checked(node: ValidatorNode, table: PublishedTable) -> list[str]:
    """What is wrong with whom the table pays, and how much (nothing: it pays this
    rental's contributors, this rental's money, on top of the root the chain holds)."""
    chain, refusals = node.chain(), []
    previous = _table(node, table.previous) if table.previous else None
    earlier = previous.cumulative if previous else {}
    # The amounts it adds to are the chain's latest root's, not a table anyone can name.
    chain_root, chain_total = chain.latest_root(table.dataset_id)
    prior = EarningsTree.of(dict(earlier)) if earlier else None
    if int.from_bytes(chain_root, "big") == 0:
        if prior is not None and prior.total:
            refusals.append("it builds on earlier amounts, and the chain holds no root yet")
    elif prior is None or (prior.root, prior.total) != (chain_root, chain_total):
        refusals.append(
            f"its previous table is not the one of the chain's root 0x{chain_root.hex()}"
        )
    dust = previous.split - sum(r.amount for r in previous.contributions) if previous else 0
    if table.split > table.payment + dust:
        refusals.append(f"it splits {table.split} wei of a {table.payment} wei payment")
    if _cited_before(node, previous, table.rental_id):
        refusals.append(f"rental {table.rental_id} was settled by an earlier table")
    before = {account.lower(): amount for account, amount in earlier.items()}
    after = {account.lower(): amount for account, amount in table.cumulative.items()}
    paid: dict[str, int] = {}
    for row in table.contributions:
        paid[row.contributor.lower()] = paid.get(row.contributor.lower(), 0) + row.amount
        live = chain.live_contributor(bytes.fromhex(row.contribution.removeprefix("0x")))
        if live is None or live.lower() != row.contributor.lower():
            refusals.append(f"{row.contribution} is no live contribution of {row.contributor}")
    rises = {a: after.get(a, 0) - before.get(a, 0) for a in before.keys() | after.keys()}
    if {a: r for a, r in rises.items() if r} != {a: p for a, p in paid.items() if p}:
        refusals.append("its cumulative amounts do not rise by what it pays each account")
    if sum(paid.values()) > table.split:
        refusals.append(f"it pays {sum(paid.values())} wei of the {table.split} it splits")
    if chain.rental_payment(table.rental_id) != (table.dataset_id, table.payment):
        refusals.append(f"rental {table.rental_id} did not pay {table.payment} wei to it")
    return refusals


SETTLEMENTS_CHECKED = 256  # earlier tables walked back for the same rental


def _cited_before(node: ValidatorNode, table: PublishedTable | None, rental_id: int) -> bool:
    for _ in range(SETTLEMENTS_CHECKED):
        if table is None:
            return False
        if table.rental_id == rental_id:
            return True
        table = _table(node, table.previous) if table.previous else None
    return False


def _table(node: ValidatorNode, cid: str) -> PublishedTable:
    try:
        return PublishedTable.model_validate_json(node.ipfs.cat(cid))
    except ValidationError as exc:
        raise AttestationRefused(f"{cid} is not an earnings table: {exc}") from exc
