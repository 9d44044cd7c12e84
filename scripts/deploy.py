#!/usr/bin/env python
"""Compile and deploy the DAO's contracts, then write the deployment manifest.

    python scripts/deploy.py --rpc-url http://127.0.0.1:8545 --manifest deployment.json
    python scripts/deploy.py --profile production --rpc-url URL --manifest deployment.json \
        --validator 0x... --validator 0x... --guardian 0x... \
        --custody-node https://node-a...=04... --custody-node ... --custody-threshold 2

Profiles: `local` (fast votes, two of three validators' signatures, no mint caps, no
maturity or challenge delay) is the default and is refused on any chain but anvil's unless
--allow-local-profile is given; `production` (day-long voting delay, week-long vote,
two-day timelock, two validator signatures, mint budgets relative to the voting supply,
two-week maturity, eleven-day challenge of earnings roots, a minimum rental payment).
--required-signatures sets another M for either. Every window is in seconds: the token,
the Governor, the timelock and the escrow all count by the block's timestamp, whatever
the chain's block time. A profile whose windows do not fit inside each other is refused.
The chosen parameters are printed before deploying and recorded in the manifest.
The custody nodes given are the first node set of `CustodyNodeSet` (production needs
them, M >= 2); later sets come only by a vote.

Idempotent: when the manifest describes a deployment that is live on this chain (same
chain id, code at every address, same builds and parameters) it is reused as it is.
On anvil's chain the well-known test keys deploy and validate unless keys are given
(DATADAO_DEPLOYER_KEY, --validator): the service's validator (account 1) and the local
stack's two co-validator nodes (accounts 10 and 11 of anvil's mnemonic). Afterwards the
deployer holds no power: every governed setting belongs to the timelock.
"""

import argparse
import sys
from pathlib import Path
from typing import Any

import rlp
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_canonical_address, to_checksum_address
from web3 import Web3

from dao_service.chain import connection
from dao_service.chain.compiler import CompiledContract, compile_project
from dao_service.chain.custody_set import CustodyNode, as_arguments, parse_node
from dao_service.chain.dev_accounts import (
    CO_VALIDATOR_INDEXES,
    DEPLOYER_INDEX,
    VALIDATOR_INDEX,
    dev_account,
    key_or_dev_account,
)
from dao_service.chain.manifest import (
    DeployedContract,
    DeploymentManifest,
    load_manifest,
    write_manifest,
)
from dao_service.core.config import ANVIL_CHAIN_ID
from dao_service.exceptions import DataDaoError, DeploymentError

# Deployment order; constructor arguments refer to later contracts by predicted address.
DEPLOY_ORDER = (
    "DataToken",
    "DataTimelock",
    "DataGovernor",
    "AccessRegistry",
    "RevenuePool",
    "ContributionRegistry",
    "RentalEscrow",
    "CustodyNodeSet",
)

TOKEN = 10**18
ZERO_ADDRESS = "0x" + "00" * 20
DAY_SECONDS = 86_400

LOCAL_PARAMETERS: dict[str, Any] = {
    "profile": "local",
    "voting_delay_seconds": 60,
    "voting_period_seconds": 600,
    "proposal_threshold": TOKEN,
    "quorum_percent": 4,
    "timelock_delay_seconds": 60,
    "reward_rate": TOKEN,
    "required_signatures": 2,  # of the three validator nodes `datadao up` runs
    "custody_min_threshold": 1,  # the least M of any custody node set
    "execution_window_seconds": 14 * DAY_SECONDS,
    # Mint caps off: the largest values the contract stores.
    "max_score": 2**40 - 1,
    "mint_window_seconds": DAY_SECONDS,
    "mint_total_share_bps": 10_000,
    "mint_account_share_bps": 10_000,
    "mint_min_supply": 2**128 - 1,
    # Tokens vote and earn at once, roots are claimable at once: the demo needs no waiting.
    "maturity_seconds": 0,
    "challenge_delay_seconds": 0,
    "settlement_window_seconds": DAY_SECONDS,
    "minimum_payment_wei": 10**15,
    "guardian_term_seconds": 100 * 365 * DAY_SECONDS,
}

