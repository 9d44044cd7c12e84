"""scripts/solc.js behaves like native solc for what py-solc-x and ape-solidity use."""

import json
import subprocess
from pathlib import Path

import pytest
from solcx.wrapper import get_solc_version

from dao_service.chain.compiler import CompilationError, compile_sources, install_solc_shim
from dao_service.core import paths

BROKEN = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
contract Broken { function f() public { uint x = } }
"""

GOVERNOR_IMPORT = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
"""


def run_shim(
    *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(paths.solc_shim()), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_version_is_printed_like_native_solc() -> None:
    result = run_shim("--version")
    assert result.returncode == 0
    assert result.stdout.splitlines()[1].startswith("Version: 0.8.28+commit.7893614a")
    assert get_solc_version(install_solc_shim()).base_version == "0.8.28"


def test_standard_json_resolves_imports_and_prints_large_output_whole(tmp_path: Path) -> None:
    # Every output of Governor + Timelock and their imports: far past the 64 KiB pipe limit.
    request = {
        "language": "Solidity",
        "sources": {"Gov.sol": {"content": GOVERNOR_IMPORT}},
        "settings": {
            "remappings": ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"],
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode", "metadata"]}
            },
        },
    }
    result = run_shim(
        "--standard-json",
        "--base-path",
        str(paths.PROJECT_ROOT),
        stdin=json.dumps(request),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) > 300_000
    output = json.loads(result.stdout)  # nothing before or after the JSON, nothing cut off
    assert not [e for e in output.get("errors", []) if e["severity"] == "error"]
    timelock = output["contracts"][
        "node_modules/@openzeppelin/contracts/governance/TimelockController.sol"
    ]["TimelockController"]
    assert len(timelock["evm"]["bytecode"]["object"]) > 10_000


def test_standard_json_reports_a_missing_import_as_solc_does(tmp_path: Path) -> None:
    request = {
        "language": "Solidity",
        "sources": {"A.sol": {"content": 'pragma solidity 0.8.28; import "./Missing.sol";'}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    }
    result = run_shim("--standard-json", "--base-path", str(tmp_path), stdin=json.dumps(request))
    errors = [e for e in json.loads(result.stdout)["errors"] if e["severity"] == "error"]
    assert errors[0]["type"] == "ParserError"
    assert 'Source "Missing.sol" not found' in errors[0]["formattedMessage"]


def test_combined_json_compiles_files(tmp_path: Path) -> None:
    source = tmp_path / "Ok.sol"
    source.write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\ncontract Ok { uint public x; }\n"
    )
    result = run_shim(str(source), "--combined-json", "abi,bin")
    assert result.returncode == 0, result.stderr
    contract = json.loads(result.stdout)["contracts"][f"{source}:Ok"]
    assert contract["abi"][0]["name"] == "x"
    assert len(contract["bin"]) > 100


def test_broken_contract_fails_with_solcs_message_on_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "Broken.sol"
    source.write_text(BROKEN)
    result = run_shim(str(source), "--combined-json", "abi")
    assert result.returncode == 1
    assert "ParserError: Expected primary expression" in result.stderr


def test_py_solc_x_compiles_contracts_importing_openzeppelin() -> None:
    compiled = compile_sources(
        {
            "T.sol": "// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\n"
            'import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";\n'
            'contract T is ERC20 { constructor() ERC20("T", "T") {} }\n'
        }
    )
    assert {f["name"] for f in compiled["T"].abi if f["type"] == "function"} >= {
        "transfer",
        "approve",
    }
    assert compiled["T"].bytecode.startswith("0x6080")


def test_py_solc_x_raises_solcs_message_for_a_broken_contract() -> None:
    with pytest.raises(CompilationError) as error:
        compile_sources({"Broken.sol": BROKEN})
    assert "ParserError: Expected primary expression" in error.value.user_message
    assert "Broken.sol:3:" in error.value.user_message
