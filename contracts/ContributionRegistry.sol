// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {DataToken} from "./DataToken.sol";
import {RevenuePool} from "./RevenuePool.sol";
import {GuardianPausable} from "./extensions/GuardianPausable.sol";
import {MintLimits} from "./extensions/MintLimits.sol";

/**
 * @title ContributionRegistry
 * @notice Records contributions that validators attested to, mints their tokens and
 * gives them revenue weight in their dataset. The validator set, the number of signatures
 * required, the reward rate, the mint limits, the maturity delay and the guardian belong to
 * the timelock (the owner), which can also void a fraudulent contribution. The guardian can
 * pause minting, releasing and the posting of earnings roots.
 * @dev Maturity: a contribution's tokens are minted into this registry's custody, where they
 * carry no votes (see DataToken), and anyone releases them to the contributor once
 * `maturityDelay` has passed; only then does the contribution earn rental income (revenue
 * weight). A void before that burns every token it minted and takes back nothing else
 * because there is nothing else; a void after it burns what the contributor still holds
 * and takes back the income the contribution earned and the contributor has not claimed.
 * The delay is meant to outlast a void proposal (voting delay, vote and timelock delay),
 * so that tokens minted by captured validator keys never vote. With no delay, tokens and
 * weight go to the contributor at once.
 *
 * Two storage slots per contribution, keyed by its content fingerprint, which also
 * refuses duplicates and so replays: the attestation's nonce is signed and emitted, not
 * stored. The tokens a contribution minted (which a void burns) are its score times the
 * reward rate of the rate epoch it records, so they need no slot of their own. The CID is
 * only emitted, never stored.
 */
