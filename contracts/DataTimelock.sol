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
 * The veto has a term: a captured guardian could otherwise cancel, forever, every proposal
 * that replaces it. Past `guardianVetoUntil` only the Governor cancels, until a vote
 * extends the term (`setGuardianVetoUntil`, callable only by the timelock itself).
 */
contract DataTimelock is TimelockController {
    /// @notice Until when (unix seconds) a canceller other than the Governor may cancel.
    uint48 public guardianVetoUntil;

    address private immutable _governor;

    /// @notice The guardian's veto term ended at `vetoUntil`: only a vote cancels now.
    error DataTimelockVetoExpired(uint48 vetoUntil);

    /// @notice The guardian's veto now lasts until `vetoUntil`.
    event GuardianVetoTermSet(uint48 vetoUntil);

    /// @param minDelay Seconds between queueing and executing a passed proposal.
    /// @param governor The only proposer (and a canceller, at any time).
    /// @param guardian The account that may cancel a queued proposal (zero for none).
    /// @param guardianTerm Seconds from deployment during which the guardian may cancel.
    constructor(uint256 minDelay, address governor, address guardian, uint48 guardianTerm)
        TimelockController(minDelay, _single(governor), _single(address(0)), address(0))
    {
        _governor = governor;
        if (guardian != address(0)) _grantRole(CANCELLER_ROLE, guardian);
        _setGuardianVetoUntil(uint48(block.timestamp) + guardianTerm);
    }

    /**
     * @notice Cancel operation `id`: the Governor at any time, the guardian only within its
     * veto term.
     * @param id The operation's id.
     */
    function cancel(bytes32 id) public override {
        if (msg.sender != _governor && block.timestamp >= guardianVetoUntil) {
            revert DataTimelockVetoExpired(guardianVetoUntil);
        }
        super.cancel(id);
    }

    /**
     * @notice Set when the guardian's veto ends; only by a vote (the timelock calls itself).
     * @param vetoUntil Unix seconds; a past time ends the veto now.
     */
    function setGuardianVetoUntil(uint48 vetoUntil) external {
        if (msg.sender != address(this)) revert TimelockUnauthorizedCaller(msg.sender);
        _setGuardianVetoUntil(vetoUntil);
    }

    function _setGuardianVetoUntil(uint48 vetoUntil) internal {
        guardianVetoUntil = vetoUntil;
        emit GuardianVetoTermSet(vetoUntil);
    }

    function _single(address account) internal pure returns (address[] memory accounts) {
        accounts = new address[](1);
        accounts[0] = account;
    }
}
