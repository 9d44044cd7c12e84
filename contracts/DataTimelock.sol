// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title DataTimelock
 * @notice Holds every power of the DAO: validator set, reward rate, mint limits, guardian,
 * voiding contributions, access grants, rental approvals and the treasury. Only the
 * Governor proposes; anyone executes a proposal whose delay has passed. No admin: the
 * deployer keeps nothing.
 * @dev The guardian holds the veto: CANCELLER_ROLE, so that a proposal passed by votes that
 * should not have counted (minted by captured validator keys, say) is cancelled while it
 * waits here. The timelock is its own only admin, so the role moves only by a vote: a
 * proposal that replaces the guardian revokes and grants the role here and calls
 * `ContributionRegistry.setGuardian` in the same proposal (the registry's guardian pauses).
 */
contract DataTimelock is TimelockController {
    /// @param minDelay Seconds between queueing and executing a passed proposal.
    /// @param governor The only proposer (and a canceller).
    /// @param guardian The account that may cancel a queued proposal (zero for none).
    constructor(uint256 minDelay, address governor, address guardian)
        TimelockController(minDelay, _single(governor), _single(address(0)), address(0))
    {
        if (guardian != address(0)) _grantRole(CANCELLER_ROLE, guardian);
    }

    function _single(address account) internal pure returns (address[] memory accounts) {
        accounts = new address[](1);
        accounts[0] = account;
    }
}
