"""Request and response models of the API, one pair per resource."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dao_service.chain.validator_set import Verdict
from dao_service.earnings.table import PublishedTable


class RequestBody(BaseModel):
    """A JSON request body, typed as documented: the string "5" is not the integer 5."""

    model_config = ConfigDict(strict=True)


class ServiceConfig(BaseModel):
    chain_id: int
    registry: str
    dataset_id: int
    intake_public_key: str = Field(
        description="SPKI, base64: wrap each file's AES key to it (RSA-OAEP, SHA-256)"
    )
    validator: str = Field(
        "", description="This node's validator address (the key `intake_public_key` is its)"
    )
    co_validators: list["ValidatorKey"] = Field(
        default_factory=list,
        description="The other validator nodes that answer now: wrap the file key to each "
        "one's key too and send them as `co_wrapped_keys`; each judges the upload itself",
    )
    required_signatures: int = Field(
        1,
        description="Validators that must agree (and sign) for a contribution to mint, as "
        "deployed (the DAO may change it)",
    )
    max_upload_bytes: int
    statement_domain: dict[str, Any]
    statement_types: dict[str, list[dict[str, str]]]
    checks: list["CheckPolicy"] = Field(
        default_factory=list, description="The ownership and authenticity checks that run"
    )
    sign_in_platforms: list[str] = Field(
        default_factory=list, description="Platforms this service can sign you in with"
    )
    record_schema: str = Field(
        description="The record schema uploads are refined into (id and definition hash): "
        "the statement's `schema`"
    )
    preview_max_bytes: int = Field(
        0, description="The largest sealed export POST /api/contributions/preview takes"
    )
    sources: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per source, the files an upload may carry (`taken`, patterns), the "
        "fields kept of a JSON file, and why each known private file stays home",
    )


class ValidatorKey(BaseModel):
    """A validator node's address and the key the file key is wrapped to for it."""

    address: str
    intake_public_key: str = Field(description="SPKI, base64 (RSA-OAEP, SHA-256)")


class CheckPolicy(BaseModel):
    """One check every upload goes through, and whether this DAO requires it to pass."""

    name: str
    kind: str  # "ownership" or "authenticity"
    required: bool
    what: str


class NonceRequest(RequestBody):
    wallet: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")


class NonceResponse(BaseModel):
    nonce: str
    expires_at: int


class CodeResponse(BaseModel):
    wallet: str
    code: str
    how: str


class Stage(BaseModel):
    name: str
    done: bool


class KeyDestructionModel(BaseModel):
    """What the custody nodes confirmed of a withdrawal's crypto-shredding."""

    nodes: int = Field(description="N: nodes in the set")
    threshold: int = Field(description="M: shares that give the key")
    confirmed: list[str] = Field(description="nodes that destroyed (or never held) their share")
    unconfirmed: dict[str, str] = Field(description="node -> why it did not confirm")
    needed: int = Field(description="N - M + 1: confirmations after which the key is gone")
    key_gone: bool
    summary: str


class KeyCustodyModel(BaseModel):
    """How many custody nodes hold a share of the contribution's file key."""

    nodes: int
    threshold: int
    holding: int = Field(description="nodes that confirmed they hold their share")


class ContributionReceipt(BaseModel):
    id: str
    contributor: str
    status: str
    stages: list[Stage]
    accepted: bool
    rejection_reasons: list[str]
    report: dict[str, Any]
    score: int
    cid: str | None
    tx_hash: str | None
    withdrawn: bool
    records: int | None = Field(
        None, description="Records of the refined schema stored for this contribution"
    )
    record_schema: str | None = Field(
        None, description="The schema they follow: its id and the SHA-256 of its definition"
    )
    refined_sha256: str | None = Field(
        None, description="SHA-256 of the refined records (Parquet) before encryption"
    )
    last_error: str | None
    disowned: bool = Field(
        False,
        description="The account's proven owner took back the binding this contribution "
        "was made under: no longer released nor valued, awaiting a void proposal",
    )
    # Set when this export was contributed before (by this wallet): that receipt, again.
    already_contributed_at: int | None = None
    verdicts: list[Verdict] = Field(
        default_factory=list,
        description="Each validator's verdict on the upload, side by side (with other "
        "validator nodes configured): whether it agrees, and what it found",
    )
    key_custody: KeyCustodyModel | None = Field(
        None, description="With custody nodes: how many hold a share of its key"
    )
    key_destruction: KeyDestructionModel | None = Field(
        None, description="On a withdrawal: what the custody nodes confirmed"
    )
    attestation: dict[str, Any] | None = None
    signatures: list[str] | None = None
    # Once minted: the tokens the registry minted for it (units of 10^-18), as recorded.
    tokens_wei: str | None = None


class RecordPreview(BaseModel):
    """The first records renters would receive of an export, before it is signed."""

    record_schema: str
    records: list[dict[str, Any]] = Field(
        description="Rows of the record schema (record_id, contributor, source, kind, "
        "community, day, language, text, quality, near_duplicate_cluster, contribution_id)"
    )


class WithdrawRequest(RequestBody):
    deadline: int = Field(ge=0, lt=2**256, description="Unix seconds, as signed (uint256)")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class ChallengeRequest(RequestBody):
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    dataset_id: int = Field(ge=0, lt=2**32)


