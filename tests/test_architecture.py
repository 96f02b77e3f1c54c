"""The layering of the code is a tested property: the folders of reconciler/ in layers under cli, and a
pure core without I/O libraries (pyproject.toml's import-linter contracts; docs/architecture.md)."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_every_folder_of_reconciler_has_its_place_in_the_layers():
    """A new folder left out of the layers contract could import anything: name it there first."""
    layered = {name for layer in CONTRACTS[0]["layers"] for name in re.split(r"[|:]", layer)}
    folders = {f"reconciler.{init.parent.name}" for init in (ROOT / "reconciler").glob("*/__init__.py")}
    assert folders <= {name.strip() for name in layered}


def test_reconciler_and_cli_type_check_strictly():
    mypy = Path(sys.executable).parent / "mypy"
    result = subprocess.run([str(mypy), "--no-incremental"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