PRODUCTION_PARAMETERS: dict[str, Any] = {
    "profile": "production",
    "voting_delay_seconds": DAY_SECONDS,
    "voting_period_seconds": 7 * DAY_SECONDS,
    "proposal_threshold": 1_000 * TOKEN,
    "quorum_percent": 4,
    "timelock_delay_seconds": 2 * DAY_SECONDS,
    "reward_rate": TOKEN,
    "required_signatures": 2,
    "custody_min_threshold": 2,  # no one node's operator alone gives a key back, ever
    "execution_window_seconds": 14 * DAY_SECONDS,
    # A score is 10 x the quality of an export's new records; 10M covers ~1M good records.
    "max_score": 10_000_000,
    # Per day at most 5% of the voting supply for everyone, 0.5% for one platform account,
    # counted from at least 10M tokens so that the DAO can start.
    "mint_window_seconds": DAY_SECONDS,
    "mint_total_share_bps": 500,
    "mint_account_share_bps": 50,
    "mint_min_supply": 10_000_000 * TOKEN,
    # Longer than a void proposal takes (delay + vote + timelock: 10 days), so that what
    # captured validator keys mint is voided before it ever votes or earns, and a root is
    # cancelled by a vote before anyone claims by it.
    "maturity_seconds": 14 * DAY_SECONDS,
    "challenge_delay_seconds": 11 * DAY_SECONDS,
    # A valued rental's payment that no root allocated within 30 days is split by score.
    "settlement_window_seconds": 30 * DAY_SECONDS,
    "minimum_payment_wei": 10**17,
    # The guardian's veto lasts a year from deployment; a vote extends it. A captured
    # guardian can block the proposal that replaces it only until then.
    "guardian_term_seconds": 365 * DAY_SECONDS,
}

PROFILES = {"local": LOCAL_PARAMETERS, "production": PRODUCTION_PARAMETERS}


def predicted_address(deployer: str, nonce: int) -> str:
    return to_checksum_address(keccak(rlp.encode([to_canonical_address(deployer), nonce]))[12:])


def constructor_args(
    name: str, at: dict[str, str], params: dict[str, Any], validators: list[str]
) -> tuple[Any, ...]:
    mint_limits = (
        params["max_score"],
        params["mint_window_seconds"],
        params["mint_total_share_bps"],
        params["mint_account_share_bps"],
        params["mint_min_supply"],
    )
    return {
        "DataToken": (at["ContributionRegistry"],),
        "DataTimelock": (
            params["timelock_delay_seconds"],
            at["DataGovernor"],
            params["guardian"],
            params["guardian_term_seconds"],
        ),
        "DataGovernor": (
            at["DataToken"],
            at["DataTimelock"],
            at["RentalEscrow"],
            params["voting_delay_seconds"],
            params["voting_period_seconds"],
            params["proposal_threshold"],
            params["quorum_percent"],
        ),
        "AccessRegistry": (at["DataTimelock"], at["RentalEscrow"]),
        "RevenuePool": (
            at["ContributionRegistry"],
            params["challenge_delay_seconds"],
            params["settlement_window_seconds"],
        ),
        "ContributionRegistry": (
            at["DataTimelock"],
            at["DataToken"],
            at["RevenuePool"],
            validators,
            params["required_signatures"],
            params["reward_rate"],
            mint_limits,
            params["maturity_seconds"],
            params["guardian"],
        ),
        "CustodyNodeSet": (
            at["DataTimelock"],
            params["custody_min_threshold"],
            params["custody_threshold"],
            as_arguments([CustodyNode(**node) for node in params["custody_nodes"]]),
        ),
        "RentalEscrow": (
            at["DataGovernor"],
            at["DataTimelock"],
            at["AccessRegistry"],
            at["RevenuePool"],
            params["execution_window_seconds"],
            params["minimum_payment_wei"],
        ),
    }[name]


