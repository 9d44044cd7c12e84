"""The local stack behind `datadao up`: anvil, an IPFS node, the contracts and the service."""
