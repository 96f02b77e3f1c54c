"""The layering of the code is a tested property: cli → reconciler, and a pure core without I/O libraries."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_reconciler_and_cli_type_check_strictly():
    mypy = Path(sys.executable).parent / "mypy"
    result = subprocess.run([str(mypy), "--no-incremental"], capture_output=True, text=True,
                            cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