def reusable(
    w3: Web3,
    manifest: DeploymentManifest,
    compiled: dict[str, CompiledContract],
    params: dict[str, Any],
) -> bool:
    # No genesis-hash check: anvil regenerates its genesis block when it loads --state.
    if manifest.chain_id != w3.eth.chain_id:
        return False
    if manifest.parameters != params or set(manifest.contracts) != set(DEPLOY_ORDER):
        return False
    same_builds = all(
        deployed.build_hash == compiled[name].build_hash
        for name, deployed in manifest.contracts.items()
    )
    return same_builds and not connection.contracts_without_code(w3, manifest)


def verify_wiring(w3: Web3, manifest: DeploymentManifest) -> None:
    """Read back what was deployed: each link points where it should, the deployer holds nothing."""
    at = {name: c.address for name, c in manifest.contracts.items()}

    def call(name: str, fn: str, *args: Any) -> Any:
        return getattr(connection.contract(w3, manifest, name).functions, fn)(*args).call()

    timelock = connection.contract(w3, manifest, "DataTimelock")
    checks = {
        "token minter is the registry": call("DataToken", "minter") == at["ContributionRegistry"],
        "pool registry is the registry": call("RevenuePool", "registry")
        == at["ContributionRegistry"],
        "governor uses the timelock": call("DataGovernor", "timelock") == at["DataTimelock"],
        "governor knows the escrow": call("DataGovernor", "rentalEscrow") == at["RentalEscrow"],
        "governor votes with the token": call("DataGovernor", "token") == at["DataToken"],
        "registry owned by the timelock": call("ContributionRegistry", "owner")
        == at["DataTimelock"],
        "grants owned by the timelock": call("AccessRegistry", "owner") == at["DataTimelock"],
        "custody node sets owned by the timelock": call("CustodyNodeSet", "owner")
        == at["DataTimelock"],
        "custody node set as given": _custody_set_as_given(
            call("CustodyNodeSet", "currentNodeSet"), manifest.parameters
        ),
        "escrow grants with its approvals": call("AccessRegistry", "rentalEscrow")
        == at["RentalEscrow"],
        "governor proposes to the timelock": timelock.functions.hasRole(
            timelock.functions.PROPOSER_ROLE().call(), at["DataGovernor"]
        ).call(),
        "deployer is no timelock admin": not timelock.functions.hasRole(
            timelock.functions.DEFAULT_ADMIN_ROLE().call(), manifest.deployer
        ).call(),
        "votes count seconds": call("DataToken", "CLOCK_MODE") == "mode=timestamp"
        and call("DataGovernor", "CLOCK_MODE") == "mode=timestamp",
    }
    guardian = manifest.parameters.get("guardian", ZERO_ADDRESS)
    if int(guardian, 16):
        checks["guardian pauses minting"] = call("ContributionRegistry", "guardian") == guardian
        checks["guardian cancels queued proposals"] = timelock.functions.hasRole(
            timelock.functions.CANCELLER_ROLE().call(), guardian
        ).call()
    failed = [what for what, ok in checks.items() if not ok]
    if failed:
        raise DeploymentError("The deployment is miswired: " + "; ".join(failed))


def _custody_set_as_given(current: Any, params: dict[str, Any]) -> bool:
    epoch, threshold, nodes = current
    given = as_arguments([CustodyNode(**node) for node in params.get("custody_nodes", [])])
    if not given:
        return bool(epoch == 0)
    return (
        bool(epoch == 1 and threshold == params["custody_threshold"])
        and [(bytes(key), url) for key, url in nodes] == given
    )


def deploy_all(
    w3: Web3,
    deployer: LocalAccount,
    compiled: dict[str, CompiledContract],
    params: dict[str, Any],
    validators: list[str],
    log: Any = print,
) -> DeploymentManifest:
    check_windows(params)
    start_nonce = w3.eth.get_transaction_count(deployer.address, "pending")
    at = {
        name: predicted_address(deployer.address, start_nonce + i)
        for i, name in enumerate(DEPLOY_ORDER)
    }
    contracts: dict[str, DeployedContract] = {}
    for i, name in enumerate(DEPLOY_ORDER):
        args = constructor_args(name, at, params, validators)
        receipt = connection.deploy(w3, deployer, compiled[name], *args)
        address = receipt["contractAddress"]
        if address != at[name] or receipt["transactionIndex"] is None:
            raise DeploymentError(
                f"{name} landed at {address}, not at the predicted {at[name]}: another "
                f"transaction from the deployer ({deployer.address}) interleaved. Run again."
            )
        contracts[name] = DeployedContract(
            address=address,
            abi=compiled[name].abi,
            build_hash=compiled[name].build_hash,
            block_number=receipt["blockNumber"],
        )
        log(f"  [{i + 1}/{len(DEPLOY_ORDER)}] {name:<21} {address}  gas {receipt['gasUsed']:,}")
    manifest = DeploymentManifest(
        chain_id=w3.eth.chain_id,
        deployer=deployer.address,
        parameters=params,
        contracts=contracts,
    )
    verify_wiring(w3, manifest)
    return manifest


