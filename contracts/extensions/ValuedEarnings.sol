// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

/// @notice The validator set that signs earnings roots, and who governs it (the ContributionRegistry).
interface IValidatorSet {
    /// @notice Reverts unless `signatures` are enough distinct validators' signatures over `digest`.
    function checkSignatures(bytes32 digest, bytes[] calldata signatures) external view;
    /// @notice Whether the guardian (or the timelock) stopped minting, and with it earnings roots.
    function paused() external view returns (bool);
    /// @notice The guardian, who may cancel a root during its challenge delay.
    function guardian() external view returns (address);
    /// @notice The timelock, who may cancel a root during its challenge delay.
    function owner() external view returns (address);
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
 * are capped by the root's signed total. Whatever the table leaves unallocated (rounding
 * dust) stays funded and is shared by a later root.
 *
 * A posted root is pending for `challengeDelay` seconds before anyone can claim by it:
 * meanwhile the guardian or the timelock may cancel it (a root paying the validators
 * themselves, say), and its epoch is spent, so that it cannot be posted again. A later root
 * replaces a pending one (roots are cumulative). While the registry is paused no root is
 * posted and none becomes claimable.
 *
 * Valued income that no root has allocated `settlementWindow` seconds after it was
 * deposited (the validators never posted one, say) leaves this accounting: each deposit
 * has its own window (a checkpoint of the dataset's cumulative valued deposits), roots
 * and earlier splits count as covering the oldest deposits first, and
 * anyone may have it split by score instead (`_takeUnsettled`), so that a payment always
 * has a way out to the dataset's contributors.
 */
abstract contract ValuedEarnings is EIP712 {
    using SafeCast for uint256;
    using Checkpoints for Checkpoints.Trace208;

    /// @notice What the validator set signs for one dataset's new cumulative root (EIP-712).
    struct EarningsRoot {
        uint32 datasetId;
        uint64 epoch;
        bytes32 root;
        uint256 total;
        string cid;
    }

    struct Earnings {
        bytes32 root; // the claimable root
        uint128 funded; // valued income received for the dataset
        uint128 total; // sum of the cumulative amounts in `root`
        uint128 paid; // claimed so far
        uint64 epoch; // roots posted so far, cancelled ones included
    }

    struct PendingRoot {
        bytes32 root;
        uint128 total;
        uint64 epoch;
        uint48 claimableAt; // zero: none pending
    }

    bytes32 public constant EARNINGS_ROOT_TYPEHASH =
        keccak256("EarningsRoot(uint32 datasetId,uint64 epoch,bytes32 root,uint256 total,string cid)");

    /// @notice Seconds a posted root waits, cancellable, before claims may use it.
    uint48 public immutable challengeDelay;
    /// @notice Seconds after each valued deposit from which what of it no root allocated
    /// may be split by score.
    uint48 public immutable settlementWindow;

    mapping(uint32 datasetId => Earnings) private _earnings;
    // Cumulative valued wei ever deposited, by deposit time: each deposit's own window.
    mapping(uint32 datasetId => Checkpoints.Trace208) private _valuedDeposits;
    // Cumulative valued wei that left to be split by score.
    mapping(uint32 datasetId => uint256) private _unsettledTaken;
    mapping(uint32 datasetId => PendingRoot) private _pending;
    mapping(uint32 datasetId => mapping(address account => uint256)) private _claimedEarnings;

    /// @notice `from` paid `amount` wei to `datasetId`, to be split by measured value.
    event ValuedRevenueDeposited(uint32 indexed datasetId, address indexed from, uint256 amount, uint256 funded);
    /// @notice `datasetId`'s cumulative earnings are now `root` (epoch `epoch`), `total` wei in
    /// all; the table it was built from is at `cid` on IPFS.
    event EarningsRootPosted(uint32 indexed datasetId, uint64 indexed epoch, bytes32 root, uint256 total, string cid);
    /// @notice Root `epoch` of `datasetId` may be claimed by from `claimableAt` (unix seconds).
    event EarningsRootPending(uint32 indexed datasetId, uint64 indexed epoch, uint48 claimableAt);
    /// @notice `by` cancelled `datasetId`'s pending root `epoch`: nobody will claim by it.
    event EarningsRootCancelled(uint32 indexed datasetId, uint64 indexed epoch, address by);
    /// @notice `amount` wei of `datasetId`'s valued income no root allocated in time left
    /// the valued accounting, to be split by score; `funded` is what remains.
    event EarningsUnsettled(uint32 indexed datasetId, uint256 amount, uint256 funded);
    /// @notice `account` was paid `amount` wei, bringing its claims from `datasetId` to `cumulative`.
    event EarningsClaimed(uint32 indexed datasetId, address indexed account, uint256 amount, uint256 cumulative);

    /// @notice The root is for epoch `epoch`; the next one of `datasetId` is `expected`.
    error EarningsWrongEpoch(uint32 datasetId, uint64 epoch, uint64 expected);
    /// @notice The root's `total` is below the previous root's `previous`.
    error EarningsTotalDecreased(uint32 datasetId, uint256 total, uint256 previous);
    /// @notice The root's `total` would exceed the `funded` valued income.
    error EarningsUnderfunded(uint32 datasetId, uint256 total, uint256 funded);
    /// @notice The claims would reach `paid`, above the root's signed `total`.
    error EarningsAboveSignedTotal(uint32 datasetId, uint256 paid, uint256 total);
    /// @notice Earnings roots are stopped while the registry is paused.
    error EarningsPaused(uint32 datasetId);
    /// @notice `account` is neither the guardian nor the timelock.
    error EarningsUnauthorized(address account);
    /// @notice `datasetId` has no root waiting out its challenge delay.
    error EarningsNoPendingRoot(uint32 datasetId);
    /// @notice `datasetId`'s valued income may be settled by a root until `settleBy`; it is `now_`.
    error EarningsStillSettling(uint32 datasetId, uint256 settleBy, uint256 now_);
    /// @notice Every wei of `datasetId`'s valued income is allocated by a root.
    error EarningsNothingUnsettled(uint32 datasetId);
    /// @notice The proof does not show `cumulative` for `account` under `datasetId`'s root.
    error EarningsInvalidProof(uint32 datasetId, address account, uint256 cumulative);
    /// @notice `account` already claimed `claimed` of the proven `cumulative`.
    error EarningsNothingToClaim(uint32 datasetId, address account, uint256 cumulative, uint256 claimed);

    /// @param challengeDelay_ Seconds a posted root waits before claims may use it.
    /// @param settlementWindow_ Seconds from a valued deposit within which a root should allocate it.
    constructor(uint48 challengeDelay_, uint48 settlementWindow_) {
        challengeDelay = challengeDelay_;
        settlementWindow = settlementWindow_;
    }

    /**
     * @notice `datasetId`'s earnings accounting, as a claim now would meet it.
     * @param datasetId The dataset.
     * @return root The claimable cumulative root (zero before the first).
     * @return epoch Roots posted so far (the next is this plus one), cancelled ones included.
     * @return total Sum of the claimable root's cumulative amounts.
     * @return funded Valued income received.
     * @return paid Claimed so far.
     */
    function earningsOf(uint32 datasetId)
        external
        view
        returns (bytes32 root, uint64 epoch, uint256 total, uint256 funded, uint256 paid)
    {
        Earnings memory e = _earnings[datasetId];
        PendingRoot memory p = _pending[datasetId];
        if (_due(p)) (e.root, e.total) = (p.root, p.total);
        return (e.root, e.epoch, e.total, e.funded, e.paid);
    }

    /**
     * @notice The root of `datasetId` waiting out its challenge delay, if any.
     * @param datasetId The dataset.
     * @return root The pending root (zero if none).
     * @return epoch Its epoch.
     * @return total Its signed total.
     * @return claimableAt Unix seconds from which claims use it (zero if none).
     */
    function pendingEarningsRoot(uint32 datasetId)
        external
        view
        returns (bytes32 root, uint64 epoch, uint256 total, uint48 claimableAt)
    {
        PendingRoot memory p = _pending[datasetId];
        if (_due(p)) return (bytes32(0), 0, 0, 0);
        return (p.root, p.epoch, p.total, p.claimableAt);
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
        Checkpoints.Trace208 storage deposits = _valuedDeposits[datasetId];
        deposits.push(block.timestamp.toUint48(), (deposits.latest() + amount).toUint208());
        emit ValuedRevenueDeposited(datasetId, from, amount, funded);
    }

    /// @dev Takes the valued income of `datasetId` that no root (claimable or pending)
    /// allocated once the settlement window has passed; returns the wei (the caller shares them).
    function _takeUnsettled(uint32 datasetId) internal returns (uint256 amount) {
        Earnings storage e = _earnings[datasetId];
        uint256 allocated = Math.max(e.total, _pending[datasetId].total);
        if (e.funded <= allocated) revert EarningsNothingUnsettled(datasetId);
        Checkpoints.Trace208 storage deposits = _valuedDeposits[datasetId];
        // Roots and earlier splits cover the oldest deposits first.
        uint256 covered = _unsettledTaken[datasetId] + allocated;
        uint256 outOfWindow = block.timestamp > settlementWindow
            ? deposits.upperLookupRecent((block.timestamp - settlementWindow - 1).toUint48())
            : 0;
        if (outOfWindow <= covered) {
            revert EarningsStillSettling(datasetId, _settleBy(deposits, covered), block.timestamp);
        }
        amount = outOfWindow - covered;
        _unsettledTaken[datasetId] += amount;
        e.funded = (e.funded - amount).toUint128();
        emit EarningsUnsettled(datasetId, amount, e.funded);
    }

    /// @dev When the oldest deposit not `covered` leaves its window: the first checkpoint
    /// whose cumulative deposits exceed `covered` (a binary search; they only grow).
    function _settleBy(Checkpoints.Trace208 storage deposits, uint256 covered) private view returns (uint256) {
        uint256 low = 0;
        uint256 high = deposits.length();
        while (low < high) {
            uint256 mid = Math.average(low, high);
            if (deposits.at(uint32(mid))._value > covered) high = mid;
            else low = mid + 1;
        }
        return uint256(deposits.at(uint32(low))._key) + settlementWindow;
    }

    /// @dev Reverts unless the caller may cancel a pending root: the guardian or the timelock.
    function _checkCanceller() internal view {
        IValidatorSet set = _validatorSet();
        if (msg.sender != set.owner() && msg.sender != set.guardian()) revert EarningsUnauthorized(msg.sender);
    }

    function _postEarningsRoot(EarningsRoot calldata r, bytes[] calldata signatures) internal {
        if (_validatorSet().paused()) revert EarningsPaused(r.datasetId);
        _acceptDue(r.datasetId);
        Earnings storage e = _earnings[r.datasetId];
        if (r.epoch != e.epoch + 1) revert EarningsWrongEpoch(r.datasetId, r.epoch, e.epoch + 1);
        if (r.total < e.total) revert EarningsTotalDecreased(r.datasetId, r.total, e.total);
        if (r.total > e.funded) revert EarningsUnderfunded(r.datasetId, r.total, e.funded);
        _validatorSet().checkSignatures(earningsRootDigest(r), signatures);
        e.epoch = r.epoch;
        emit EarningsRootPosted(r.datasetId, r.epoch, r.root, r.total, r.cid);
        if (challengeDelay == 0) {
            e.root = r.root;
            e.total = r.total.toUint128();
        } else {
            uint48 claimableAt = (block.timestamp + challengeDelay).toUint48();
            _pending[r.datasetId] = PendingRoot(r.root, r.total.toUint128(), r.epoch, claimableAt);
            emit EarningsRootPending(r.datasetId, r.epoch, claimableAt);
        }
    }

    function _cancelEarningsRoot(uint32 datasetId) internal {
        PendingRoot memory p = _pending[datasetId];
        if (p.claimableAt == 0 || _due(p)) revert EarningsNoPendingRoot(datasetId);
        delete _pending[datasetId];
        emit EarningsRootCancelled(datasetId, p.epoch, msg.sender);
    }

    /// Makes a pending root whose delay has passed the claimable one.
    function _acceptDue(uint32 datasetId) internal {
        PendingRoot memory p = _pending[datasetId];
        if (!_due(p)) return;
        Earnings storage e = _earnings[datasetId];
        e.root = p.root;
        e.total = p.total;
        delete _pending[datasetId];
    }

    /// A pending root is due once its delay has passed, unless the registry is paused.
    function _due(PendingRoot memory p) internal view returns (bool) {
        return p.claimableAt != 0 && block.timestamp >= p.claimableAt && !_validatorSet().paused();
    }

    /// @dev Checks and books the claim; returns the wei to pay `account` (the caller pays it).
    function _claimEarnings(uint32 datasetId, address account, uint256 cumulative, bytes32[] calldata proof)
        internal
        returns (uint256 amount)
    {
        _acceptDue(datasetId);
        Earnings storage e = _earnings[datasetId];
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulative))));
        if (!MerkleProof.verifyCalldata(proof, e.root, leaf)) {
            revert EarningsInvalidProof(datasetId, account, cumulative);
        }
        uint256 claimed = _claimedEarnings[datasetId][account];
        if (cumulative <= claimed) revert EarningsNothingToClaim(datasetId, account, cumulative, claimed);
        amount = cumulative - claimed;
        uint256 paid = e.paid + amount;
        if (paid > e.total) revert EarningsAboveSignedTotal(datasetId, paid, e.total);
        _claimedEarnings[datasetId][account] = cumulative;
        e.paid = paid.toUint128();
        emit EarningsClaimed(datasetId, account, amount, cumulative);
    }
}