class ChallengeResponse(BaseModel):
    nonce: str = Field(description="Send it back with `expires_at` and the signature")
    text: str = Field(description="Sign this text with personal_sign (EIP-191)")
    expires_at: int
    chain_id: int
    service: str


RELEASE_PAGE_MAX = 5000


class ReleaseRequest(RequestBody):
    """A signed key-release request. The signed text is the challenge's `text`, or the
    same text composed by the renter (`dao_service.chain.challenges.challenge_text`) with
    16 random bytes of its own as the nonce and an expiry at most the challenge lifetime
    ahead: then one round trip is a release."""

    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="The renter's wallet")
    nonce: str = Field(pattern=r"^[0-9a-f]{32}$", description="Used once")
    expires_at: int = Field(ge=0, lt=2**63, description="Unix seconds, as signed")
    dataset_id: int = Field(ge=0, lt=2**32)
    chain_id: int
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")
    limit: int = Field(1000, ge=1, le=RELEASE_PAGE_MAX, description="keys per page")


class NextPageRequest(RequestBody):
    cursor: str = Field(max_length=600, description="`next_cursor` of the previous page")
    limit: int = Field(1000, ge=1, le=RELEASE_PAGE_MAX, description="keys per page")


class ReleasedKeyModel(BaseModel):
    contribution_id: str
    cid: str
    sha256: str
    iv: str = Field(description="base64 AES-GCM IV")
    encrypted_key: str = Field(description="hex ECIES (secp256k1) ciphertext of the AES key")


class ReleaseResponse(BaseModel):
    address: str
    dataset_id: int
    keys: list[ReleasedKeyModel]
    next_cursor: str | None = Field(
        description="Send it to /api/keys/release/next for the next page; null after the last"
    )


class ErrorResponse(BaseModel):
    detail: str


class SampleReceipt(BaseModel):
    """A stored validation sample: what `requestValuedRental` records on-chain."""

    sha256: str
    size: int
    records: int
    cid: str


class SettledRental(BaseModel):
    """A rental whose earnings are settled: its table on IPFS and the root it posted."""

    rental_id: int
    dataset_id: int
    epoch: int
    cid: str
    root: str
    total_wei: str
    tx_hash: str | None


class EarningsTableModel(BaseModel):
    """The latest published earnings table of a dataset, as on IPFS."""

    cid: str
    table: PublishedTable


class Call(BaseModel):
    """A transaction for the wallet to send (`eth_sendTransaction`)."""

    to: str
    data: str


class RentalIncomeModel(BaseModel):
    """What one rental (or a plain deposit: `rental_id` null) paid the account."""

    dataset_id: int
    rental_id: int | None
    split_by: str  # "score", "measured value", or why a valued rental fell back to score
    amount_wei: str
    amount: str  # as every surface shows it: ETH, rounded toward zero
    value: float | None  # the measured value that earned it (split by value only)
    table_cid: str | None


class DatasetIncomeModel(BaseModel):
    dataset_id: int
    earned_wei: str
    claimed_wei: str
    claimable_wei: str
    claimable: str
    claimable_by_score_wei: str
    claimable_by_value_wei: str
    rentals: list[RentalIncomeModel]


class IncomeModel(BaseModel):
    """Everything the account earned and may claim, by score and by measured value, as
    `datadao balance`, `earnings` and `claim` count it (dao_service/client/income.py)."""

    claimable_wei: str
    claimable: str
    rounding: str
    datasets: list[DatasetIncomeModel]
    claim_calls: list[Call]  # sent together by one Claim: everything claimable


class ContributorContribution(BaseModel):
    id: str
    dataset_id: int
    source: str
    status: str
    score: int
    tokens_wei: str
    withdrawn: bool
    cid: str | None
    fingerprint: str | None
    records: int | None = None
    record_schema: str | None = None


class ContributorView(BaseModel):
    """Everything the contributors' page shows for one wallet."""

    address: str
    tokens_wei: str
    votes_wei: str
    delegate: str
    contributions: list[ContributorContribution]
    income: IncomeModel
    withdrawal_domain: dict[str, Any]  # EIP-712 domain of the registry's Withdrawal
    withdrawal_types: dict[str, list[dict[str, str]]]


class SignInPass(BaseModel):
    """A sign-in with the platform, as the service vouches for it."""

    platform: str
    source: str
    account_id: str
    account_name: str
    wallet: str
    expires: int


class SignInRequest(BaseModel):
    """What a wallet signs to sign in with a platform (EIP-712 typed data, as
    `eth_signTypedData_v4` takes it); its nonce and expiry go back with the signature."""

    nonce: str
    expires: int
    typed_data: dict[str, Any]


class DisownedContribution(BaseModel):
    """A contribution made under a binding the account's proven owner took back: no longer
    released nor valued; the DAO may void it (burning its tokens) with `proposal`. Names no
    platform account."""

    id: str
    dataset_id: int
    contributor: str
    fingerprint: str
    score: int
    disowned_at: int
    live_on_chain: bool = Field(description="Not yet voided (nor withdrawn) on-chain")
    proposal: str = Field(description="The `datadao` command that proposes voiding it")
