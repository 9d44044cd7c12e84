"""A custody node: one of N independent processes (own key, own database, own chain RPC;
in production on different machines under different operators) that each hold one
share of every file key, of which any M give the key back.

Modules, in the order a share lives: `settings`, `node_key` (the node's secp256k1 key and
the storage key derived from it), `chain` (the node's own reading of the chain),
`holding` (deposits from validators, destruction once the chain records a withdrawal),
`release` (a renter's signed request checked as the service checks it, the shares sealed
to the renter's wallet key), `api` (the routes) and `app`. The entry point is
`python -m dao_service.custody_node`."""
