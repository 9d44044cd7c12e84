// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AccessRegistry} from "./AccessRegistry.sol";
import {RevenuePool} from "./RevenuePool.sol";

/**
 * @title RentalEscrow
 * @notice An AI company requests a rental and pays in the same transaction; the payment
 * waits here while token holders vote on the Governor proposal this opens. That proposal
 * has one action, `approve(rentalId)`: executed, it writes the renter's grant and pays the
 * rental's dataset in the RevenuePool, together. If the proposal is defeated or canceled,
 * or passes but is not executed within the execution window, or the renter's access to
 * the dataset is revoked before it executes, the renter takes the payment back. Each
 * payment leaves exactly once. A request pays at least the DAO's minimum, so that
 * proposals are not free to spam.
 * @dev A payment moves only while its own proposal executes: `approve` checks that the
 * rental's proposal is in the Executed state, which the Governor sets just before it runs
 * the proposal's actions, and which no other proposal can bring about. So a majority
 * cannot pass `[approve(N)]` in some other proposal, nor run rental N's timelock operation
 * outside the Governor.
 */
contract RentalEscrow is ReentrancyGuardTransient {
    enum Status {
        None,
        Pending,
        Approved,
        Refunded
    }

    struct Rental {
        address renter;
        uint32 datasetId;
        uint64 duration;
        Status status;
        uint256 payment;
        uint256 proposalId;
    }

    /// @notice The Governor the rental proposals go to.
    IGovernor public immutable governor;
    /// @notice The timelock that executes passed proposals.
    address public immutable timelock;
    /// @notice Where grants are written.
    AccessRegistry public immutable accessRegistry;
    /// @notice Where released payments go.
    RevenuePool public immutable revenuePool;
    /// @notice Seconds (the Governor's clock) after the vote ends within which a passed rental must execute.
    uint256 public immutable executionWindow;
    /// @notice The least a rental request may pay, in wei; set by the timelock.
    uint256 public minimumPayment;

    /// @notice A renter's validation sample of its task, against which each contribution's
    /// value is measured: SHA-256 of the plaintext and its size in bytes (the service holds it
    /// encrypted on IPFS).
    struct ValidationSample {
        bytes32 contentHash;
        uint64 size;
    }

    /// @notice Number of rentals ever requested; ids run from 1.
    uint256 public rentalCount;
    mapping(uint256 rentalId => Rental) private _rentals;
    mapping(uint256 rentalId => ValidationSample) private _samples;

    /// @notice `renter` asked for `datasetId` for `duration` seconds, paying `payment` wei.
    event RentalRequested(
        uint256 indexed rentalId,
        address indexed renter,
        uint32 indexed datasetId,
        uint64 duration,
        uint256 payment,
        uint256 proposalId
    );
    /// @notice The rental's payment will be split by value measured against this sample.
    event ValidationSampleRecorded(uint256 indexed rentalId, bytes32 contentHash, uint64 size);
    /// @notice The rental's proposal executed: the renter got access, the payment went to
    /// the dataset's revenue.
    event RentalApproved(uint256 indexed rentalId, uint256 payment);
    /// @notice The rental did not go through; its payment went back to the renter.
    event RentalRefunded(uint256 indexed rentalId, address indexed renter, uint256 payment);
    /// @notice Rental requests now pay at least `minimum` wei.
    event MinimumPaymentChanged(uint256 minimum);

    /// @notice A rental needs a duration.
    error RentalEscrowInvalidRequest(uint256 payment, uint64 duration);
    /// @notice A rental pays at least `minimum`; `payment` is less.
    error RentalEscrowPaymentTooLow(uint256 payment, uint256 minimum);
    /// @notice A validation sample needs a hash and a size.
    error RentalEscrowInvalidSample(bytes32 contentHash, uint64 size);
    /// @notice Only the timelock approves rentals.
    error RentalEscrowUnauthorized(address account);
    /// @notice `approve(rentalId)` ran outside its rental's own proposal, which is in `state`.
    error RentalEscrowNotItsProposal(uint256 rentalId, IGovernor.ProposalState state);
    /// @notice The rental's execution window closed at `deadline` (Governor clock), now `now_`.
    error RentalEscrowWindowClosed(uint256 rentalId, uint256 deadline, uint256 now_);
    /// @notice The rental is not pending (already released, refunded or unknown).
    error RentalEscrowNotPending(uint256 rentalId, Status status);
    /// @notice The rental's proposal may still pass or execute.
    error RentalEscrowNotRefundable(uint256 rentalId, IGovernor.ProposalState state);

    /**
     * @param governor_ The DataGovernor (which lets this contract propose without votes).
     * @param timelock_ The DataTimelock.
     * @param accessRegistry_ The AccessRegistry.
     * @param revenuePool_ The RevenuePool.
     * @param executionWindow_ Seconds after the vote within which a passed rental must execute.
     * @param minimumPayment_ The least a rental request may pay, in wei.
     */
    constructor(
        IGovernor governor_,
        address timelock_,
        AccessRegistry accessRegistry_,
        RevenuePool revenuePool_,
        uint256 executionWindow_,
        uint256 minimumPayment_
    ) {
        governor = governor_;
        timelock = timelock_;
        accessRegistry = accessRegistry_;
        revenuePool = revenuePool_;
        executionWindow = executionWindow_;
        _setMinimumPayment(minimumPayment_);
    }

    /**
     * @notice Requests access to `datasetId` for `duration` seconds; the attached value is
     * the escrowed payment. Opens the Governor proposal that would grant it.
     * @param datasetId The dataset.
     * @param duration Seconds of access once the proposal executes.
     * @param description What the renter will use the data for (shown to voters).
     * @return rentalId The rental's id.
     * @return proposalId The Governor proposal's id.
     */
    function requestRental(uint32 datasetId, uint64 duration, string calldata description)
        external
        payable
        returns (uint256 rentalId, uint256 proposalId)
    {
        return _requestRental(datasetId, duration, description);
    }

    /**
     * @notice Like `requestRental`, with a validation sample of the renter's task: once
     * approved, the payment is split among the contributors by each contribution's
     * measured value to that sample instead of by score.
     * @param datasetId The dataset.
     * @param duration Seconds of access once the proposal executes.
     * @param description What the renter will use the data for (shown to voters).
     * @param sample SHA-256 and size of the sample the renter gave the service.
     * @return rentalId The rental's id.
     * @return proposalId The Governor proposal's id.
     */
    function requestValuedRental(
        uint32 datasetId,
        uint64 duration,
        string calldata description,
        ValidationSample calldata sample
    ) external payable returns (uint256 rentalId, uint256 proposalId) {
        if (sample.contentHash == bytes32(0) || sample.size == 0) revert RentalEscrowInvalidSample(sample.contentHash, sample.size);
        (rentalId, proposalId) = _requestRental(datasetId, duration, description);
        _samples[rentalId] = sample;
        emit ValidationSampleRecorded(rentalId, sample.contentHash, sample.size);
    }

    /**
     * @notice Grants a passed rental's access and pays its dataset's revenue, in one step;
     * only the timelock, as the action of the rental's own proposal, within the execution window.
     * @param rentalId The rental.
     */
    function approve(uint256 rentalId) external nonReentrant {
        if (msg.sender != timelock) revert RentalEscrowUnauthorized(msg.sender);
        _approve(rentalId);
    }

    /**
     * @notice Sets the least a rental request may pay; only the timelock.
     * @param minimum Wei.
     */
    function setMinimumPayment(uint256 minimum) external {
        if (msg.sender != timelock) revert RentalEscrowUnauthorized(msg.sender);
        _setMinimumPayment(minimum);
    }

    /**
     * @notice Returns the payment of a rental that will not go through to its renter.
     * Anyone may call it; the money only ever goes to the renter.
     * @param rentalId The rental.
     */
    function refund(uint256 rentalId) external nonReentrant {
        _refund(rentalId);
    }

    /**
     * @notice The rental `rentalId`.
     * @param rentalId The rental.
     * @return The rental (status None if unknown).
     */
    function rentalOf(uint256 rentalId) external view returns (Rental memory) {
        return _rentals[rentalId];
    }

    /**
     * @notice The validation sample of rental `rentalId` (zero for a rental split by score).
     * @param rentalId The rental.
     * @return The sample's SHA-256 and size.
     */
    function sampleOf(uint256 rentalId) external view returns (ValidationSample memory) {
        return _samples[rentalId];
    }

    /**
     * @notice The actions of the rental's proposal: one call, `approve(rentalId)` on this
     * escrow (the grant's terms are the rental's, see `rentalOf`). Voters and tools rebuild
     * the proposal (to queue and execute it) from these.
     * @param rentalId The rental.
     * @return targets This escrow.
     * @return values Zero.
     * @return calldatas The `approve(rentalId)` call.
     */
    function proposalActions(uint256 rentalId)
        public
        view
        returns (address[] memory targets, uint256[] memory values, bytes[] memory calldatas)
    {
        targets = new address[](1);
        values = new uint256[](1);
        calldatas = new bytes[](1);
        targets[0] = address(this);
        calldatas[0] = abi.encodeCall(RentalEscrow.approve, (rentalId));
    }

    /**
     * @notice The proposal description for a rental: numbered, so every rental's proposal is
     * unique, and ending in the Governor's `#proposer=` marker naming this escrow, so that no
     * one else can open the same proposal first and make the rental's request revert.
     * @param rentalId The rental.
     * @param description The renter's description.
     * @return The description the proposal was made with.
     */
    function proposalDescription(uint256 rentalId, string calldata description) public view returns (string memory) {
        return string.concat(
            "Rental #", Strings.toString(rentalId), ": ", description, " #proposer=", Strings.toHexString(address(this))
        );
    }

    function _requestRental(uint32 datasetId, uint64 duration, string calldata description)
        internal
        returns (uint256 rentalId, uint256 proposalId)
    {
        if (msg.value == 0 || msg.value < minimumPayment) revert RentalEscrowPaymentTooLow(msg.value, minimumPayment);
        if (duration == 0) revert RentalEscrowInvalidRequest(msg.value, duration);
        rentalId = ++rentalCount;
        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas) = proposalActions(rentalId);
        proposalId = governor.propose(targets, values, calldatas, proposalDescription(rentalId, description));
        _rentals[rentalId] = Rental(msg.sender, datasetId, duration, Status.Pending, msg.value, proposalId);
        emit RentalRequested(rentalId, msg.sender, datasetId, duration, msg.value, proposalId);
    }

    function _approve(uint256 rentalId) internal {
        Rental storage rental = _pending(rentalId);
        IGovernor.ProposalState state = governor.state(rental.proposalId);
        if (state != IGovernor.ProposalState.Executed) revert RentalEscrowNotItsProposal(rentalId, state);
        uint256 deadline = _windowEnd(rental.proposalId);
        uint256 now_ = governor.clock();
        if (now_ > deadline) revert RentalEscrowWindowClosed(rentalId, deadline, now_);
        rental.status = Status.Approved;
        emit RentalApproved(rentalId, rental.payment);
        accessRegistry.grantAccess(rental.renter, rental.datasetId, rental.duration);
        if (_samples[rentalId].size != 0) {
            revenuePool.depositValued{value: rental.payment}(rental.datasetId);
        } else {
            revenuePool.deposit{value: rental.payment}(rental.datasetId);
        }
    }

    function _refund(uint256 rentalId) internal {
        Rental storage rental = _pending(rentalId);
        IGovernor.ProposalState state = governor.state(rental.proposalId);
        if (!_refundable(rental, state)) revert RentalEscrowNotRefundable(rentalId, state);
        rental.status = Status.Refunded;
        emit RentalRefunded(rentalId, rental.renter, rental.payment);
        Address.sendValue(payable(rental.renter), rental.payment);
    }

    function _pending(uint256 rentalId) internal view returns (Rental storage rental) {
        rental = _rentals[rentalId];
        if (rental.status != Status.Pending) revert RentalEscrowNotPending(rentalId, rental.status);
    }

    // OpenZeppelin 5's Governor never reports Expired: a passed proposal stays executable
    // in the timelock forever. The window is ours, enforced by `approve` and here alike.
    // A revoked renter's approval would revert (the revocation sticks), so it refunds at once.
    function _refundable(Rental storage rental, IGovernor.ProposalState state) internal view returns (bool) {
        if (state == IGovernor.ProposalState.Defeated || state == IGovernor.ProposalState.Canceled) return true;
        if (state != IGovernor.ProposalState.Succeeded && state != IGovernor.ProposalState.Queued) return false;
        return accessRegistry.isRevoked(rental.datasetId, rental.renter)
            || governor.clock() > _windowEnd(rental.proposalId);
    }

    function _setMinimumPayment(uint256 minimum) internal {
        minimumPayment = minimum;
        emit MinimumPaymentChanged(minimum);
    }

    function _windowEnd(uint256 proposalId) internal view returns (uint256) {
        return governor.proposalDeadline(proposalId) + executionWindow;
    }
}
