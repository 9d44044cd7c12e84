// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/**
 * @title MintLimits
 * @notice Bounds what attestations can mint, so that no validator key (or set of keys)
 * can out-mint the holders who would vote it out: a cap on each attestation's score, and
 * per period a token budget for each contributor and one for everyone together.
 * @dev Periods are fixed windows of `periodSeconds` counted from the unix epoch; usage
 * is kept per period and starts again at zero in the next one. A change of the limits
 * applies from the next mint.
 */
abstract contract MintLimits {
    using SafeCast for uint256;

    /// @notice The limits, set by the timelock.
    struct Limits {
        uint40 maxScore; // highest score one attestation may carry
        uint64 periodSeconds; // length of a budget period
        uint256 periodBudget; // tokens all contributors together may receive in one period
        uint256 contributorBudget; // tokens one contributor may receive in one period
    }

    struct Usage {
        uint48 period;
        uint208 minted;
    }

    Limits private _limits;
    Usage private _totalUsage;
    mapping(address contributor => Usage) private _contributorUsage;

    /// @notice The mint limits are now the given values.
    event MintLimitsChanged(uint40 maxScore, uint64 periodSeconds, uint256 periodBudget, uint256 contributorBudget);

    /// @notice The attestation for `fingerprint` scores `score`, above the cap `maxScore`.
    error MintLimitsScoreAboveCap(bytes32 fingerprint, uint256 score, uint256 maxScore);
    /// @notice Minting now would take the total of period `period` to `minted`, above `budget`.
    error MintLimitsPeriodBudgetExceeded(uint256 period, uint256 minted, uint256 budget);
    /// @notice Minting now would take `contributor`'s total in the period to `minted`, above `budget`.
    error MintLimitsContributorBudgetExceeded(address contributor, uint256 period, uint256 minted, uint256 budget);
    /// @notice A score cap and a period length must be above zero.
    error MintLimitsInvalid(uint40 maxScore, uint64 periodSeconds);

    /**
     * @notice The limits in force.
     * @return The score cap, period length and the two per-period token budgets.
     */
    function mintLimits() external view returns (Limits memory) {
        return _limits;
    }

    /**
     * @notice What was minted in the current period, in total and to `contributor`.
     * @param contributor The contributor.
     * @return period The current period's number.
     * @return total Tokens minted to everyone in it.
     * @return ofContributor Tokens minted to `contributor` in it.
     */
    function mintedThisPeriod(address contributor)
        external
        view
        returns (uint256 period, uint256 total, uint256 ofContributor)
    {
        period = _currentPeriod();
        total = _usedIn(_totalUsage, period);
        ofContributor = _usedIn(_contributorUsage[contributor], period);
    }

    function _setMintLimits(Limits memory limits) internal {
        if (limits.maxScore == 0 || limits.periodSeconds == 0) {
            revert MintLimitsInvalid(limits.maxScore, limits.periodSeconds);
        }
        _limits = limits;
        emit MintLimitsChanged(limits.maxScore, limits.periodSeconds, limits.periodBudget, limits.contributorBudget);
    }

    function _checkScore(bytes32 fingerprint, uint256 score) internal view {
        uint256 maxScore = _limits.maxScore;
        if (score > maxScore) revert MintLimitsScoreAboveCap(fingerprint, score, maxScore);
    }

    /// Counts `tokens` against the period's budgets, or refuses them.
    function _spendBudget(address contributor, uint256 tokens) internal {
        uint256 period = _currentPeriod();
        uint256 total = _usedIn(_totalUsage, period) + tokens;
        if (total > _limits.periodBudget) revert MintLimitsPeriodBudgetExceeded(period, total, _limits.periodBudget);
        uint256 ofContributor = _usedIn(_contributorUsage[contributor], period) + tokens;
        if (ofContributor > _limits.contributorBudget) {
            revert MintLimitsContributorBudgetExceeded(contributor, period, ofContributor, _limits.contributorBudget);
        }
        _totalUsage = Usage(period.toUint48(), total.toUint208());
        _contributorUsage[contributor] = Usage(period.toUint48(), ofContributor.toUint208());
    }

    function _currentPeriod() internal view returns (uint256) {
        return block.timestamp / _limits.periodSeconds;
    }

    function _usedIn(Usage memory usage, uint256 period) internal pure returns (uint256) {
        // slither-disable-next-line incorrect-equality -- a period number, not a balance: usage from any other period is stale
        return usage.period == period ? usage.minted : 0;
    }
}
