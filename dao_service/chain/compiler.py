"""Compiling our contracts with solc 0.8.28 through py-solc-x.

No native solc can be downloaded here, so py-solc-x is pointed at `scripts/solc.js`, our
solc-compatible command line over solc-js. `install_solc_shim` puts it where py-solc-x
(and so ape-solidity) looks for an installed `solc-v0.8.28`.
"""

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from dao_service.core import paths
from dao_service.exceptions import CompilationError

SHIM_MARKER = "# datadao solc-js shim"
OPTIMIZER_RUNS = 200


@dataclass(frozen=True)
class CompiledContract:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str

    @property
    def build_hash(self) -> str:
        """Identifies this exact build: a changed source or setting changes it."""
        return "0x" + hashlib.sha256(self.bytecode.encode()).hexdigest()


def install_solc_shim() -> Path:
    """Make `solc-v0.8.28` in py-solc-x's install folder run our shim; returns its path.

    A real solc binary already there is left alone: it is the better compiler.
    """
    folder = solcx.get_solcx_install_folder()
    folder.mkdir(parents=True, exist_ok=True)
    executable = folder / f"solc-v{paths.SOLC_VERSION}"
    script = f'#!/bin/sh\n{SHIM_MARKER}\nexec node "{paths.solc_shim()}" "$@"\n'
    if executable.exists():
        current = executable.read_bytes()
        if SHIM_MARKER.encode() not in current or current == script.encode():
            return executable
    paths.node_tool("solc/soljson.js", "solc-js")
    tmp = executable.with_suffix(".tmp")
    tmp.write_text(script)
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(tmp, executable)
    return executable


def standard_input(sources: dict[str, str]) -> dict[str, Any]:
    oz = paths.openzeppelin_contracts()
    # Relative to the base path when possible, so the metadata (and the bytecode) does
    # not depend on where the project is checked out.
    if oz.is_relative_to(paths.PROJECT_ROOT):
        oz = oz.relative_to(paths.PROJECT_ROOT)
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "remappings": [f"@openzeppelin/contracts/={oz}/"],
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def compile_sources(sources: dict[str, str]) -> dict[str, CompiledContract]:
    """Compile Solidity sources (unit name -> text); raise CompilationError with solc's text."""
    executable = install_solc_shim()
    try:
        output = solcx.compile_standard(
            standard_input(sources),
            solc_binary=executable,
            base_path=paths.PROJECT_ROOT,
            allow_paths=[str(paths.node_modules())],
        )
    except SolcError as exc:
        raise CompilationError(f"solc refused the contracts:\n{exc.message}") from exc
    compiled: dict[str, CompiledContract] = {}
    for unit in sources:
        for name, out in output.get("contracts", {}).get(unit, {}).items():
            compiled[name] = CompiledContract(
                name=name,
                abi=out["abi"],
                bytecode="0x" + out["evm"]["bytecode"]["object"],
                deployed_bytecode="0x" + out["evm"]["deployedBytecode"]["object"],
            )
    return compiled


def project_sources(directory: Path | None = None) -> dict[str, str]:
    directory = directory or paths.contracts_dir()
    return {
        f"contracts/{path.relative_to(directory).as_posix()}": path.read_text()
        for path in sorted(directory.rglob("*.sol"))
    }


def compile_project(cache_dir: Path | None = None) -> dict[str, CompiledContract]:
    """Compile `contracts/`, reusing a cached result for identical sources."""
    sources = project_sources()
    key = hashlib.sha256(json.dumps(standard_input(sources), sort_keys=True).encode()).hexdigest()
    cache = cache_dir / f"contracts-{key[:16]}.json" if cache_dir else None
    if cache and cache.exists():
        return {n: CompiledContract(**c) for n, c in json.loads(cache.read_text()).items()}
    compiled = compile_sources(sources)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps({n: c.__dict__ for n, c in compiled.items()}))
        os.replace(tmp, cache)
    return compiled