contract ContributionRegistry is Ownable, EIP712, GuardianPausable, MintLimits {
    using SafeCast for uint256;
    using SafeERC20 for DataToken;

    /// @notice What validators sign for one contribution (EIP-712 typed data).
    struct Attestation {
        address contributor;
        bytes32 account; // the platform account the export is bound to (a hash of platform and account id)
        uint32 datasetId;
        bytes32 fingerprint;
        string cid;
        uint64 score;
        uint64 deadline;
        uint256 nonce;
    }

    /// @notice Where a recorded contribution stands.
    enum Status {
        None,
        Recorded,
        Withdrawn,
        Voided
    }

    /// @notice A recorded contribution, in one slot (so the score cap is at most 2^40 - 1).
    struct Contribution {
        address contributor;
        uint32 datasetId;
        uint40 score;
        uint16 rateEpoch; // the reward rate it was minted at: `_rateOfEpoch[rateEpoch]`
        Status status;
    }

    /// @notice A contribution's maturity: when its tokens may be released, and the income it earned.
    struct Maturity {
        uint48 maturesAt;
        bool released;
        // While it earns: the dataset's earnings per weight when it started to. Once
        // withdrawn: the income it earned while it did (what a void would take back).
        uint192 earningsMark;
    }

    struct RewardRate {
        uint240 rate;
        uint16 epoch; // counts the rate's changes; a contribution records the one it minted at
    }

    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(address contributor,bytes32 account,uint32 datasetId,bytes32 fingerprint,string cid,uint64 score,uint64 deadline,uint256 nonce)"
    );
    bytes32 public constant WITHDRAWAL_TYPEHASH = keccak256("Withdrawal(bytes32 fingerprint,uint256 deadline)");
    bytes32 public constant REFINEMENT_TYPEHASH =
        keccak256("Refinement(bytes32 fingerprint,string cid,uint256 sequence)");

    /// @notice The governance token minted for contributions.
    DataToken public immutable token;
    /// @notice The pool where contributions earn rental income.
    RevenuePool public immutable revenuePool;

    RewardRate private _rewardRate;
    mapping(uint16 epoch => uint256 rate) private _rateOfEpoch;
    /// @notice Distinct validator signatures an attestation needs.
    uint256 public requiredSignatures;
    /// @notice Seconds a contribution's tokens stay in custody before they can be released.
    uint48 public maturityDelay;
    /// @notice Number of validators in the set.
    uint256 public validatorCount;

    /// @notice Whether `account` is in the validator set.
    mapping(address account => bool) public isValidator;
    mapping(bytes32 fingerprint => Contribution) private _contributions;
    mapping(bytes32 fingerprint => Maturity) private _maturities;
    /// @notice How many refinements each contribution has had: the next must be this plus one.
    mapping(bytes32 fingerprint => uint256) public refinementsOf;

    /// @notice A contribution was recorded and `tokens` minted to `contributor`.
    event ContributionRecorded(
        bytes32 indexed fingerprint,
        address indexed contributor,
        uint32 indexed datasetId,
        string cid,
        uint256 score,
        uint256 tokens,
        uint256 nonce
    );
    /// @notice The contribution's tokens are `maturesAt` (unix seconds) in custody until then.
    event ContributionMaturing(bytes32 indexed fingerprint, bytes32 indexed account, uint48 maturesAt);
    /// @notice The contribution matured: `tokens` went to `contributor`, and it earns from now on.
    event ContributionReleased(bytes32 indexed fingerprint, address indexed contributor, uint256 tokens);
    /// @notice A contribution left the dataset: no future grant covers it, it earns nothing more.
    event ContributionWithdrawn(bytes32 indexed fingerprint, address indexed contributor, uint32 indexed datasetId);
    /// @notice A batch item was already recorded (e.g. submitted on its own first) and was skipped.
    event ContributionSkipped(bytes32 indexed fingerprint, address indexed recordedContributor);
    /// @notice The timelock voided a contribution: `weightRemoved` left the revenue pool,
    /// `tokensBurned` of its tokens were burned (from custody, or from its contributor) and
    /// `incomeTakenBack` wei of its unclaimed income went back to the dataset.
    event ContributionVoided(
        bytes32 indexed fingerprint,
        address indexed contributor,
        uint32 indexed datasetId,
        uint256 weightRemoved,
        uint256 tokensBurned,
        uint256 incomeTakenBack
    );
    /// @notice The contribution's stored blob is now `cid`: its records refined into the
    /// dataset's schema (a contribution stored as uploaded, before refinement existed).
    event ContributionRefined(bytes32 indexed fingerprint, uint32 indexed datasetId, string cid, uint256 sequence);
    /// @notice `validator` joined the validator set.
    event ValidatorAdded(address indexed validator);
    /// @notice `validator` left the validator set.
    event ValidatorRemoved(address indexed validator);
    /// @notice Attestations now need `required` validator signatures.
    event RequiredSignaturesChanged(uint256 required);
    /// @notice Each point of score now mints `rate` token units.
    event RewardRateChanged(uint256 rate);
    /// @notice New contributions' tokens now stay `delay` seconds in custody.
    event MaturityDelayChanged(uint48 delay);

    /// @notice The attestation's deadline has passed.
    error RegistryAttestationExpired(uint256 deadline, uint256 now_);
    /// @notice A contribution with this fingerprint is already recorded.
    error RegistryDuplicateFingerprint(bytes32 fingerprint);
    /// @notice `signer` is not in the validator set.
    error RegistryUnknownValidator(address signer);
    /// @notice Signers must be distinct, given in increasing address order.
    error RegistrySignersNotSorted(address signer);
    /// @notice `given` signatures where `required` are needed.
    error RegistryNotEnoughSignatures(uint256 given, uint256 required);
    /// @notice A contribution must score above zero.
    error RegistryZeroScore(bytes32 fingerprint);
    /// @notice Batch arrays differ in length.
    error RegistryBatchLengthMismatch(uint256 attestations, uint256 signatureSets);
    /// @notice No live contribution with this fingerprint belongs to `account`.
    error RegistryNotContributor(bytes32 fingerprint, address account);
    /// @notice The validator set change is not allowed (`validator` already in or not in the set).
    error RegistryInvalidValidator(address validator);
    /// @notice `required` is zero or above the number of validators.
    error RegistryInvalidRequirement(uint256 required, uint256 validators);
    /// @notice The signed withdrawal's deadline has passed.
    error RegistryWithdrawalExpired(uint256 deadline, uint256 now_);
    /// @notice No live (recorded, not withdrawn or voided) contribution has this fingerprint.
    error RegistryNotLive(bytes32 fingerprint);
    /// @notice A refinement must be the contribution's next: `expected`, not `given`.
    error RegistryRefinementOutOfOrder(bytes32 fingerprint, uint256 given, uint256 expected);
    /// @notice There is nothing left to void of the contribution `fingerprint` (unknown or already voided).
    error RegistryNothingToVoid(bytes32 fingerprint);
    /// @notice The contribution's tokens are released already, voided, or were never minted.
    error RegistryNothingToRelease(bytes32 fingerprint);
    /// @notice The contribution matures at `maturesAt`; it is `now_`.
    error RegistryNotMatured(bytes32 fingerprint, uint256 maturesAt, uint256 now_);

    /**
     * @param timelock The DataTimelock, owner of every governed setting.
     * @param token_ The DataToken (its minter must be this registry).
     * @param revenuePool_ The RevenuePool (its registry must be this contract).
     * @param validators The initial validator set.
     * @param required Signatures an attestation needs.
     * @param rate Token units minted per point of score.
     * @param limits The score cap and the mint budgets.
     * @param maturityDelay_ Seconds new tokens stay in custody (zero: none).
     * @param guardian_ The account that may pause minting (zero for none).
     */
    constructor(
        address timelock,
        DataToken token_,
        RevenuePool revenuePool_,
        address[] memory validators,
        uint256 required,
        uint256 rate,
        Limits memory limits,
        uint48 maturityDelay_,
        address guardian_
    ) Ownable(timelock) EIP712("DataDAO ContributionRegistry", "1") {
        token = token_;
        revenuePool = revenuePool_;
        for (uint256 i = 0; i < validators.length; i++) {
            _addValidator(validators[i]);
        }
        _setRequiredSignatures(required);
        _setRewardRate(rate);
        _setMintLimits(limits);
        _setMaturityDelay(maturityDelay_);
        _setGuardian(guardian_);
    }

    /**
     * @notice Records one attested contribution, mints its tokens and adds its revenue weight.
     * Anyone may submit it: the service relays by default, the contributor may do it themself.
     * @param attestation The signed attestation.
     * @param signatures Validator signatures over it, signers in increasing address order.
     */
    function contribute(Attestation calldata attestation, bytes[] calldata signatures) external whenNotPaused {
        _contribute(attestation, signatures);
    }

    /**
     * @notice Records many attested contributions in one transaction. An item whose
     * fingerprint is already recorded is skipped (`ContributionSkipped`), so that copying
     * one item into a transaction of its own cannot fail the batch; any other invalid
     * item reverts all.
     * @param attestations The signed attestations.
     * @param signatures For each attestation, its validator signatures.
     */
    function contributeBatch(Attestation[] calldata attestations, bytes[][] calldata signatures)
        external
        whenNotPaused
    {
        if (attestations.length != signatures.length) {
            revert RegistryBatchLengthMismatch(attestations.length, signatures.length);
        }
        for (uint256 i = 0; i < attestations.length; i++) {
            address recorded = _contributions[attestations[i].fingerprint].contributor;
            if (recorded != address(0)) {
                emit ContributionSkipped(attestations[i].fingerprint, recorded);
            } else {
                _contribute(attestations[i], signatures[i]);
            }
        }
    }

    /**
     * @notice Releases matured contributions' tokens to their contributors, from when on
     * they vote and the contributions earn. Anyone may call it (the service does).
     * Contributions released already are passed over, so releasing one of a batch first
     * does not make the batch revert.
     * @param fingerprints The contributions' content fingerprints.
     */
    function release(bytes32[] calldata fingerprints) external whenNotPaused {
        for (uint256 i = 0; i < fingerprints.length; i++) {
            Maturity memory maturity = _maturities[fingerprints[i]];
            if (maturity.released) {
                continue;
            }
            Status status = _contributions[fingerprints[i]].status;
            if (status != Status.Recorded && status != Status.Withdrawn) {
                revert RegistryNothingToRelease(fingerprints[i]);
            }
            if (block.timestamp < maturity.maturesAt) {
                revert RegistryNotMatured(fingerprints[i], maturity.maturesAt, block.timestamp);
            }
            _release(fingerprints[i]);
        }
    }

    /**
     * @notice Withdraws the caller's contribution: it leaves every future access grant and
     * stops earning; tokens already minted stay.
     * @param fingerprint The contribution's content fingerprint.
     */
    function withdraw(bytes32 fingerprint) external {
        _withdraw(fingerprint, msg.sender);
    }

    /**
     * @notice Withdraws a contribution on its contributor's EIP-712 signature, so the
     * service can relay the request.
     * @param fingerprint The contribution's content fingerprint.
     * @param deadline Unix seconds after which the signature is void.
     * @param signature The contributor's signature over Withdrawal(fingerprint, deadline).
     */
    function withdrawWithSignature(bytes32 fingerprint, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert RegistryWithdrawalExpired(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(WITHDRAWAL_TYPEHASH, fingerprint, deadline)));
        _withdraw(fingerprint, ECDSA.recover(digest, signature));
    }

    /**
     * @notice Records that a live contribution's stored blob was replaced by its refined
     * records (`cid`), on the validators' signatures: renters then check that CID. Anyone
     * may relay it.
     * @param fingerprint The contribution's content fingerprint.
     * @param cid The CID of the refined records' ciphertext.
     * @param sequence The contribution's next refinement (`refinementsOf` plus one): an
     * older signed refinement cannot be replayed over a newer one.
     * @param signatures Validator signatures over Refinement(fingerprint, cid, sequence), signers in increasing address order.
     */
    function recordRefinement(bytes32 fingerprint, string calldata cid, uint256 sequence, bytes[] calldata signatures)
        external
    {
        if (_contributions[fingerprint].status != Status.Recorded) revert RegistryNotLive(fingerprint);
        uint256 expected = refinementsOf[fingerprint] + 1;
        if (sequence != expected) revert RegistryRefinementOutOfOrder(fingerprint, sequence, expected);
        _checkSignatures(
            _hashTypedDataV4(keccak256(abi.encode(REFINEMENT_TYPEHASH, fingerprint, keccak256(bytes(cid)), sequence))),
            signatures
        );
        _recordRefinement(fingerprint, cid, sequence);
    }

    /**
     * @notice Adds `validator` to the set; only the timelock.
     * @param validator The validator's signing address.
     */
    function addValidator(address validator) external onlyOwner {
        _addValidator(validator);
    }

    /**
     * @notice Removes `validator` from the set; only the timelock. Its signatures stop counting at once.
     * @param validator The validator's signing address.
     */
    function removeValidator(address validator) external onlyOwner {
        _removeValidator(validator);
    }

    /**
     * @notice Sets how many distinct validator signatures an attestation needs; only the timelock.
     * @param required At least one, at most the number of validators.
     */
    function setRequiredSignatures(uint256 required) external onlyOwner {
        _setRequiredSignatures(required);
    }

    /**
     * @notice Sets the token units minted per point of score; only the timelock.
     * @param rate The new rate.
     */
    function setRewardRate(uint256 rate) external onlyOwner {
        _setRewardRate(rate);
    }

    /**
     * @notice Sets the score cap per attestation and the per-period mint budgets; only the timelock.
     * @param limits The new limits (cap and period length above zero).
     */
    function setMintLimits(Limits calldata limits) external onlyOwner {
        _setMintLimits(limits);
    }

    /**
     * @notice Sets how long new contributions' tokens stay in custody; only the timelock.
     * @param delay Seconds (zero: released at once).
     */
    function setMaturityDelay(uint48 delay) external onlyOwner {
        _setMaturityDelay(delay);
    }

    /**
     * @notice Voids a fraudulent contribution; only the timelock. Before it matured, every
     * token it minted is burned from custody. After, its revenue weight is removed (if not
     * already withdrawn), the income it earned and its contributor has not claimed goes back
     * to the dataset, and its tokens are burned from the contributor as far as they still
     * hold them.
     * @param fingerprint The contribution's content fingerprint.
     */
    function voidContribution(bytes32 fingerprint) external onlyOwner {
        _voidContribution(fingerprint);
    }

    /**
     * @notice Sets the account that may pause minting (zero for none); only the timelock.
     * @param newGuardian The new guardian, e.g. a multisig.
     */
    function setGuardian(address newGuardian) external onlyOwner {
        _setGuardian(newGuardian);
    }

    /// @notice Stops all minting, releasing and earnings roots at once; the guardian or the timelock.
    function pause() external {
        _checkGuardianOr(owner());
        _pause();
    }

    /// @notice Lets minting, releasing and earnings roots resume; only the timelock.
    function unpause() external onlyOwner {
        _unpause();
    }

    /**
     * @notice Tokens (in wei units) minted per point of score.
     * @return The current rate.
     */
    function rewardRate() external view returns (uint256) {
        return _rewardRate.rate;
    }

    /**
     * @notice The contribution recorded under `fingerprint` (contributor is zero if none).
     * @param fingerprint The contribution's content fingerprint.
     * @return contributor Who contributed it.
     * @return datasetId Its dataset.
     * @return weight Its revenue weight (its score, earning once it matured); 0 once withdrawn or voided.
     * @return tokens The tokens it minted; 0 once voided.
     */
    function contributionOf(bytes32 fingerprint)
        external
        view
        returns (address contributor, uint32 datasetId, uint64 weight, uint256 tokens)
    {
        Contribution memory c = _contributions[fingerprint];
        weight = c.status == Status.Recorded ? c.score : 0;
        tokens = c.status == Status.Recorded || c.status == Status.Withdrawn ? _minted(c) : 0;
        return (c.contributor, c.datasetId, weight, tokens);
    }

    /**
     * @notice When the contribution's tokens mature, and whether they were released.
     * @param fingerprint The contribution's content fingerprint.
     * @return maturesAt Unix seconds (0 if unknown).
     * @return released Whether its tokens went to the contributor (and it earns).
     */
    function maturityOf(bytes32 fingerprint) external view returns (uint48 maturesAt, bool released) {
        Maturity memory maturity = _maturities[fingerprint];
        return (maturity.maturesAt, maturity.released);
    }

    /**
     * @notice Reverts unless `signatures` are at least `requiredSignatures` distinct
     * validators' signatures over `digest` (e.g. the RevenuePool's earnings roots).
     * @param digest The signed digest.
     * @param signatures The signatures, signers in increasing address order.
     */
    function checkSignatures(bytes32 digest, bytes[] calldata signatures) external view {
        _checkSignatures(digest, signatures);
    }

    /**
     * @notice The EIP-712 digest validators sign for `attestation`.
     * @param attestation The attestation.
     * @return The digest.
     */
    function attestationDigest(Attestation calldata attestation) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ATTESTATION_TYPEHASH,
                    attestation.contributor,
                    attestation.account,
                    attestation.datasetId,
                    attestation.fingerprint,
                    keccak256(bytes(attestation.cid)),
                    attestation.score,
                    attestation.deadline,
                    attestation.nonce
                )
            )
        );
    }

    function _contribute(Attestation calldata a, bytes[] calldata signatures) internal {
        if (block.timestamp > a.deadline) revert RegistryAttestationExpired(a.deadline, block.timestamp);
        if (a.score == 0) revert RegistryZeroScore(a.fingerprint);
        _checkScore(a.fingerprint, a.score);
        if (_contributions[a.fingerprint].contributor != address(0)) {
            revert RegistryDuplicateFingerprint(a.fingerprint);
        }
        _checkSignatures(attestationDigest(a), signatures);

        RewardRate memory rate = _rewardRate;
        uint256 tokens = uint256(a.score) * rate.rate;
        _spendBudget(a.account, tokens);
        _contributions[a.fingerprint] =
            Contribution(a.contributor, a.datasetId, uint256(a.score).toUint40(), rate.epoch, Status.Recorded);
        emit ContributionRecorded(a.fingerprint, a.contributor, a.datasetId, a.cid, a.score, tokens, a.nonce);
        uint48 delay = maturityDelay;
        if (delay == 0) {
            token.mint(a.contributor, tokens);
            _startEarning(a.fingerprint, a.datasetId, a.contributor, a.score);
        } else {
            uint48 maturesAt = (block.timestamp + delay).toUint48();
            _maturities[a.fingerprint].maturesAt = maturesAt;
            emit ContributionMaturing(a.fingerprint, a.account, maturesAt);
            token.mint(address(this), tokens);
        }
    }

    function _release(bytes32 fingerprint) internal {
        Contribution memory c = _contributions[fingerprint];
        uint256 tokens = _minted(c);
        emit ContributionReleased(fingerprint, c.contributor, tokens);
        if (c.status == Status.Recorded) {
            _startEarning(fingerprint, c.datasetId, c.contributor, c.score);
        } else {
            _maturities[fingerprint].released = true;
        }
        token.safeTransfer(c.contributor, tokens);
    }

    function _startEarning(bytes32 fingerprint, uint32 datasetId, address contributor, uint256 score) internal {
        Maturity storage maturity = _maturities[fingerprint];
        maturity.released = true;
        maturity.earningsMark = revenuePool.earningsPerWeightOf(datasetId).toUint192();
        revenuePool.addWeight(datasetId, contributor, score);
    }

    function _recordRefinement(bytes32 fingerprint, string calldata cid, uint256 sequence) internal {
        refinementsOf[fingerprint] = sequence;
        emit ContributionRefined(fingerprint, _contributions[fingerprint].datasetId, cid, sequence);
    }

    function _withdraw(bytes32 fingerprint, address account) internal {
        Contribution memory c = _contributions[fingerprint];
        if (c.contributor != account || c.status != Status.Recorded) {
            revert RegistryNotContributor(fingerprint, account);
        }
        _contributions[fingerprint].status = Status.Withdrawn;
        emit ContributionWithdrawn(fingerprint, account, c.datasetId);
        Maturity storage maturity = _maturities[fingerprint];
        if (maturity.released) {
            uint256 earningsPerWeight = revenuePool.earningsPerWeightOf(c.datasetId);
            maturity.earningsMark = _earnedSince(c.score, maturity.earningsMark, earningsPerWeight).toUint192();
            revenuePool.removeWeight(c.datasetId, account, c.score);
        }
    }

    function _voidContribution(bytes32 fingerprint) internal {
        Contribution memory c = _contributions[fingerprint];
        if (c.status != Status.Recorded && c.status != Status.Withdrawn) revert RegistryNothingToVoid(fingerprint);
        _contributions[fingerprint].status = Status.Voided;
        Maturity memory maturity = _maturities[fingerprint];
        if (!maturity.released) {
            uint256 held = _minted(c);
            emit ContributionVoided(fingerprint, c.contributor, c.datasetId, 0, held, 0);
            token.burn(address(this), held);
            return;
        }
        uint256 weight = c.status == Status.Recorded ? c.score : 0;
        uint256 earned = weight == 0
            ? maturity.earningsMark
            : _earnedSince(weight, maturity.earningsMark, revenuePool.earningsPerWeightOf(c.datasetId));
        uint256 burned = Math.min(_minted(c), token.balanceOf(c.contributor));
        uint256 takenBack = revenuePool.previewForfeit(c.datasetId, c.contributor, earned);
        emit ContributionVoided(fingerprint, c.contributor, c.datasetId, weight, burned, takenBack);
        if (weight != 0) revenuePool.removeWeight(c.datasetId, c.contributor, weight);
        revenuePool.forfeit(c.datasetId, c.contributor, takenBack);
        token.burn(c.contributor, burned);
    }

    /// The income `weight` earned while the dataset's earnings per weight rose from `from` to `to`.
    function _earnedSince(uint256 weight, uint256 from, uint256 to) internal pure returns (uint256) {
        return Math.mulDiv(weight, to - from, 1e18);
    }

    function _minted(Contribution memory c) internal view returns (uint256) {
        return uint256(c.score) * _rateOfEpoch[c.rateEpoch];
    }

    function _checkSignatures(bytes32 digest, bytes[] calldata signatures) internal view {
        uint256 required = requiredSignatures;
        if (signatures.length < required) revert RegistryNotEnoughSignatures(signatures.length, required);
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer <= previous) revert RegistrySignersNotSorted(signer);
            if (!isValidator[signer]) revert RegistryUnknownValidator(signer);
            previous = signer;
        }
    }

    function _addValidator(address validator) internal {
        if (validator == address(0) || isValidator[validator]) revert RegistryInvalidValidator(validator);
        isValidator[validator] = true;
        validatorCount += 1;
        emit ValidatorAdded(validator);
    }

    function _removeValidator(address validator) internal {
        if (!isValidator[validator]) revert RegistryInvalidValidator(validator);
        if (validatorCount - 1 < requiredSignatures) {
            revert RegistryInvalidRequirement(requiredSignatures, validatorCount - 1);
        }
        isValidator[validator] = false;
        validatorCount -= 1;
        emit ValidatorRemoved(validator);
    }

    function _setRequiredSignatures(uint256 required) internal {
        if (required == 0 || required > validatorCount) revert RegistryInvalidRequirement(required, validatorCount);
        requiredSignatures = required;
        emit RequiredSignaturesChanged(required);
    }

    function _setMaturityDelay(uint48 delay) internal {
        maturityDelay = delay;
        emit MaturityDelayChanged(delay);
    }

    function _votingSupply() internal view override returns (uint256) {
        return token.votingSupply();
    }

    function _setRewardRate(uint256 rate) internal {
        uint16 epoch = _rewardRate.epoch + 1;
        _rewardRate = RewardRate(rate.toUint240(), epoch);
        _rateOfEpoch[epoch] = rate;
        emit RewardRateChanged(rate);
    }
}
