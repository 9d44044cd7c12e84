// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IClaimable {
    function claim(uint32 datasetId) external;
}

interface IRefundable {
    function requestRental(uint32 datasetId, uint64 duration, string calldata description)
        external
        payable
        returns (uint256 rentalId, uint256 proposalId);
    function refund(uint256 rentalId) external;
}

/// Test-only: a contributor whose receive() calls claim() again.
contract ReentrantClaimer {
    IClaimable public immutable pool;
    uint256 public reentryAttempts;
    bool public reentrySucceeded;

    constructor(IClaimable pool_) {
        pool = pool_;
    }

    function attack() external {
        pool.claim(1);
    }

    receive() external payable {
        if (reentryAttempts == 0) {
            reentryAttempts += 1;
            try pool.claim(1) {
                reentrySucceeded = true;
            } catch {}
        }
    }
}

/// Test-only: a renter whose receive() calls refund() again.
contract ReentrantRenter {
    IRefundable public immutable escrow;
    uint256 public rentalId;
    uint256 public reentryAttempts;
    bool public reentrySucceeded;

    constructor(IRefundable escrow_) {
        escrow = escrow_;
    }

    function rent(uint32 datasetId) external payable returns (uint256 proposalId) {
        (rentalId, proposalId) = escrow.requestRental{value: msg.value}(datasetId, 3600, "reentrancy probe");
    }

    function attack() external {
        escrow.refund(rentalId);
    }

    receive() external payable {
        if (reentryAttempts == 0) {
            reentryAttempts += 1;
            try escrow.refund(rentalId) {
                reentrySucceeded = true;
            } catch {}
        }
    }
}
