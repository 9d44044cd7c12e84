"""A co-validator node: one of the DAO's independent validators beside the collecting node
(the service), run as `python -m dao_service.covalidator`.

It has its own signing key (`DATADAO_VALIDATOR_KEY`, required: never a default), its own
RSA intake key (under its own data directory; browsers and `datadao contribute` wrap each
file key to it too), its own database (its own dedup index and verdicts), its own chain
RPC and IPFS node URLs. It judges each upload it is shown itself and signs only what
agrees with its own verdict; `dao_service.chain.validator_set` is the other side.

Modules, in the order a contribution meets them: `node` (the parts, from settings),
`judging` (open, validate, refine, compare, keep the verdict), `signing` (attestations
and earnings roots), `routes` and `app` (the API).
"""
