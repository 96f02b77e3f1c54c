"""Found by `make stress` (stress/fuzz.py, redaction's own output): planted secrets that survived."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.redact import redact_tree


@pytest.mark.parametrize("text, secret", [
    ('--password Zf1800kx"', "Zf1800kx"),                    # a stray quote after the value hid the whole flag
    ("--password 'Zf1800kx'", "Zf1800kx"),
    (json.dumps({"Set-Cookie": "Zf459k"}), "Zf459k"),         # a cookie with no name=
    (json.dumps({"Set-Cookie": "Zf4076k/+="}), "Zf4076k"),    # ... whose value ends in base64 padding
    ("Cookie: Zf77k; Path=/", "Zf77k"),
])
def test_a_planted_secret_the_fuzz_found_surviving_is_masked(tmp_path: Path, text: str, secret: str) -> None:
    (tmp_path / "bundle").mkdir()
    path = tmp_path / "bundle" / ("f.json" if text.startswith("{") else "f.log")
    path.write_text(text + "\n")
    redact_tree(tmp_path / "bundle")
    assert secret not in path.read_text()
