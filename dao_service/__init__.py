"""The data DAO's service: intake, storage, key custody, chain connection, local stack and CLI."""
