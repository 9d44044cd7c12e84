// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice The validator set that signs earnings roots (the ContributionRegistry).
interface IValidatorSet {
    /// @notice Reverts unless `signatures` are enough distinct validators' signatures over `digest`.
    function checkSignatures(bytes32 digest, bytes[] calldata signatures) external view;
}

/**
 * @title ValuedEarnings
 * @notice Rental income split by measured value: per dataset, the validator set signs one
 * cumulative Merkle root of (account, everything the account has earned so far); a claim
 * pays the proven cumulative amount minus what the account already claimed, so one claim
 * collects every rental so far.
 * @dev Leaves are OpenZeppelin's StandardMerkleTree leaves of `(address, uint256)`:
 * `keccak256(bytes.concat(keccak256(abi.encode(account, cumulative))))`. Each root carries
 * the next epoch number, so an old signed root cannot be posted again, and a total that
 * may not fall and may not exceed the income funded for the dataset, so the validator set
 * can at worst misallocate a dataset's own valued income, never another dataset's. Claims
 * are capped by the same funding. Whatever the table leaves unallocated (rounding dust)
 * stays funded and is shared by a later root.
 */
abstract contract ValuedEarnings is EIP712 {
    using SafeCast for uint256;

    /// @notice What the validator set signs for one dataset's new cumulative root (EIP-712).
    struct EarningsRoot {
        uint32 datasetId;
        uint64 epoch;
        bytes32 root;
        uint256 total;
        string cid;
    }

    struct Earnings {
        bytes32 root;
        uint128 funded; // valued income received for the dataset
        uint128 total; // sum of the cumulative amounts in `root`
        uint128 paid; // claimed so far
        uint64 epoch; // roots posted so far
    }

    bytes32 public constant EARNINGS_ROOT_TYPEHASH =
        keccak256("EarningsRoot(uint32 datasetId,uint64 epoch,bytes32 root,uint256 total,string cid)");

    mapping(uint32 datasetId => Earnings) private _earnings;
    mapping(uint32 datasetId => mapping(address account => uint256)) private _claimedEarnings;

    /// @notice `from` paid `amount` wei to `datasetId`, to be split by measured value.
    event ValuedRevenueDeposited(uint32 indexed datasetId, address indexed from, uint256 amount, uint256 funded);
    /// @notice `datasetId`'s cumulative earnings are now `root` (epoch `epoch`), `total` wei in
    /// all; the table it was built from is at `cid` on IPFS.
    event EarningsRootPosted(uint32 indexed datasetId, uint64 indexed epoch, bytes32 root, uint256 total, string cid);
    /// @notice `account` was paid `amount` wei, bringing its claims from `datasetId` to `cumulative`.
    event EarningsClaimed(uint32 indexed datasetId, address indexed account, uint256 amount, uint256 cumulative);

    /// @notice The root is for epoch `epoch`; the next one of `datasetId` is `expected`.
    error EarningsWrongEpoch(uint32 datasetId, uint64 epoch, uint64 expected);
    /// @notice The root's `total` is below the previous root's `previous`.
    error EarningsTotalDecreased(uint32 datasetId, uint256 total, uint256 previous);
    /// @notice The root's `total` (or the claims) would exceed the `funded` valued income.
    error EarningsUnderfunded(uint32 datasetId, uint256 total, uint256 funded);
    /// @notice The proof does not show `cumulative` for `account` under `datasetId`'s root.
    error EarningsInvalidProof(uint32 datasetId, address account, uint256 cumulative);
    /// @notice `account` already claimed `claimed` of the proven `cumulative`.
    error EarningsNothingToClaim(uint32 datasetId, address account, uint256 cumulative, uint256 claimed);

    /**
     * @notice `datasetId`'s earnings accounting.
     * @param datasetId The dataset.
     * @return root The current cumulative root (zero before the first).
     * @return epoch Roots posted so far.
     * @return total Sum of the root's cumulative amounts.
     * @return funded Valued income received.
     * @return paid Claimed so far.
     */
    function earningsOf(uint32 datasetId)
        external
        view
        returns (bytes32 root, uint64 epoch, uint256 total, uint256 funded, uint256 paid)
    {
        Earnings memory e = _earnings[datasetId];
        return (e.root, e.epoch, e.total, e.funded, e.paid);
    }

    /**
     * @notice What `account` has claimed from `datasetId`'s valued income so far.
     * @param datasetId The dataset.
     * @param account The contributor.
     * @return The claimed wei.
     */
    function claimedEarnings(uint32 datasetId, address account) external view returns (uint256) {
        return _claimedEarnings[datasetId][account];
    }

    /**
     * @notice The EIP-712 digest validators sign for `earningsRoot`.
     * @param earningsRoot The root.
     * @return The digest.
     */
    function earningsRootDigest(EarningsRoot calldata earningsRoot) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    EARNINGS_ROOT_TYPEHASH,
                    earningsRoot.datasetId,
                    earningsRoot.epoch,
                    earningsRoot.root,
                    earningsRoot.total,
                    keccak256(bytes(earningsRoot.cid))
                )
            )
        );
    }

    /// @dev The validator set whose signatures a root needs.
    function _validatorSet() internal view virtual returns (IValidatorSet);

    function _depositValued(uint32 datasetId, address from, uint256 amount) internal {
        Earnings storage e = _earnings[datasetId];
        uint256 funded = e.funded + amount;
        e.funded = funded.toUint128();
        emit ValuedRevenueDeposited(datasetId, from, amount, funded);
    }

    function _postEarningsRoot(EarningsRoot calldata r, bytes[] calldata signatures) internal {
        Earnings storage e = _earnings[r.datasetId];
        if (r.epoch != e.epoch + 1) revert EarningsWrongEpoch(r.datasetId, r.epoch, e.epoch + 1);
        if (r.total < e.total) revert EarningsTotalDecreased(r.datasetId, r.total, e.total);
        if (r.total > e.funded) revert EarningsUnderfunded(r.datasetId, r.total, e.funded);
        _validatorSet().checkSignatures(earningsRootDigest(r), signatures);
        e.root = r.root;
        e.total = r.total.toUint128();
        e.epoch = r.epoch;
        emit EarningsRootPosted(r.datasetId, r.epoch, r.root, r.total, r.cid);
    }

    /// @dev Checks and books the claim; returns the wei to pay `account` (the caller pays it).
    function _claimEarnings(uint32 datasetId, address account, uint256 cumulative, bytes32[] calldata proof)
        internal
        returns (uint256 amount)
    {
        Earnings storage e = _earnings[datasetId];
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulative))));
        if (!MerkleProof.verifyCalldata(proof, e.root, leaf)) {
            revert EarningsInvalidProof(datasetId, account, cumulative);
        }
        uint256 claimed = _claimedEarnings[datasetId][account];
        if (cumulative <= claimed) revert EarningsNothingToClaim(datasetId, account, cumulative, claimed);
        amount = cumulative - claimed;
        uint256 paid = e.paid + amount;
        if (paid > e.funded) revert EarningsUnderfunded(datasetId, paid, e.funded);
        _claimedEarnings[datasetId][account] = cumulative;
        e.paid = paid.toUint128();
        emit EarningsClaimed(datasetId, account, amount, cumulative);
    }
}
