"""`ape compile` (ape-solidity through py-solc-x and our shim) works offline."""

import os
import shutil
import subprocess
from pathlib import Path

from dao_service.core import paths


def ape_compile(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{paths.node_modules() / '.bin'}:{os.environ['PATH']}"}
    ape = Path(os.environ.get("VIRTUAL_ENV", paths.PROJECT_ROOT / ".venv")) / "bin" / "ape"
    return subprocess.run(
        [str(ape), "compile", "--force"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def make_project(tmp_path: Path, contracts: dict[str, str]) -> Path:
    project = tmp_path / "project"
    (project / "contracts").mkdir(parents=True)
    shutil.copy(paths.PROJECT_ROOT / "ape-config.yaml", project / "ape-config.yaml")
    os.symlink(paths.node_modules(), project / "node_modules")
    for name, text in contracts.items():
        (project / "contracts" / name).parent.mkdir(parents=True, exist_ok=True)
        (project / "contracts" / name).write_text(text)
    return project


def test_ape_compiles_the_project_contracts(tmp_path: Path) -> None:
    sources = paths.PROJECT_ROOT / "contracts"
    project = make_project(
        tmp_path, {str(p.relative_to(sources)): p.read_text() for p in sources.rglob("*.sol")}
    )
    result = ape_compile(project)
    assert result.returncode == 0, result.stdout + result.stderr
    built = (project / ".build" / "__local__.json").read_text()
    for name in ("DataGovernor", "ContributionRegistry", "RentalEscrow"):
        assert f'"{name}"' in built


def test_ape_reports_solcs_message_for_a_broken_contract(tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        {"Broken.sol": "pragma solidity 0.8.28;\ncontract Broken {\n    uint x = ; }\n"},
    )
    result = ape_compile(project)
    assert result.returncode != 0
    assert "ParserError: Expected primary expression" in result.stdout + result.stderr
    assert "contracts/Broken.sol:3:14" in result.stdout + result.stderr