def check_windows(params: dict[str, Any]) -> None:
    """DeploymentError unless each window fits the ones it depends on."""
    void_takes = (
        params["voting_delay_seconds"]
        + params["voting_period_seconds"]
        + params["timelock_delay_seconds"]
    )
    problems = [
        f"{name} ({params[name]} s) is shorter than a void proposal takes (voting delay + "
        f"vote + timelock delay: {void_takes} s): a vote could not stop it in time"
        for name in ("maturity_seconds", "challenge_delay_seconds")
        if 0 < params[name] < void_takes
    ]
    if params["settlement_window_seconds"] <= params["challenge_delay_seconds"]:
        problems.append(
            f"settlement_window_seconds ({params['settlement_window_seconds']} s) does not "
            f"outlast the challenge delay ({params['challenge_delay_seconds']} s): valued income "
            f"would be split by score before its root could be claimed"
        )
    if params["execution_window_seconds"] <= params["timelock_delay_seconds"]:
        problems.append(
            f"execution_window_seconds ({params['execution_window_seconds']} s) does not outlast "
            f"the timelock delay ({params['timelock_delay_seconds']} s): no rental could execute"
        )
    if problems:
        raise DeploymentError("The parameters do not fit together: " + "; ".join(problems) + ".")


def profile_parameters(
    profile: str,
    chain_id: int,
    validators: list[str],
    guardian: str | None,
    allow_local: bool = False,
    required_signatures: int | None = None,
    custody_nodes: list[CustodyNode] | None = None,
    custody_threshold: int | None = None,
) -> dict[str, Any]:
    """The profile's parameters with this deployment's validators, guardian, custody node
    set and (if given) number of required signatures, or a refusal. Without custody nodes
    the file keys stay under the service's custody key until a vote sets a node set."""
    params = PROFILES[profile]
    if required_signatures is not None:
        params = {**params, "required_signatures": required_signatures}
    if profile == "local" and chain_id != ANVIL_CHAIN_ID and not allow_local:
        raise DeploymentError(
            f"Chain {chain_id} is not anvil's ({ANVIL_CHAIN_ID}): deploy with --profile "
            f"production, or pass --allow-local-profile to deploy the local profile "
            f"(a 10-minute vote, a 60 s timelock, no mint caps, no maturity) anyway."
        )
    if len(validators) < params["required_signatures"]:
        raise DeploymentError(
            f"The {profile} profile needs {params['required_signatures']} validator signatures: "
            f"give at least that many --validator addresses (got {len(validators)})."
        )
    if profile == "production" and params["required_signatures"] < 2:
        raise DeploymentError(
            "The production profile needs at least 2 validator signatures: one key alone "
            "would mint and post earnings roots (--required-signatures)."
        )
    if profile == "production" and not guardian:
        raise DeploymentError("The production profile needs a --guardian address.")
    nodes = custody_nodes or []
    if nodes and custody_threshold is None:
        raise DeploymentError("Give --custody-threshold: how many custody nodes give a key.")
    if custody_threshold is not None and not 1 <= custody_threshold <= len(nodes):
        raise DeploymentError(
            f"--custody-threshold {custody_threshold} does not fit {len(nodes)} custody nodes "
            f"(1 to {len(nodes)})."
        )
    if len({n.public_key for n in nodes}) != len(nodes):
        raise DeploymentError("Two --custody-node entries have the same public key.")
    guardian = Web3.to_checksum_address(guardian) if guardian else ZERO_ADDRESS
    return {
        **params,
        "validators": validators,
        "guardian": guardian,
        "custody_threshold": custody_threshold or 0,
        "custody_nodes": [n.model_dump() for n in nodes],
    }


