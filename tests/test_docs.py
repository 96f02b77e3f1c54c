"""The docs that are generated must be current, and the CLI reference must cover every command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_manifest_reference_is_generated_from_the_current_schema():
    fresh = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_manifest_reference.py")], capture_output=True,
                           text=True, check=True).stdout
    assert (ROOT / "docs" / "manifest-reference.md").read_text() == fresh, \
        "stale: run .venv/bin/python tools/gen_manifest_reference.py > docs/manifest-reference.md"


def test_the_cli_reference_documents_every_command():
    from cli.main import app

    text = (ROOT / "docs" / "cli.md").read_text()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert f"## `sbsched {name}" in text, name
