"""The data DAO's service: intake, storage, key custody, chain client, local stack and CLI."""
