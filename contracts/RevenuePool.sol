// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IValidatorSet, ValuedEarnings} from "./extensions/ValuedEarnings.sol";

/**
 * @title RevenuePool
 * @notice Rental income, kept per dataset and shared among that dataset's contributors:
 * a rental with a validation sample by each contribution's measured value to it (see
 * ValuedEarnings: a cumulative Merkle root the validator set signs), any other income
 * pro rata to their contribution weight (their score).
 * @dev Per dataset, earnings per unit of weight (`earningsPerWeight`) grow with each
 * deposit; an account's share is `weight * earningsPerWeight / 1e18 - debt`, so deposits
 * and claims are O(1) whatever the number of contributors. A weight change moves the
 * debt by the changed weight's accrued value, so past income stays and a withdrawn
 * contribution earns nothing after; the debt is signed because a full withdrawal with
 * income unclaimed leaves it below zero. Every rounding favours the pool: a deposit shares
 * the wei its per-weight increment covers, rounded up, and keeps the rest for the next
 * one; an added weight's debt rounds up and a removed weight's debt rounds down. So the
 * sum of what a dataset's accounts can claim never exceeds what the pool holds for it.
 *
 * Income that arrives while a dataset has no weight at all is idle: it is not handed to
 * whoever holds weight at the next deposit, but waits for the timelock to share it with
 * the dataset's holders or send it back. Income a voided contribution earned and was not
 * claimed (`forfeit`) goes back to the dataset's other holders.
 */
