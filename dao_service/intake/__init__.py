"""Contribution intake, one module per stage: check the signed statement, open the upload
in memory, validate, persist, then (in the background, durably) store on IPFS and mint
on-chain.

Stages, each committed before the next starts:
  received+validated (one transaction, with the ciphertext already fsynced to the spool)
  -> stored (pinned on IPFS, CID recorded) -> minted (registry transaction confirmed).
With other validator nodes (`DATADAO_CO_VALIDATORS`), each judges the upload itself
before it is persisted, and minting collects their signatures (`chain.validator_set`).
A crash at any point resumes from the last committed stage. Minting is exactly-once
because the registry refuses a fingerprint twice and the worker asks the chain whether
the fingerprint is already recorded before sending.

Modules: `upload` (the request and its refusal), `limits` (rate limits), `statement`
(signature and nonce), `opening` (decryption and validation), `records` (SQL row, spool,
dedup-index sync), `storing` (IPFS), `minting`, `worker` (the background loop), `receipt`,
`signin` (the platform sign-in that proves an account is the contributor's), and `service`,
which composes them for the API.
"""

from dao_service.exceptions import IntakeRefused
from dao_service.intake.service import IntakeService
from dao_service.intake.upload import Upload

__all__ = ["IntakeRefused", "IntakeService", "Upload"]
