"""Slither over contracts/: no high or medium finding in our own contracts.

A finding that is by design is silenced on its line with Slither's own
`// slither-disable-next-line <detector> -- <why>` comment, and the why is required.
OpenZeppelin's findings (by design upstream, or known false positives) are filtered by path.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from dao_service.chain.compiler import install_solc_shim
from dao_service.core import paths

SEVERE = {"High", "Medium"}
DISABLE_COMMENT = re.compile(r"//\s*slither-disable-(?:next-line|start|end)\b(.*)")


def slither_findings() -> list[dict[str, Any]]:
    slither = Path(sys.executable).parent / "slither"
    result = subprocess.run(
        [str(slither), "contracts/",
         "--solc", str(install_solc_shim()), "--solc-standard-json",
         "--solc-remaps", "@openzeppelin/contracts=node_modules/@openzeppelin/contracts",
         "--filter-paths", "node_modules",
         "--exclude-informational", "--exclude-low", "--exclude-optimization",
         "--json", "-"],
        cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["success"], report["error"] or result.stderr
    return list(report["results"].get("detectors", []))


def first_path(finding: dict[str, Any]) -> str:
    elements = finding["elements"]
    return str(elements[0]["source_mapping"]["filename_relative"]) if elements else ""


def test_no_high_or_medium_finding_in_our_contracts() -> None:
    ours = [
        f"{f['impact']} {f['check']}: {f['description'].strip()}"
        for f in slither_findings()
        if f["impact"] in SEVERE and first_path(f).startswith("contracts/")
    ]
    assert not ours, "\n".join(ours)


def test_every_silenced_finding_says_why() -> None:
    unexplained = [
        f"{path.relative_to(paths.PROJECT_ROOT)}:{number}"
        for path in sorted(paths.contracts_dir().rglob("*.sol"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (match := DISABLE_COMMENT.search(line)) and "--" not in match.group(1)
    ]
    assert not unexplained, f"slither-disable without a reason at {unexplained}"
