"""Where the project's own files and its installed tools live.

The Node side of the toolchain (solc-js, OpenZeppelin, anvil, js-ipfs) is installed by
`npm ci` into the project's `node_modules`; `DATADAO_NODE_MODULES` points elsewhere.
"""

import os
from pathlib import Path

from dao_service.exceptions import ToolchainError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SOLC_VERSION = "0.8.28"


def node_modules() -> Path:
    return Path(os.environ.get("DATADAO_NODE_MODULES", PROJECT_ROOT / "node_modules"))


def node_tool(relative: str, what: str) -> Path:
    """Path to a file inside node_modules, or a ToolchainError saying how to install it."""
    path = node_modules() / relative
    if not path.exists():
        raise ToolchainError(
            f"{what} is not installed ({path} is missing). Run `npm ci` in {PROJECT_ROOT} "
            f"(the README's commands do it for you)."
        )
    return path


def anvil_binary() -> Path:
    return node_tool("@foundry-rs/anvil-linux-amd64/bin/anvil", "anvil")


def ipfs_cli() -> Path:
    return node_tool("ipfs/src/cli.js", "js-ipfs")


def openzeppelin_contracts() -> Path:
    return node_tool("@openzeppelin/contracts", "OpenZeppelin contracts")


def zip_js() -> Path:
    """zip.js (npm @zip.js/zip.js): the page reads archives with it, in the browser."""
    return node_tool("@zip.js/zip.js/dist/zip-native.min.js", "zip.js")


def solc_shim() -> Path:
    return PROJECT_ROOT / "scripts" / "solc.js"


def contracts_dir() -> Path:
    return PROJECT_ROOT / "contracts"
