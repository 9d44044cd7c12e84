"""Persistent stores: the metadata database and the IPFS node."""
