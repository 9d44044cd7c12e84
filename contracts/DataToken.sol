// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

/**
 * @title DataToken
 * @notice The DAO's governance token, minted only by the ContributionRegistry.
 * @dev Holders who never chose a delegate vote with their own balance: `delegates`
 * reports the holder itself until they delegate elsewhere. This is self-delegation on
 * first receipt without the extra storage write, so "zero voting power" never happens.
 * Delegating to the zero address therefore means delegating to oneself, and is stored so:
 * votes handed to address(0) would vanish while `delegates` still named the holder, and
 * the holder's next transfer would underflow its own (empty) vote count.
 *
 * Votes are counted in seconds (ERC-6372 `mode=timestamp`), so that the Governor's delays
 * mean the same on a chain with 1-second blocks as on one with 12-second blocks.
 *
 * Tokens the minter (the registry) holds are contributions' tokens not yet matured: they
 * carry no votes and are outside the voting supply (`votingSupply`, the supply the
 * Governor's quorum and the registry's mint budgets are fractions of). They vote from the
 * moment the registry releases them to their contributor, and a void burns them from the
 * registry before they ever could.
 */
contract DataToken is ERC20, ERC20Permit, ERC20Votes {
    /// @notice The only account allowed to mint: the ContributionRegistry.
    address public immutable minter;

    /// @notice `account` tried to mint or burn but is not the minter.
    error DataTokenUnauthorizedMinter(address account);

    /// @param minter_ The ContributionRegistry's address.
    constructor(address minter_) ERC20("Data DAO", "DATA") ERC20Permit("Data DAO") {
        minter = minter_;
    }

    /**
     * @notice Mints `amount` tokens to `to`; only the registry, for a recorded contribution.
     * @param to The contributor.
     * @param amount Token amount (18 decimals).
     */
    function mint(address to, uint256 amount) external {
        _checkMinter();
        _mint(to, amount);
    }

    /**
     * @notice Burns `amount` of `from`'s tokens; only the registry, for a voided contribution.
     * @param from The holder.
     * @param amount Token amount, at most `from`'s balance.
     */
    function burn(address from, uint256 amount) external {
        _checkMinter();
        _burn(from, amount);
    }

    /**
     * @notice The tokens that carry votes now: the total supply less what the registry
     * holds until it matures.
     * @return The voting supply.
     */
    function votingSupply() external view returns (uint256) {
        return _getTotalSupply();
    }

    /**
     * @notice The clock votes are counted by: the block's timestamp (ERC-6372).
     * @return Seconds since the unix epoch.
     */
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /**
     * @notice ERC-6372's description of `clock`.
     * @return "mode=timestamp".
     */
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /**
     * @notice The account that votes with `account`'s balance: its chosen delegate, or
     * `account` itself if it never chose one.
     * @param account The token holder.
     * @return The delegate.
     */
    function delegates(address account) public view override returns (address) {
        address chosen = super.delegates(account);
        return chosen == address(0) ? account : chosen;
    }

    /// Zero means the holder itself (see the contract's note).
    function _delegate(address account, address delegatee) internal override {
        super._delegate(account, delegatee == address(0) ? account : delegatee);
    }

    function _checkMinter() internal view {
        if (msg.sender != minter) revert DataTokenUnauthorizedMinter(msg.sender);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    /// The minter's custody counts as outside the voting supply: tokens entering it leave
    /// the votes as a burn would, and tokens leaving it enter them as a mint would.
    function _transferVotingUnits(address from, address to, uint256 amount) internal override {
        address voteFrom = from == minter ? address(0) : from;
        address voteTo = to == minter ? address(0) : to;
        if (voteFrom != voteTo) super._transferVotingUnits(voteFrom, voteTo, amount);
    }

    /// Nothing in the minter's custody votes, even if it were delegated.
    function _getVotingUnits(address account) internal view override returns (uint256) {
        return account == minter ? 0 : super._getVotingUnits(account);
    }

    /// @inheritdoc Nonces
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
