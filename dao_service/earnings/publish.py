"""The settlement made public: the table pinned on IPFS, the dataset's new cumulative
earnings root (naming the table) signed and posted on-chain, and the settlement
recorded here once the chain took it."""

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from dao_service.chain.dao import DaoChain
from dao_service.chain.earnings_roots import EarningsRoot
from dao_service.chain.merkle import EarningsTree
from dao_service.chain.validator_set import collect
from dao_service.earnings.plan import Plan
from dao_service.earnings.shares import Shares
from dao_service.earnings.table import PublishedTable
from dao_service.earnings.valuation import METHOD
from dao_service.exceptions import SettlementError
from dao_service.models import EarningsTable
from dao_service.storage.ipfs import IpfsStore

log = logging.getLogger("dao_service.earnings")

# The other validators' signatures of a root: (address, signature) of each that signed
# (each checked the table itself), and why each other did not.
RootCosign = Callable[[EarningsRoot], tuple[list[tuple[str, bytes]], list[str]]]


def publish(
    sessions: sessionmaker[Session],
    ipfs: IpfsStore,
    chain: DaoChain,
    plan: Plan,
    shares: Shares,
    *,
    sample_held: bool,
    cosign: RootCosign | None = None,
) -> EarningsTable:
    """Pin the rental's table, post its root (signed by this node and, with `cosign`,
    by as many other validators as the registry requires) and record the settlement."""
    tree = EarningsTree.of(shares.cumulative)
    epoch = plan.epoch + 1
    table = PublishedTable(
        dataset_id=plan.dataset_id,
        epoch=epoch,
        rental_id=plan.rental_id,
        sample_sha256="0x" + plan.sample_hash.hex(),
        sample_held=sample_held,
        split_by=shares.split_by,
        method=METHOD,
        sample_copies_dropped=shares.copies_dropped,
        payment=plan.payment,
        split=plan.to_split,
        previous=plan.previous.cid if plan.previous else None,
        contributions=shares.contributions,
        cumulative=dict(sorted(tree.cumulative.items())),
        root="0x" + tree.root.hex(),
        total=tree.total,
    )
    cid = ipfs.add(table.model_dump_json().encode(), pin=True)
    root = EarningsRoot(
        dataset_id=plan.dataset_id, epoch=epoch, root=tree.root, total=tree.total, cid=cid
    )
    if tree.total > plan.funded:  # the chain would refuse it; say why here
        raise SettlementError(f"The table pays {tree.total} wei, the pool holds {plan.funded}.")
    signatures = collect(
        (chain.validator_address, chain.sign_earnings_root(root)),
        cosign(root) if cosign is not None else ([], []),
        chain.required_signatures(),
        f"rental {plan.rental_id}'s root",
    )
    tx_hash = chain.post_earnings_root(root, signatures)
    settled = EarningsTable(
        rental_id=plan.rental_id,
        dataset_id=plan.dataset_id,
        epoch=epoch,
        cid=cid,
        root=table.root,
        total=str(tree.total),
        settled_funding=str(plan.settled_before + plan.payment),
        demand=shares.demand,
        tx_hash=tx_hash,
    )
    with sessions.begin() as session:
        session.add(settled)
    log.info("settled rental %s: epoch %s, table %s", plan.rental_id, epoch, cid)
    return settled
