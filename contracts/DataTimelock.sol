// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title DataTimelock
 * @notice Holds every power of the DAO: validator set, reward rate, mint limits, guardian,
 * voiding contributions, access grants, rental approvals and the treasury. Only the
 * Governor proposes; anyone executes a proposal whose delay has passed. No admin: the deployer keeps nothing.
 */
contract DataTimelock is TimelockController {
    /// @param minDelay Seconds between queueing and executing a passed proposal.
    /// @param governor The only proposer and canceller.
    constructor(uint256 minDelay, address governor)
        TimelockController(minDelay, _single(governor), _single(address(0)), address(0))
    {}

    function _single(address account) internal pure returns (address[] memory accounts) {
        accounts = new address[](1);
        accounts[0] = account;
    }
}
