"""The deployed DAO as the service uses it: relay contributions and withdrawals, and
read grants (remembered per block by `grants.SharedGrants`)."""

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound
from web3.logs import DISCARD
from web3.types import TxReceipt

from dao_service.chain import connection, custody_set
from dao_service.chain.attestations import Attestation, sign_attestation, sign_refinement
from dao_service.chain.custody_set import CustodyNodeSet
from dao_service.chain.earnings_roots import EarningsRoot, sign_earnings_root
from dao_service.chain.manifest import DeploymentManifest
from dao_service.chain.reverts import RevertDecoder
from dao_service.exceptions import ChainRefused, DeploymentError

RELEASE_BATCH = 50  # matured contributions released per transaction


class DaoChain:
    def __init__(
        self,
        w3: Web3,
        manifest: DeploymentManifest,
        validator: LocalAccount,
        relayer: LocalAccount,
        send_lock: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        self.w3, self.manifest = w3, manifest
        self.validator, self.relayer = validator, relayer
        self.registry: Contract = connection.contract(w3, manifest, "ContributionRegistry")
        self.access: Contract = connection.contract(w3, manifest, "AccessRegistry")
        self.pool: Contract = connection.contract(w3, manifest, "RevenuePool")
        self.escrow: Contract = connection.contract(w3, manifest, "RentalEscrow")
        self.token: Contract = connection.contract(w3, manifest, "DataToken")
        custody_set.require_contract(manifest)
        self.node_sets: Contract = connection.contract(w3, manifest, custody_set.CONTRACT)
        self._past_sets: dict[int, CustodyNodeSet] = {}  # a set never changes once recorded
        self._block = 0
        self._block_lock = threading.Lock()
        # One relayer nonce sequence: sends are serialised in this process, and across
        # processes by `send_lock` (storage.locks.SharedLock) when several share the relayer.
        self._send_lock = threading.Lock()
        self._shared_send_lock = send_lock or nullcontext
        self._reverts = RevertDecoder(c.abi for c in manifest.contracts.values())
        # Contributions whose tokens wait in the registry's custody: fingerprint -> maturesAt,
        # from the registry's events read up to block `_maturing_read - 1`.
        self._maturing: dict[bytes, int] = {}
        self._maturing_read = manifest.contracts["ContributionRegistry"].block_number

    @property
    def chain_id(self) -> int:
        return self.manifest.chain_id

    @property
    def registry_address(self) -> str:
        return str(self.registry.address)

    @property
    def access_registry(self) -> str:
        return str(self.access.address)

    @property
    def validator_address(self) -> str:
        return str(self.validator.address)

    def custody_nodes(self, epoch: int | None = None) -> CustodyNodeSet | None:
        """The custody node set `epoch` as the chain records it, by default the current one
        (read each time: a vote may set a new one); None: the deployment has no custody
        nodes yet, and file keys stay under the custody key."""
        if epoch is None:
            return custody_set.from_chain(*self.node_sets.functions.currentNodeSet().call())
        if epoch not in self._past_sets:
            threshold, nodes = self.node_sets.functions.nodeSet(epoch).call()
            found = custody_set.from_chain(epoch, threshold, nodes)
            assert found is not None  # epoch 0 is refused by the contract
            self._past_sets[epoch] = found
        return self._past_sets[epoch]

    def sign(self, attestation: Attestation) -> bytes:
        return sign_attestation(self.validator, attestation, self.chain_id, self.registry_address)

    def required_signatures(self) -> int:
        """Distinct validators' signatures the registry takes an attestation (or an
        earnings root) with: the DAO's setting, read each time (the timelock may change it)."""
        return int(self.registry.functions.requiredSignatures().call())

    def recorded_contributor(self, fingerprint: bytes) -> str | None:
        contributor, *_ = self.registry.functions.contributionOf(fingerprint).call()
        return None if int(contributor, 16) == 0 else str(contributor)

    def record(self, attestation: Attestation, signatures: list[bytes]) -> str:
        """Relay the attestation with its validators' signatures (signers in increasing
        address order); returns the transaction hash."""
        fn = self.registry.functions.contribute(attestation.as_tuple(), signatures)
        return self._send(fn)

    def record_batch(self, signed: list[tuple[Attestation, list[bytes]]]) -> tuple[str, set[bytes]]:
        """Relay many attestations in one `contributeBatch`; returns the transaction hash and
        the fingerprints it recorded (one already recorded is skipped by the registry)."""
        fn = self.registry.functions.contributeBatch(
            [a.as_tuple() for a, _ in signed], [signatures for _, signatures in signed]
        )
        receipt = self._send_receipt(fn)
        events = self.registry.events.ContributionRecorded().process_receipt(
            receipt, errors=DISCARD
        )
        recorded = {bytes(e["args"]["fingerprint"]) for e in events}
        return str(receipt["transactionHash"].to_0x_hex()), recorded

    def recording_tx(self, fingerprint: bytes) -> str | None:
        """The hash of the transaction that recorded `fingerprint`, from the registry's events."""
        logs = self.registry.events.ContributionRecorded().get_logs(
            from_block=self.manifest.contracts["ContributionRegistry"].block_number,
            argument_filters={"fingerprint": fingerprint},
        )
        return logs[0]["transactionHash"].to_0x_hex() if logs else None

    def confirmations(self, tx_hash: str) -> int | None:
        """How many blocks confirm the transaction (1: in the newest block), 0 while it is
        pending, None if the chain knows no such transaction (lost with the chain's state,
        or dropped from its pool)."""
        try:
            tx = self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        if tx.get("blockNumber") is None:
            return 0
        return max(0, self.w3.eth.block_number - tx["blockNumber"] + 1)

    def withdraw(self, fingerprint: bytes, deadline: int, signature: bytes) -> str:
        now = self.now()
        if deadline <= now:  # not later than the latest block: as good as passed
            raise ChainRefused(f"RegistryWithdrawalExpired(deadline={deadline}, now={now})")
        return self._send(
            self.registry.functions.withdrawWithSignature(fingerprint, deadline, signature)
        )

    def record_refinement(self, fingerprint: bytes, cid: str) -> str:
        """Sign (as the validator) and relay that the contribution's stored blob is now
        its refined records at `cid`; returns the transaction hash."""
        sequence = self.registry.functions.refinementsOf(fingerprint).call() + 1
        signature = sign_refinement(
            self.validator, fingerprint, cid, sequence, self.chain_id, self.registry_address
        )
        return self._send(
            self.registry.functions.recordRefinement(fingerprint, cid, sequence, [signature])
        )

    def release_matured(self) -> int:
        """Release the tokens of contributions whose maturity has passed (anyone may; the
        service does, so that contributors need not); returns how many it released. A
        voided one, or one someone else released, is dropped."""
        latest = self.w3.eth.block_number
        if latest >= self._maturing_read:
            maturing = self.registry.events.ContributionMaturing().get_logs(
                from_block=self._maturing_read, to_block=latest
            )
            for log in maturing:
                self._maturing[bytes(log["args"]["fingerprint"])] = int(log["args"]["maturesAt"])
            self._maturing_read = latest + 1
        now = self.now()
        due = []
        for fingerprint in [f for f, at in self._maturing.items() if at <= now]:
            released = self.registry.functions.maturityOf(fingerprint).call()[1]
            voided = self.weight_and_tokens(fingerprint)[1] == 0
            if released or voided:
                del self._maturing[fingerprint]
            else:
                due.append(fingerprint)
        for start in range(0, len(due), RELEASE_BATCH):
            batch = due[start : start + RELEASE_BATCH]
            self._send(self.registry.functions.release(batch))
            for fingerprint in batch:
                del self._maturing[fingerprint]
        return len(due)

    def latest_block(self) -> int:
        """The chain's newest block number (never backwards: behind a load balancer nodes
        differ by a block or two). Key release asks it through `grants.SharedGrants`."""
        with self._block_lock:
            self._block = max(self._block, self.w3.eth.block_number)
            return self._block

    def max_score(self) -> int:
        """The highest score one attestation may carry (MintLimits): a higher one would be
        refused by the registry every time the worker tried."""
        return int(self.registry.functions.mintLimits().call()[0])

    def live_weight(self, fingerprint: bytes) -> int:
        """The contribution's revenue weight: 0 once withdrawn or voided."""
        return self.weight_and_tokens(fingerprint)[0]

    def earns(self, fingerprint: bytes) -> bool:
        """Whether the contribution earns rental income now: live (not withdrawn or voided)
        and matured (its tokens released from the registry's custody)."""
        return self.live_weight(fingerprint) > 0 and bool(
            self.registry.functions.maturityOf(fingerprint).call()[1]
        )

    def weight_and_tokens(self, fingerprint: bytes) -> tuple[int, int]:
        """(revenue weight, tokens minted) of a contribution; weight 0 once withdrawn."""
        _, _, weight, tokens = self.registry.functions.contributionOf(fingerprint).call()
        return int(weight), int(tokens)

    def approved_valued_rentals(self) -> list[int]:
        """Ids of rentals with a validation sample whose payment reached the pool."""
        start = self.manifest.contracts["RentalEscrow"].block_number
        sampled = {
            log["args"]["rentalId"]
            for log in self.escrow.events.ValidationSampleRecorded().get_logs(from_block=start)
        }
        approved = self.escrow.events.RentalApproved().get_logs(from_block=start)
        return sorted(
            log["args"]["rentalId"] for log in approved if log["args"]["rentalId"] in sampled
        )

    def recorded_sample_hashes(self) -> set[bytes]:
        """SHA-256 of every validation sample a rental refers to."""
        start = self.manifest.contracts["RentalEscrow"].block_number
        return {
            bytes(log["args"]["contentHash"])
            for log in self.escrow.events.ValidationSampleRecorded().get_logs(from_block=start)
        }

    def rental(self, rental_id: int) -> tuple[int, int, bytes, int]:
        """(datasetId, payment, sample SHA-256, sample size) of a rental."""
        _, dataset_id, _, _, payment, _ = self.escrow.functions.rentalOf(rental_id).call()
        sample_hash, sample_size = self.escrow.functions.sampleOf(rental_id).call()
        return int(dataset_id), int(payment), bytes(sample_hash), int(sample_size)

    def earnings_of(self, dataset_id: int) -> tuple[bytes, int, int, int, int]:
        """(root, epoch, total, funded, paid) of the dataset's valued income; root and total
        of the newest root posted, one still waiting out its challenge delay included (the
        next table builds on it)."""
        root, epoch, total, funded, paid = self.pool.functions.earningsOf(dataset_id).call()
        pending, _, pending_total, claimable_at = self.pool.functions.pendingEarningsRoot(
            dataset_id
        ).call()
        if claimable_at:
            root, total = pending, pending_total
        return bytes(root), int(epoch), int(total), int(funded), int(paid)

    def sign_earnings_root(self, root: EarningsRoot) -> bytes:
        return sign_earnings_root(self.validator, root, self.chain_id, self.pool.address)

    def post_earnings_root(self, root: EarningsRoot, signatures: list[bytes]) -> str:
        """Relay `root` with its validators' signatures (signers in increasing address
        order); returns the transaction hash."""
        return self._send(self.pool.functions.postEarningsRoot(root.as_tuple(), signatures))

    def holdings(self, account: str) -> tuple[int, int, str]:
        """(tokens, votes, delegate) of `account`."""
        token = self.token.functions
        return (
            int(token.balanceOf(account).call()),
            int(token.getVotes(account).call()),
            str(token.delegates(account).call()),
        )

    def delegate_call(self, to: str) -> dict[str, str]:
        """The transaction a wallet sends to let `to` vote with its tokens."""
        return {"to": str(self.token.address), "data": self.token.encode_abi("delegate", args=[to])}

    def grant_at(self, dataset_id: int, account: str, block: int) -> tuple[bool, int, bool]:
        """(canDecrypt, expiresAt, revoked) for `account` as of `block`."""
        access = self.access.functions
        can = bool(access.canDecrypt(dataset_id, account).call(block_identifier=block))
        expires, revoked = access.grantOf(dataset_id, account).call(block_identifier=block)
        return can, int(expires), bool(revoked)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _send(self, fn: Any) -> str:
        return str(self._send_receipt(fn)["transactionHash"].to_0x_hex())

    def _send_receipt(self, fn: Any) -> TxReceipt:
        with self._send_lock, self._shared_send_lock():
            try:
                # Simulated first in the block it would land in (estimates run against the
                # latest one, where e.g. a deadline equal to its timestamp has not passed):
                # what would revert is refused with its reason, and costs no gas.
                fn.call({"from": self.relayer.address}, block_identifier="pending")
                tx = fn.build_transaction({"from": self.relayer.address})
                del tx["gas"]  # `send` estimates with a margin
                return connection.send(self.w3, self.relayer, tx)
            except (ContractCustomError, ContractLogicError) as exc:
                raise ChainRefused(self._decode(exc)) from exc
            except DeploymentError as exc:  # reverted when mined all the same
                raise ChainRefused(exc.user_message.rstrip(".")) from exc

    def _decode(self, exc: ContractCustomError | ContractLogicError) -> str:
        decoded = self._reverts.from_exception(exc)
        return decoded.summary if decoded else str(exc)
