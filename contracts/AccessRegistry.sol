// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/**
 * @title AccessRegistry
 * @notice Who may decrypt which dataset, until when. Written by the timelock (its owner),
 * and by the RentalEscrow when the timelock approves a rental (the grant and the payment
 * move together there); the service reads `canDecrypt` before releasing any key.
 * @dev A revocation sticks: a rental approved after it (one that had passed already, say)
 * does not write a fresh grant over it; only the timelock grants that renter again.
 */
contract AccessRegistry is Ownable {
    struct Grant {
        uint64 expiresAt;
        bool revoked;
    }

    /// @notice The RentalEscrow, which grants (never revokes) as part of an approved rental.
    address public immutable rentalEscrow;

    mapping(uint32 datasetId => mapping(address grantee => Grant)) private _grants;

    /// @notice `grantee` may decrypt `datasetId` until `expiresAt` (unix seconds).
    event AccessGranted(uint32 indexed datasetId, address indexed grantee, uint64 expiresAt);
    /// @notice `grantee`'s access to `datasetId` was revoked before it expired.
    event AccessRevoked(uint32 indexed datasetId, address indexed grantee);

    /// @notice A grant of `datasetId` to `grantee` must last at least one second.
    error AccessRegistryZeroDuration(uint32 datasetId, address grantee);
    /// @notice Only the timelock and the RentalEscrow grant access.
    error AccessRegistryUnauthorized(address account);
    /// @notice There is no live grant to revoke.
    error AccessRegistryNoGrant(uint32 datasetId, address grantee);
    /// @notice `grantee`'s access to `datasetId` was revoked; only the timelock grants it again.
    error AccessRegistryRevoked(uint32 datasetId, address grantee);

    /**
     * @param timelock The DataTimelock, owner of every grant.
     * @param rentalEscrow_ The RentalEscrow.
     */
    constructor(address timelock, address rentalEscrow_) Ownable(timelock) {
        rentalEscrow = rentalEscrow_;
    }

    /**
     * @notice Grants `grantee` access to `datasetId` for `duration` seconds from now,
     * replacing any earlier grant to them for that dataset. The RentalEscrow cannot grant
     * over a revocation; the timelock can.
     * @param grantee The renter's address (the key-release challenge must be signed by it).
     * @param datasetId The dataset.
     * @param duration Seconds of access, counted from the execution of the grant.
     */
    function grantAccess(address grantee, uint32 datasetId, uint64 duration) external {
        if (msg.sender != owner()) {
            if (msg.sender != rentalEscrow) revert AccessRegistryUnauthorized(msg.sender);
            if (_grants[datasetId][grantee].revoked) revert AccessRegistryRevoked(datasetId, grantee);
        }
        _grantAccess(grantee, datasetId, duration);
    }

    /**
     * @notice Revokes `grantee`'s access to `datasetId` now.
     * @param grantee The renter.
     * @param datasetId The dataset.
     */
    function revokeAccess(address grantee, uint32 datasetId) external onlyOwner {
        _revokeAccess(grantee, datasetId);
    }

    /**
     * @notice Whether `account` may decrypt `datasetId` now: granted, not expired, not revoked.
     * @param datasetId The dataset.
     * @param account The renter.
     * @return Whether the service may release `datasetId`'s keys to `account`.
     */
    function canDecrypt(uint32 datasetId, address account) external view returns (bool) {
        Grant memory grant = _grants[datasetId][account];
        return !grant.revoked && grant.expiresAt > block.timestamp;
    }

    /**
     * @notice Whether `account`'s access to `datasetId` was revoked (and not granted again by the timelock).
     * @param datasetId The dataset.
     * @param account The renter.
     * @return Whether a rental's approval would be refused for it.
     */
    function isRevoked(uint32 datasetId, address account) external view returns (bool) {
        return _grants[datasetId][account].revoked;
    }

    /**
     * @notice The grant of `account` on `datasetId`, for explaining a refusal.
     * @param datasetId The dataset.
     * @param account The renter.
     * @return expiresAt Unix seconds (0 if never granted).
     * @return revoked Whether it was revoked.
     */
    function grantOf(uint32 datasetId, address account) external view returns (uint64 expiresAt, bool revoked) {
        Grant memory grant = _grants[datasetId][account];
        return (grant.expiresAt, grant.revoked);
    }

    function _grantAccess(address grantee, uint32 datasetId, uint64 duration) internal {
        if (duration == 0) revert AccessRegistryZeroDuration(datasetId, grantee);
        uint64 expiresAt = uint64(block.timestamp) + duration;
        _grants[datasetId][grantee] = Grant(expiresAt, false);
        emit AccessGranted(datasetId, grantee, expiresAt);
    }

    function _revokeAccess(address grantee, uint32 datasetId) internal {
        Grant storage grant = _grants[datasetId][grantee];
        if (grant.expiresAt == 0 || grant.revoked) revert AccessRegistryNoGrant(datasetId, grantee);
        grant.revoked = true;
        emit AccessRevoked(datasetId, grantee);
    }
}
