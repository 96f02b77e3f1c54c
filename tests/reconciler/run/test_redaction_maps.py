"""The token map's shell: tokens found line by line in a redacted file however its blocks fall, and a
schedule's salt made once and read back."""
from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.run import redaction_maps
from reconciler.run.redaction_maps import _tokens_in, schedule_salt

TOKENS = [b"***TOKEN_PASSWORD_ABC123***", b"***TOKEN_GENERIC_00FF00_12***", b"***TOKEN_IP_999999***"]


def expected(data: bytes) -> list[tuple[int, str]]:
    return [(number, match[0].decode()) for number, line in enumerate(data.split(b"\n"), 1)
            for match in re.finditer(rb"\*\*\*TOKEN_[A-Z]+_[0-9A-F]{6}(?:_\d+)?\*\*\*", line)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.sampled_from([b"\n", b"x", b"***", b" ", b"TOKEN_"])),
                max_size=80),
       st.integers(min_value=1, max_value=200))
def test_every_token_is_found_on_its_line_whatever_the_block_size(tmp_path_factory, pieces, block) -> None:
    data = b"".join(pieces)
    path = tmp_path_factory.mktemp("scan") / "f.txt"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redaction_maps, "BLOCK", block)
        assert list(_tokens_in(path)) == expected(data)


def test_a_schedules_salt_is_made_once_0600_and_read_back(tmp_path: Path) -> None:
    first = schedule_salt(tmp_path, "nightly")
    assert schedule_salt(tmp_path, "nightly") == first and len(first) == 32
    assert schedule_salt(tmp_path, "weekly") != first
    path = tmp_path / "redaction-salts" / "nightly"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_salt_that_is_a_link_is_refused_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("ab" * 32 + "\n")
    (tmp_path / "redaction-salts").mkdir(mode=0o700)
    (tmp_path / "redaction-salts" / "nightly").symlink_to(elsewhere)
    from reconciler.base.errors import UnsafePath

    with pytest.raises(UnsafePath, match="symbolic link"):
        schedule_salt(tmp_path, "nightly")
