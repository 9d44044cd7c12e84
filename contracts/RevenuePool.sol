// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/**
 * @title RevenuePool
 * @notice Rental income, shared among contributors pro rata to their contribution weight.
 * @dev Earnings per unit of weight (`earningsPerWeight`) grow with each deposit; an
 * account's share is `weight * earningsPerWeight - debt`, so deposits and claims are
 * O(1) whatever the number of contributors. Weight changes settle what was earned so
 * far first, so a withdrawn contribution keeps past income and earns nothing after.
 * Integer division leaves at most `totalWeight / 1e18` wei per deposit unassigned.
 */
contract RevenuePool is ReentrancyGuardTransient {
    using SafeCast for uint256;

    uint256 private constant PRECISION = 1e18;

    struct Account {
        uint96 weight;
        uint160 debt; // weight * earningsPerWeight / PRECISION at the last settlement
    }

    /// @notice The ContributionRegistry: the only account that changes weights.
    address public immutable registry;
    /// @notice Income per unit of weight since the start, scaled by 1e18.
    uint256 public earningsPerWeight;
    /// @notice Sum of all accounts' weights.
    uint256 public totalWeight;
    /// @notice Income received while no one had weight, shared at the next deposit.
    uint256 public unallocated;

    mapping(address account => Account) private _accounts;
    mapping(address account => uint256) private _settled;

    /// @notice `amount` wei of income arrived from `from`.
    event RevenueDeposited(address indexed from, uint256 amount, uint256 earningsPerWeight);
    /// @notice `account`'s weight changed to `weight`.
    event WeightChanged(address indexed account, uint256 weight, uint256 totalWeight);
    /// @notice `account` was paid `amount` wei.
    event RevenueClaimed(address indexed account, uint256 amount);

    /// @notice Only the registry changes weights.
    error RevenuePoolUnauthorized(address account);
    /// @notice `account` has nothing to claim.
    error RevenuePoolNothingToClaim(address account);
    /// @notice A weight change would take `account` below zero.
    error RevenuePoolInsufficientWeight(address account, uint256 weight, uint256 removed);

    /// @param registry_ The ContributionRegistry.
    constructor(address registry_) {
        registry = registry_;
    }

    /// @notice Plain transfers count as income.
    receive() external payable {
        _deposit();
    }

    /// @notice Adds the attached value to the income shared by current weight holders.
    function deposit() external payable {
        _deposit();
    }

    /**
     * @notice Adds `amount` to `account`'s weight; only the registry, for a new contribution.
     * @param account The contributor.
     * @param amount The contribution's weight.
     */
    function addWeight(address account, uint256 amount) external {
        _onlyRegistry();
        Account memory current = _settle(account);
        _setWeight(account, current.weight + amount);
        totalWeight += amount;
        emit WeightChanged(account, current.weight + amount, totalWeight);
    }

    /**
     * @notice Removes `amount` from `account`'s weight; only the registry, for a withdrawal.
     * @param account The contributor.
     * @param amount The withdrawn contribution's weight.
     */
    function removeWeight(address account, uint256 amount) external {
        _onlyRegistry();
        Account memory current = _settle(account);
        if (amount > current.weight) revert RevenuePoolInsufficientWeight(account, current.weight, amount);
        _setWeight(account, current.weight - amount);
        totalWeight -= amount;
        emit WeightChanged(account, current.weight - amount, totalWeight);
    }

    /// @notice Pays the caller everything it has earned so far.
    function claim() external nonReentrant {
        Account memory current = _settle(msg.sender);
        _accounts[msg.sender].debt = current.debt;
        uint256 amount = _settled[msg.sender];
        if (amount == 0) revert RevenuePoolNothingToClaim(msg.sender);
        _settled[msg.sender] = 0;
        emit RevenueClaimed(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    /**
     * @notice What `account` could claim now, in wei.
     * @param account The contributor.
     */
    function claimable(address account) external view returns (uint256) {
        Account memory current = _accounts[account];
        return _settled[account] + _accrued(current.weight) - current.debt;
    }

    /**
     * @notice `account`'s current weight.
     * @param account The contributor.
     */
    function weightOf(address account) external view returns (uint256) {
        return _accounts[account].weight;
    }

    function _deposit() private {
        if (totalWeight == 0) {
            unallocated += msg.value;
            emit RevenueDeposited(msg.sender, msg.value, earningsPerWeight);
            return;
        }
        uint256 amount = msg.value + unallocated;
        unallocated = 0;
        earningsPerWeight += (amount * PRECISION) / totalWeight;
        emit RevenueDeposited(msg.sender, msg.value, earningsPerWeight);
    }

    /// Moves what `account` earned into `_settled`; returns its record with debt brought current.
    function _settle(address account) private returns (Account memory current) {
        current = _accounts[account];
        uint256 accrued = _accrued(current.weight);
        if (accrued > current.debt) _settled[account] += accrued - current.debt;
        current.debt = accrued.toUint160();
    }

    function _setWeight(address account, uint256 weight) private {
        _accounts[account] = Account(weight.toUint96(), _accrued(weight).toUint160());
    }

    function _accrued(uint256 weight) private view returns (uint256) {
        return (weight * earningsPerWeight) / PRECISION;
    }

    function _onlyRegistry() private view {
        if (msg.sender != registry) revert RevenuePoolUnauthorized(msg.sender);
    }
}
