// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title DataGovernor
 * @notice Token holders' votes; every passed proposal runs through the timelock.
 * @dev One addition to OpenZeppelin's Governor: the RentalEscrow may propose without
 * holding tokens. A renter opens its proposal through the escrow, paying in the same
 * transaction; the escrowed payment (at least the escrow's minimum), not a token
 * threshold, is what deters spam. Time is the token's: seconds (ERC-6372 timestamp mode),
 * so delays, votes and the timelock all count the same unit whatever the block time.
 */
contract DataGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    /// @notice The RentalEscrow, exempt from the proposal threshold.
    address public immutable rentalEscrow;

    /**
     * @param token The DataToken.
     * @param timelock The DataTimelock that executes every proposal.
     * @param rentalEscrow_ The RentalEscrow.
     * @param votingDelay_ Seconds between a proposal and its vote snapshot (the token's clock).
     * @param votingPeriod_ Seconds the vote stays open.
     * @param proposalThreshold_ Votes a holder needs to propose directly.
     * @param quorumPercent Percent of the supply at the snapshot that must vote For or Abstain.
     */
    constructor(
        IVotes token,
        TimelockController timelock,
        address rentalEscrow_,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 proposalThreshold_,
        uint256 quorumPercent
    )
        Governor("Data DAO Governor")
        GovernorSettings(votingDelay_, votingPeriod_, proposalThreshold_)
        GovernorVotes(token)
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorTimelockControl(timelock)
    {
        rentalEscrow = rentalEscrow_;
    }

    /**
     * @notice Creates a proposal. The RentalEscrow needs no votes; anyone else needs the threshold.
     * @return The proposal id.
     */
    function propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description
    ) public override returns (uint256) {
        if (msg.sender == rentalEscrow) {
            return _propose(targets, values, calldatas, description, msg.sender);
        }
        return super.propose(targets, values, calldatas, description);
    }

    /// @inheritdoc Governor
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    /// @inheritdoc Governor
    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    /// @inheritdoc Governor
    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
