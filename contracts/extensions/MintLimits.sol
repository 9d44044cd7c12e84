// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/**
 * @title MintLimits
 * @notice Bounds what attestations can mint, so that no validator key (or set of keys)
 * can out-mint the holders who would vote it out: a cap on each attestation's score, and
 * budgets that are shares of the voting supply: one for everyone together and one for
 * each platform account, so that minting can never outrun the honest supply and sybil
 * wallets of one account share that account's budget.
 * @dev Each budget is a bucket that empties at its own size per window (`windowSeconds`):
 * what was minted counts against it and drains linearly, so there is no period boundary
 * to mint on both sides of. Over any window at most twice the budget can be minted (a
 * full bucket, then what drains in the window), and over a long time at most the budget
 * per window. A budget is `share` basis points of the voting supply, counted as at least
 * `minSupply` so that a new DAO with no supply can start. A change of the limits applies
 * from the next mint.
 */
abstract contract MintLimits {
    using SafeCast for uint256;

    uint256 private constant BASIS_POINTS = 10_000;

    /// @notice The limits, set by the timelock.
    struct Limits {
        uint40 maxScore; // highest score one attestation may carry
        uint32 windowSeconds; // the time a bucket takes to empty: a day
        uint16 totalShareBps; // everyone together, per window, in basis points of the voting supply
        uint16 accountShareBps; // one platform account, per window, in basis points of the voting supply
        uint128 minSupply; // budgets count from at least this supply
    }

    struct Usage {
        uint48 updatedAt;
        uint208 used;
    }

    Limits private _limits;
    Usage private _totalUsage;
    mapping(bytes32 account => Usage) private _accountUsage;

    /// @notice The mint limits are now the given values.
    event MintLimitsChanged(
        uint40 maxScore, uint32 windowSeconds, uint16 totalShareBps, uint16 accountShareBps, uint128 minSupply
    );

    /// @notice The attestation for `fingerprint` scores `score`, above the cap `maxScore`.
    error MintLimitsScoreAboveCap(bytes32 fingerprint, uint256 score, uint256 maxScore);
    /// @notice Minting now would fill everyone's bucket to `used`, above `budget`.
    error MintLimitsTotalBudgetExceeded(uint256 used, uint256 budget);
    /// @notice Minting now would fill platform account `account`'s bucket to `used`, above `budget`.
    error MintLimitsAccountBudgetExceeded(bytes32 account, uint256 used, uint256 budget);
    /// @notice A score cap and a window must be above zero, and a share at most 10,000 basis points.
    error MintLimitsInvalid(uint40 maxScore, uint32 windowSeconds, uint16 totalShareBps, uint16 accountShareBps);

    /**
     * @notice The limits in force.
     * @return The score cap, window, the two shares and the minimum supply.
     */
    function mintLimits() external view returns (Limits memory) {
        return _limits;
    }

    /**
     * @notice The two budgets now and how full they are, for platform account `account`.
     * @param account The platform account's key (see the registry's Attestation).
     * @return totalBudget What everyone together may have in the bucket.
     * @return totalUsed What is in it now.
     * @return accountBudget What `account` may have in its bucket.
     * @return accountUsed What is in `account`'s now.
     */
    function mintBudgets(bytes32 account)
        external
        view
        returns (uint256 totalBudget, uint256 totalUsed, uint256 accountBudget, uint256 accountUsed)
    {
        (totalBudget, accountBudget) = _budgets();
        totalUsed = _used(_totalUsage, totalBudget);
        accountUsed = _used(_accountUsage[account], accountBudget);
    }

    /// @dev The supply the budgets are shares of: tokens that vote now.
    function _votingSupply() internal view virtual returns (uint256);

    function _setMintLimits(Limits memory limits) internal {
        if (
            limits.maxScore == 0 || limits.windowSeconds == 0 || limits.totalShareBps > BASIS_POINTS
                || limits.accountShareBps > BASIS_POINTS
        ) {
            revert MintLimitsInvalid(
                limits.maxScore, limits.windowSeconds, limits.totalShareBps, limits.accountShareBps
            );
        }
        _limits = limits;
        emit MintLimitsChanged(
            limits.maxScore, limits.windowSeconds, limits.totalShareBps, limits.accountShareBps, limits.minSupply
        );
    }

    function _checkScore(bytes32 fingerprint, uint256 score) internal view {
        uint256 maxScore = _limits.maxScore;
        if (score > maxScore) revert MintLimitsScoreAboveCap(fingerprint, score, maxScore);
    }

    /// Counts `tokens` against both buckets, or refuses them.
    function _spendBudget(bytes32 account, uint256 tokens) internal {
        (uint256 totalBudget, uint256 accountBudget) = _budgets();
        uint256 total = _used(_totalUsage, totalBudget) + tokens;
        if (total > totalBudget) revert MintLimitsTotalBudgetExceeded(total, totalBudget);
        uint256 ofAccount = _used(_accountUsage[account], accountBudget) + tokens;
        if (ofAccount > accountBudget) revert MintLimitsAccountBudgetExceeded(account, ofAccount, accountBudget);
        uint48 now_ = block.timestamp.toUint48();
        _totalUsage = Usage(now_, total.toUint208());
        _accountUsage[account] = Usage(now_, ofAccount.toUint208());
    }

    function _budgets() internal view returns (uint256 totalBudget, uint256 accountBudget) {
        Limits memory limits = _limits;
        uint256 supply = Math.max(_votingSupply(), limits.minSupply);
        totalBudget = Math.mulDiv(supply, limits.totalShareBps, BASIS_POINTS);
        accountBudget = Math.mulDiv(supply, limits.accountShareBps, BASIS_POINTS);
    }

    /// What is left in a bucket of size `budget` after draining since its last mint.
    function _used(Usage memory usage, uint256 budget) internal view returns (uint256) {
        uint256 drained = Math.mulDiv(block.timestamp - usage.updatedAt, budget, _limits.windowSeconds);
        return usage.used > drained ? usage.used - drained : 0;
    }
}
