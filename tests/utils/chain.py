"""Driving the deployed contracts from tests: accounts, transactions, custom-error reverts, time."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD
from web3.types import TxReceipt

from dao_service.chain import connection
from dao_service.chain.attestations import Attestation, sign_attestation
from dao_service.chain.custody_set import CustodyNodeSet, from_chain
from dao_service.chain.earnings_roots import EarningsRoot, sign_earnings_root
from dao_service.chain.manifest import DeploymentManifest
from dao_service.chain.reverts import RevertDecoder
from dao_service.exceptions import ContractReverted


@dataclass
class Dao:
    """The deployed DAO on a test chain, with helpers to act on it."""

    w3: Web3
    manifest: DeploymentManifest
    extra_abis: list[list[dict[str, Any]]] = field(default_factory=list)
    nonce: int = 0

    def add_errors(self, abi: list[dict[str, Any]]) -> None:
        """Also decode the custom errors of `abi` (a test-only contract's)."""
        self.extra_abis.append(abi)

    def __getattr__(self, name: str) -> Contract:
        contract_names = {
            "token": "DataToken",
            "timelock": "DataTimelock",
            "governor": "DataGovernor",
            "access": "AccessRegistry",
            "pool": "RevenuePool",
            "registry": "ContributionRegistry",
            "escrow": "RentalEscrow",
            "node_sets": "CustodyNodeSet",
        }
        if name not in contract_names:
            raise AttributeError(name)
        return connection.contract(self.w3, self.manifest, contract_names[name])

    @property
    def chain_id(self) -> int:
        return self.manifest.chain_id

    def current_node_set(self) -> CustodyNodeSet | None:
        """The chain's current custody node set (None: none yet)."""
        return from_chain(*self.node_sets.functions.currentNodeSet().call())

    def transact(self, fn: ContractFunction, sender: LocalAccount, value: int = 0) -> TxReceipt:
        try:
            tx = fn.build_transaction({"from": sender.address, "value": value})
            del tx["gas"]  # `send` estimates with a margin
            return connection.send(self.w3, sender, tx)
        except (ContractCustomError, ContractLogicError) as exc:
            raise self.decode(exc) from exc

    def decode(self, exc: ContractCustomError | ContractLogicError) -> Exception:
        abis = [c.abi for c in self.manifest.contracts.values()] + self.extra_abis
        return RevertDecoder(abis).from_exception(exc) or exc

    @contextmanager
    def reverts(self, name: str, *args: Any) -> Iterator[None]:
        try:
            yield
        except ContractReverted as reverted:
            assert reverted.name == name, f"reverted with {reverted}, expected {name}"
            if args:
                assert reverted.args_ == args, f"reverted with {reverted.args_}, expected {args}"
            return
        raise AssertionError(f"did not revert (expected {name})")

    def mine(self, blocks: int = 1) -> None:
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]

    def advance_time(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.mine()

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def attestation(self, contributor: str, score: int, **overrides: Any) -> Attestation:
        self.nonce += 1
        values = {
            "contributor": contributor,
            "dataset_id": 1,
            "fingerprint": keccak(text=f"export-{self.nonce}-{time.time_ns()}"),
            "cid": f"bafkrei{self.nonce:052d}",
            "score": score,
            "deadline": self.now() + 3600,
            "nonce": self.nonce,
        }
        return Attestation(**{**values, **overrides})

    def sign(self, attestation: Attestation, *validators: LocalAccount) -> list[bytes]:
        ordered = sorted(validators, key=lambda v: int(v.address, 16))
        registry = self.manifest.address_of("ContributionRegistry")
        return [sign_attestation(v, attestation, self.chain_id, registry) for v in ordered]

    def contribute(
        self, attestation: Attestation, validators: list[LocalAccount], relayer: LocalAccount
    ) -> TxReceipt:
        fn = self.registry.functions.contribute(
            attestation.as_tuple(), self.sign(attestation, *validators)
        )
        return self.transact(fn, relayer)

    def impersonate(self, address: str) -> None:
        self.w3.provider.make_request("anvil_impersonateAccount", [address])  # type: ignore[arg-type]
        self.w3.provider.make_request("anvil_setBalance", [address, hex(10**20)])  # type: ignore[arg-type]

    def as_timelock(self, fn: ContractFunction) -> TxReceipt:
        """Call `fn` from the timelock's address, as an executed proposal would."""
        timelock = self.manifest.address_of("DataTimelock")
        self.impersonate(timelock)
        try:
            # Beyond `with_margin`: a void or a burn can push two checkpoints that the
            # estimate (against the latest block) updated in place.
            gas = connection.with_margin(fn.estimate_gas({"from": timelock})) + 50_000
            tx_hash = fn.transact({"from": timelock, "gas": gas})
        except (ContractCustomError, ContractLogicError) as exc:
            raise self.decode(exc) from exc
        receipt = self.w3.eth.wait_for_transaction_receipt(
            tx_hash, poll_latency=connection.RECEIPT_POLL_LATENCY
        )
        assert receipt["status"] == 1, f"the timelock's call reverted: {receipt}"
        return receipt

    def sign_root(self, root: EarningsRoot, *validators: LocalAccount) -> list[bytes]:
        ordered = sorted(validators, key=lambda v: int(v.address, 16))
        pool = self.manifest.address_of("RevenuePool")
        return [sign_earnings_root(v, root, self.chain_id, pool) for v in ordered]

    def post_root(
        self, root: EarningsRoot, validators: list[LocalAccount], relayer: LocalAccount
    ) -> TxReceipt:
        fn = self.pool.functions.postEarningsRoot(
            root.as_tuple(), self.sign_root(root, *validators)
        )
        return self.transact(fn, relayer)

    def rent(
        self,
        renter: LocalAccount,
        payment: int,
        dataset_id: int = 1,
        duration: int = 3600,
        sample: tuple[bytes, int] | None = None,
    ) -> tuple[int, int]:
        """Request a rental (split by value against `sample`, (sha256, size), if given);
        returns (rentalId, proposalId)."""
        if sample:
            fn = self.escrow.functions.requestValuedRental(
                dataset_id, duration, "train a small model", sample
            )
        else:
            fn = self.escrow.functions.requestRental(dataset_id, duration, "train a small model")
        receipt = self.transact(fn, renter, value=payment)
        requested = self.escrow.events.RentalRequested()
        event = requested.process_receipt(receipt, errors=DISCARD)[0]["args"]
        return event["rentalId"], event["proposalId"]

    def rental_call(self, rental_id: int) -> tuple[Any, ...]:
        """The (targets, values, calldatas, descriptionHash) that queue and execute a rental."""
        targets, values, calldatas = self.escrow.functions.proposalActions(rental_id).call()
        description = self.escrow.functions.proposalDescription(
            rental_id, "train a small model"
        ).call()
        return targets, values, calldatas, keccak(text=description)

    def open_vote(self, proposal_id: int) -> None:
        """Move the clock past the proposal's snapshot: voting is open."""
        snapshot = self.governor.functions.proposalSnapshot(proposal_id).call()
        self.advance_time(max(snapshot + 1 - self.now(), 1))

    def close_vote(self, proposal_id: int) -> None:
        """Move the clock past the proposal's deadline: voting is over."""
        deadline = self.governor.functions.proposalDeadline(proposal_id).call()
        self.advance_time(max(deadline + 1 - self.now(), 1))

    def vote_through(self, proposal_id: int, voters: list[LocalAccount], support: int = 1) -> None:
        """Wait out the voting delay, cast `support` for each voter, and close the vote."""
        self.open_vote(proposal_id)
        for voter in voters:
            self.transact(self.governor.functions.castVote(proposal_id, support), voter)
        self.close_vote(proposal_id)

    def queue_and_execute(self, call: tuple[Any, ...], sender: LocalAccount) -> TxReceipt:
        self.transact(self.governor.functions.queue(*call), sender)
        self.advance_time(self.timelock.functions.getMinDelay().call() + 1)
        return self.transact(self.governor.functions.execute(*call), sender)

    def mature(self, fingerprints: list[bytes], relayer: LocalAccount) -> TxReceipt:
        """Wait out the contributions' maturity and release their tokens."""
        latest = max(self.registry.functions.maturityOf(f).call()[0] for f in fingerprints)
        if latest > self.now():
            self.advance_time(latest - self.now())
        return self.transact(self.registry.functions.release(fingerprints), relayer)