contract RevenuePool is ReentrancyGuardTransient, ValuedEarnings {
    using SafeCast for uint256;
    using SafeCast for int256;

    uint256 internal constant PRECISION = 1e18;

    struct Account {
        uint96 weight;
        int160 debt; // wei already counted: paid out, or earned before the weight was added
    }

    struct Dataset {
        uint256 earningsPerWeight; // income per unit of weight since the start, scaled by 1e18
        uint128 totalWeight;
        uint128 unallocated; // rounding left over from deposits, shared by the next one
        uint128 idle; // received while nobody had weight: waits for the timelock
    }

    /// @notice The ContributionRegistry: the only account that changes weights, and the
    /// validator set that signs earnings roots.
    address public immutable registry;

    mapping(uint32 datasetId => Dataset) private _datasets;
    mapping(uint32 datasetId => mapping(address account => Account)) private _accounts;

    /// @notice `from` paid `amount` wei for `datasetId`; `shared` wei of what was waiting went
    /// to the weight holders, bringing `earningsPerWeight` to the given value.
    event RevenueDeposited(
        uint32 indexed datasetId, address indexed from, uint256 amount, uint256 shared, uint256 earningsPerWeight
    );
    /// @notice `account`'s weight in `datasetId` changed to `weight`, the dataset's to `totalWeight`.
    event WeightChanged(uint32 indexed datasetId, address indexed account, uint256 weight, uint256 totalWeight);
    /// @notice `account` was paid `amount` wei of `datasetId`'s income.
    event RevenueClaimed(uint32 indexed datasetId, address indexed account, uint256 amount);
    /// @notice `amount` wei arrived for `datasetId` while it had no weight; `idle` wei wait now.
    event IncomeIdle(uint32 indexed datasetId, address indexed from, uint256 amount, uint256 idle);
    /// @notice The timelock sent `datasetId`'s `amount` idle wei to `to`.
    event IdleIncomeSent(uint32 indexed datasetId, address indexed to, uint256 amount);
    /// @notice `amount` wei of `account`'s unclaimed income from `datasetId` went back to the
    /// dataset (its contribution was voided).
    event IncomeForfeited(uint32 indexed datasetId, address indexed account, uint256 amount);

    /// @notice Only the registry changes weights.
    error RevenuePoolUnauthorized(address account);
    /// @notice `account` has nothing to claim from `datasetId`.
    error RevenuePoolNothingToClaim(uint32 datasetId, address account);
    /// @notice A weight change would take `account` below zero in `datasetId`.
    error RevenuePoolInsufficientWeight(uint32 datasetId, address account, uint256 weight, uint256 removed);
    /// @notice Only the timelock decides what happens to idle income.
    error RevenuePoolNotTimelock(address account);
    /// @notice `datasetId` has no idle income (or still no weight to share it with).
    error RevenuePoolNoIdleIncome(uint32 datasetId, uint256 idle, uint256 totalWeight);

    /**
     * @param registry_ The ContributionRegistry.
     * @param challengeDelay_ Seconds a posted earnings root waits, cancellable, before claims.
     * @param settlementWindow_ Seconds after a valued deposit from which what no root
     * allocated may be split by score.
     */
    constructor(address registry_, uint48 challengeDelay_, uint48 settlementWindow_)
        EIP712("DataDAO RevenuePool", "1")
        ValuedEarnings(challengeDelay_, settlementWindow_)
    {
        registry = registry_;
    }

    /**
     * @notice Adds the attached value to `datasetId`'s income, shared by its current weight holders.
     * @param datasetId The dataset the income is for.
     */
    function deposit(uint32 datasetId) external payable {
        _deposit(datasetId, msg.sender, msg.value);
    }

    /**
     * @notice Adds the attached value to `datasetId`'s valued income, split by the next
     * earnings root the validator set posts.
     * @param datasetId The dataset the income is for.
     */
    function depositValued(uint32 datasetId) external payable {
        _depositValued(datasetId, msg.sender, msg.value);
    }

    /**
     * @notice Replaces `earningsRoot.datasetId`'s cumulative earnings root; anyone may post
     * it with enough validator signatures (the service relays).
     * @param earningsRoot The signed root.
     * @param signatures Validator signatures over it, signers in increasing address order.
     */
    function postEarningsRoot(EarningsRoot calldata earningsRoot, bytes[] calldata signatures) external {
        _postEarningsRoot(earningsRoot, signatures);
    }

    /**
     * @notice Cancels `datasetId`'s root while it waits out its challenge delay; the
     * guardian or the timelock. The validator set posts a corrected one (the next epoch).
     * @param datasetId The dataset.
     */
    function cancelEarningsRoot(uint32 datasetId) external {
        _checkCanceller();
        _cancelEarningsRoot(datasetId);
    }

    /**
     * @notice Splits by score the valued income of `datasetId` that no earnings root
     * allocated within its settlement window (see `ValuedEarnings`); anyone may.
     * @param datasetId The dataset.
     */
    function splitUnsettledIncome(uint32 datasetId) external {
        _deposit(datasetId, address(this), _takeUnsettled(datasetId));
    }

    /**
     * @notice Shares `datasetId`'s idle income with its weight holders now; only the timelock.
     * @param datasetId The dataset.
     */
    function shareIdleIncome(uint32 datasetId) external {
        _checkTimelock();
        _shareIdleIncome(datasetId);
    }

    /**
     * @notice Sends `datasetId`'s idle income to `to` (e.g. back to the renter); only the timelock.
     * @param datasetId The dataset.
     * @param to Where the wei go.
     */
    function sendIdleIncome(uint32 datasetId, address payable to) external nonReentrant {
        _checkTimelock();
        _sendIdleIncome(datasetId, to);
    }

    /**
     * @notice Takes back up to `amount` of `account`'s unclaimed income from `datasetId`
     * and shares it with the dataset's holders; only the registry, voiding a contribution.
     * @param datasetId The dataset.
     * @param account The voided contribution's contributor.
     * @param amount What the contribution earned (see `previewForfeit`).
     */
    function forfeit(uint32 datasetId, address account, uint256 amount) external {
        _checkRegistry();
        _forfeit(datasetId, account, amount);
    }

    /**
     * @notice What `forfeit` would take back: `amount`, as far as `account` has not claimed it.
     * @param datasetId The dataset.
     * @param account The contributor.
     * @param amount What the contribution earned.
     * @return The wei that would go back to the dataset.
     */
    function previewForfeit(uint32 datasetId, address account, uint256 amount) external view returns (uint256) {
        return Math.min(claimable(datasetId, account), amount);
    }

    /**
     * @notice `datasetId`'s income per unit of weight since the start, scaled by 1e18: what
     * a unit of weight held from `a` to `b` earned is the difference, over 1e18.
     * @param datasetId The dataset.
     * @return The earnings per weight.
     */
    function earningsPerWeightOf(uint32 datasetId) external view returns (uint256) {
        return _datasets[datasetId].earningsPerWeight;
    }

    /**
     * @notice `datasetId`'s income that arrived while it had no weight, waiting for the timelock.
     * @param datasetId The dataset.
     * @return The idle wei.
     */
    function idleIncomeOf(uint32 datasetId) external view returns (uint256) {
        return _datasets[datasetId].idle;
    }

    /**
     * @notice Pays the caller its valued earnings from `datasetId` not yet claimed: the
     * proven cumulative amount minus what it claimed before.
     * @param datasetId The dataset.
     * @param cumulative The caller's cumulative earnings in the current root.
     * @param proof The Merkle proof of (caller, cumulative) under the current root.
     */
    function claimEarnings(uint32 datasetId, uint256 cumulative, bytes32[] calldata proof) external nonReentrant {
        uint256 amount = _claimEarnings(datasetId, msg.sender, cumulative, proof);
        Address.sendValue(payable(msg.sender), amount);
    }

    /**
     * @notice Adds `amount` to `account`'s weight in `datasetId`; only the registry, for a
     * matured contribution.
     * @param datasetId The contribution's dataset.
     * @param account The contributor.
     * @param amount The contribution's weight.
     */
    function addWeight(uint32 datasetId, address account, uint256 amount) external {
        _checkRegistry();
        _addWeight(datasetId, account, amount);
    }

    /**
     * @notice Removes `amount` from `account`'s weight in `datasetId`; only the registry, for a
     * withdrawn or voided contribution.
     * @param datasetId The contribution's dataset.
     * @param account The contributor.
     * @param amount The contribution's weight.
     */
    function removeWeight(uint32 datasetId, address account, uint256 amount) external {
        _checkRegistry();
        _removeWeight(datasetId, account, amount);
    }

    /**
     * @notice Pays the caller everything it has earned from `datasetId` so far.
     * @param datasetId The dataset.
     */
    function claim(uint32 datasetId) external nonReentrant {
        _claim(datasetId, msg.sender);
    }

    /**
     * @notice What `account` could claim from `datasetId` now, in wei.
     * @param datasetId The dataset.
     * @param account The contributor.
     * @return The claimable amount.
     */
    function claimable(uint32 datasetId, address account) public view returns (uint256) {
        Account memory current = _accounts[datasetId][account];
        int256 owed = _accrued(datasetId, current.weight, Math.Rounding.Floor).toInt256() - current.debt;
        return owed > 0 ? uint256(owed) : 0;
    }

    /**
     * @notice `account`'s current weight in `datasetId`.
     * @param datasetId The dataset.
     * @param account The contributor.
     * @return The weight.
     */
    function weightOf(uint32 datasetId, address account) external view returns (uint256) {
        return _accounts[datasetId][account].weight;
    }

    /**
     * @notice `datasetId`'s income accounting.
     * @param datasetId The dataset.
     * @return earningsPerWeight Income per unit of weight since the start, scaled by 1e18.
     * @return totalWeight Sum of its accounts' weights.
     * @return unallocated Rounding left from deposits (shared at the next deposit).
     */
    function datasetOf(uint32 datasetId)
        external
        view
        returns (uint256 earningsPerWeight, uint256 totalWeight, uint256 unallocated)
    {
        Dataset memory dataset = _datasets[datasetId];
        return (dataset.earningsPerWeight, dataset.totalWeight, dataset.unallocated);
    }

    function _deposit(uint32 datasetId, address from, uint256 amount) internal {
        Dataset storage dataset = _datasets[datasetId];
        uint256 totalWeight = dataset.totalWeight;
        if (totalWeight == 0) {
            uint256 idle = dataset.idle + amount;
            dataset.idle = idle.toUint128();
            emit IncomeIdle(datasetId, from, amount, idle);
            return;
        }
        uint256 waiting = amount + dataset.unallocated;
        uint256 increment = (waiting * PRECISION) / totalWeight;
        // What the increment owes all holders together, rounded up: never more than `waiting`.
        uint256 shared = Math.mulDiv(increment, totalWeight, PRECISION, Math.Rounding.Ceil);
        dataset.earningsPerWeight += increment;
        dataset.unallocated = (waiting - shared).toUint128();
        emit RevenueDeposited(datasetId, from, amount, shared, dataset.earningsPerWeight);
    }

    function _shareIdleIncome(uint32 datasetId) internal {
        Dataset storage dataset = _datasets[datasetId];
        uint256 idle = dataset.idle;
        if (idle == 0 || dataset.totalWeight == 0) revert RevenuePoolNoIdleIncome(datasetId, idle, dataset.totalWeight);
        dataset.idle = 0;
        _deposit(datasetId, address(this), idle);
    }

    function _sendIdleIncome(uint32 datasetId, address payable to) internal {
        Dataset storage dataset = _datasets[datasetId];
        uint256 idle = dataset.idle;
        if (idle == 0) revert RevenuePoolNoIdleIncome(datasetId, idle, dataset.totalWeight);
        dataset.idle = 0;
        emit IdleIncomeSent(datasetId, to, idle);
        Address.sendValue(to, idle);
    }

    function _forfeit(uint32 datasetId, address account, uint256 amount) internal {
        uint256 taken = Math.min(claimable(datasetId, account), amount);
        if (taken == 0) return;
        _accounts[datasetId][account].debt += taken.toInt256().toInt160();
        emit IncomeForfeited(datasetId, account, taken);
        _deposit(datasetId, address(this), taken);
    }

    function _addWeight(uint32 datasetId, address account, uint256 amount) internal {
        Account storage current = _accounts[datasetId][account];
        uint256 weight = current.weight + amount;
        current.weight = weight.toUint96();
        current.debt += _accrued(datasetId, amount, Math.Rounding.Ceil).toInt256().toInt160();
        uint256 totalWeight = _datasets[datasetId].totalWeight + amount;
        _datasets[datasetId].totalWeight = totalWeight.toUint128();
        emit WeightChanged(datasetId, account, weight, totalWeight);
    }

    function _removeWeight(uint32 datasetId, address account, uint256 amount) internal {
        Account storage current = _accounts[datasetId][account];
        if (amount > current.weight) {
            revert RevenuePoolInsufficientWeight(datasetId, account, current.weight, amount);
        }
        uint256 weight = current.weight - amount;
        current.weight = uint96(weight);
        current.debt -= _accrued(datasetId, amount, Math.Rounding.Floor).toInt256().toInt160();
        uint256 totalWeight = _datasets[datasetId].totalWeight - amount;
        _datasets[datasetId].totalWeight = uint128(totalWeight);
        emit WeightChanged(datasetId, account, weight, totalWeight);
    }

    function _claim(uint32 datasetId, address account) internal {
        uint256 amount = claimable(datasetId, account);
        if (amount == 0) revert RevenuePoolNothingToClaim(datasetId, account);
        _accounts[datasetId][account].debt += amount.toInt256().toInt160();
        emit RevenueClaimed(datasetId, account, amount);
        Address.sendValue(payable(account), amount);
    }

    function _accrued(uint32 datasetId, uint256 weight, Math.Rounding rounding) internal view returns (uint256) {
        return Math.mulDiv(weight, _datasets[datasetId].earningsPerWeight, PRECISION, rounding);
    }

    function _validatorSet() internal view override returns (IValidatorSet) {
        return IValidatorSet(registry);
    }

    function _checkRegistry() internal view {
        if (msg.sender != registry) revert RevenuePoolUnauthorized(msg.sender);
    }

    function _checkTimelock() internal view {
        if (msg.sender != IValidatorSet(registry).owner()) revert RevenuePoolNotTimelock(msg.sender);
    }
}
