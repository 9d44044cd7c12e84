"""A co-validator node process: `python -m dao_service.covalidator`, settings from the
environment as for the API (its own `DATADAO_DATA_DIR`, `DATADAO_DATABASE_URL`,
`DATADAO_CHAIN_RPC_URL`, `DATADAO_IPFS_API_URL`, `DATADAO_MANIFEST_PATH`, and
`DATADAO_VALIDATOR_KEY`, which it requires), listening on `DATADAO_HOST`:
`DATADAO_SERVICE_PORT`. The collecting node finds it through `DATADAO_CO_VALIDATORS`.
See `dao_service/validator_node`."""

import sys

import uvicorn

from dao_service.core.config import get_settings
from dao_service.exceptions import DataDaoError
from dao_service.validator_node.app import create_app
from dao_service.validator_node.node import validator_signer


def main() -> None:
    settings = get_settings()
    settings.check_profile()
    validator_signer(settings)  # a missing key stops it here, in one line
    uvicorn.run(create_app(), host=settings.host, port=settings.service_port, log_level="info")


if __name__ == "__main__":
    try:
        main()
    except DataDaoError as exc:
        sys.exit(f"validator node: {exc.user_message}")
