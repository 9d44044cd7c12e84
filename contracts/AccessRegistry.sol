// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/**
 * @title AccessRegistry
 * @notice Who may decrypt which dataset, until when. Written only by the timelock (its
 * owner); the service reads `canDecrypt` before releasing any key.
 */
contract AccessRegistry is Ownable {
    struct Grant {
        uint64 expiresAt;
        bool revoked;
    }

    mapping(uint32 datasetId => mapping(address grantee => Grant)) private _grants;

    /// @notice `grantee` may decrypt `datasetId` until `expiresAt` (unix seconds).
    event AccessGranted(uint32 indexed datasetId, address indexed grantee, uint64 expiresAt);
    /// @notice `grantee`'s access to `datasetId` was revoked before it expired.
    event AccessRevoked(uint32 indexed datasetId, address indexed grantee);

    /// @notice A grant must last at least one second.
    error AccessRegistryZeroDuration();
    /// @notice There is no live grant to revoke.
    error AccessRegistryNoGrant(uint32 datasetId, address grantee);

    /// @param timelock The DataTimelock, owner of every grant.
    constructor(address timelock) Ownable(timelock) {}

    /**
     * @notice Grants `grantee` access to `datasetId` for `duration` seconds from now,
     * replacing any earlier grant to them for that dataset.
     * @param grantee The renter's address (the key-release challenge must be signed by it).
     * @param datasetId The dataset.
     * @param duration Seconds of access, counted from the execution of the grant.
     */
    function grantAccess(address grantee, uint32 datasetId, uint64 duration) external onlyOwner {
        if (duration == 0) revert AccessRegistryZeroDuration();
        uint64 expiresAt = uint64(block.timestamp) + duration;
        _grants[datasetId][grantee] = Grant(expiresAt, false);
        emit AccessGranted(datasetId, grantee, expiresAt);
    }

    /**
     * @notice Revokes `grantee`'s access to `datasetId` now.
     * @param grantee The renter.
     * @param datasetId The dataset.
     */
    function revokeAccess(address grantee, uint32 datasetId) external onlyOwner {
        Grant storage grant = _grants[datasetId][grantee];
        if (grant.expiresAt == 0 || grant.revoked) revert AccessRegistryNoGrant(datasetId, grantee);
        grant.revoked = true;
        emit AccessRevoked(datasetId, grantee);
    }

    /**
     * @notice Whether `account` may decrypt `datasetId` now: granted, not expired, not revoked.
     * @param datasetId The dataset.
     * @param account The renter.
     */
    function canDecrypt(uint32 datasetId, address account) external view returns (bool) {
        Grant memory grant = _grants[datasetId][account];
        return !grant.revoked && grant.expiresAt > block.timestamp;
    }

    /**
     * @notice The grant of `account` on `datasetId`, for explaining a refusal.
     * @return expiresAt Unix seconds (0 if never granted).
     * @return revoked Whether it was revoked.
     */
    function grantOf(uint32 datasetId, address account) external view returns (uint64 expiresAt, bool revoked) {
        Grant memory grant = _grants[datasetId][account];
        return (grant.expiresAt, grant.revoked);
    }
}
