"""Rental income by measured value. A renter hands in a validation sample (`samples`);
once its rental has executed, the settlement runs in stages:
  `plan` (what the chain says the rental paid, the last table's cumulative earnings, the
  dataset's live contributions read in memory) -> `shares` (each contribution valued
  against the sample by `valuation`, the payment split) -> `publish` (the `table` pinned
  on IPFS, its cumulative earnings root posted on-chain, the settlement recorded).
`service` composes them for the API and the background loop; `demand` turns the
settled tables into the demand line of the intake score.

Nothing is re-exported here: the client imports `table` to read published tables, and
importing this package must not load the service (SQLAlchemy, web3, the validators).
"""
