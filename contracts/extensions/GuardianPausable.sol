// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/**
 * @title GuardianPausable
 * @notice A guardian (e.g. a multisig) can stop what the inheriting contract guards at
 * once, without waiting for a vote; only the owner (the timelock) resumes it or changes
 * the guardian. Here the guardian has no other power; the DAO gives the same account its
 * veto elsewhere (the timelock's CANCELLER_ROLE, cancelling a pending earnings root).
 * @dev The inheriting contract exposes `pause`, `unpause` and `setGuardian` with its own
 * access checks; `_checkGuardianOr(owner)` is the check for `pause`.
 */
abstract contract GuardianPausable is Pausable {
    /// @notice The account that may pause; zero for none.
    address public guardian;

    /// @notice The guardian changed from `previousGuardian` to `newGuardian`.
    event GuardianChanged(address indexed previousGuardian, address indexed newGuardian);

    /// @notice `account` is neither the guardian nor the owner.
    error GuardianPausableUnauthorized(address account);

    function _setGuardian(address newGuardian) internal {
        emit GuardianChanged(guardian, newGuardian);
        guardian = newGuardian;
    }

    function _checkGuardianOr(address owner) internal view {
        if (msg.sender != owner && msg.sender != guardian) {
            revert GuardianPausableUnauthorized(msg.sender);
        }
    }
}