def print_parameters(params: dict[str, Any], chain_id: int) -> None:
    print(f"Deployment parameters (profile {params['profile']}, chain {chain_id}):")
    for name, value in params.items():
        print(f"  {name:<24} {value}")


def _custody_node(text: str) -> CustodyNode:
    try:
        return parse_node(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rpc-url", required=True, help="EVM JSON-RPC URL")
    parser.add_argument("--manifest", required=True, type=Path, help="where to write the manifest")
    parser.add_argument("--build-cache", type=Path, help="folder to cache compiler output in")
    parser.add_argument(
        "--deployer-key-env",
        default="DATADAO_DEPLOYER_KEY",
        help="environment variable holding the deployer's private key",
    )
    parser.add_argument(
        "--validator",
        action="append",
        default=[],
        help="validator signing address (repeat); default on anvil: test account #1 and "
        "the local stack's co-validator nodes (mnemonic accounts #10, #11)",
    )
    parser.add_argument(
        "--required-signatures",
        type=int,
        help="validator signatures each attestation and earnings root needs (M of the N "
        "--validator addresses); default: the profile's",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="local",
        help="parameter set: local (default) or production",
    )
    parser.add_argument(
        "--guardian",
        help="address that may pause minting (e.g. a multisig); required for production",
    )
    parser.add_argument(
        "--custody-node",
        action="append",
        default=[],
        type=_custody_node,
        metavar="URL=PUBLIC_KEY",
        help="a custody node of the first node set: its URL and its secp256k1 public key "
        "(uncompressed hex, its GET /healthz shows it); repeat, in share-index order. "
        "Required for production; later sets come by a vote (`datadao custody propose`)",
    )
    parser.add_argument(
        "--custody-threshold",
        type=int,
        help="M: how many of the --custody-node nodes give a file key back",
    )
    parser.add_argument(
        "--allow-local-profile",
        action="store_true",
        help="deploy the local profile to a chain other than anvil's (never for real use)",
    )
    args = parser.parse_args(argv)
    try:
        import os

        w3 = connection.connect(args.rpc_url)
        chain_id = w3.eth.chain_id
        deployer = key_or_dev_account(
            os.environ.get(args.deployer_key_env), chain_id, DEPLOYER_INDEX, "deployer"
        )
        validators = args.validator or (
            [dev_account(i).address for i in (VALIDATOR_INDEX, *CO_VALIDATOR_INDEXES)]
            if chain_id == ANVIL_CHAIN_ID
            else []
        )
        if not validators:
            raise DeploymentError("Give at least one --validator address for this chain.")
        validators = sorted(Web3.to_checksum_address(v) for v in validators)
        params = profile_parameters(
            args.profile,
            chain_id,
            validators,
            args.guardian,
            args.allow_local_profile,
            args.required_signatures,
            args.custody_node,
            args.custody_threshold,
        )
        if args.profile == "production" and params["custody_threshold"] < 2:
            raise DeploymentError(
                "The production profile needs custody nodes, any 2 or more of which give a "
                "file key (--custody-node URL=PUBLIC_KEY, repeated, and --custody-threshold): "
                "otherwise one operator could decrypt the dataset."
            )
        print_parameters(params, chain_id)
        print("Compiling contracts ...", flush=True)
        compiled = compile_project(args.build_cache)
        if args.manifest.exists():
            existing = load_manifest(args.manifest)
            if reusable(w3, existing, compiled, params):
                print(f"Reusing the deployment in {args.manifest} (chain {chain_id}).")
                return 0
        print(f"Deploying to chain {chain_id} from {deployer.address} ...", flush=True)
        manifest = deploy_all(w3, deployer, compiled, params, validators)
        write_manifest(args.manifest, manifest)
        print(f"Wrote {args.manifest}.")
        return 0
    except DataDaoError as exc:
        print(f"error: {exc.user_message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
