"""The token map's shell: tokens found line by line in a redacted file however its blocks fall, and a
schedule's salt made once and read back."""
from __future__ import annotations

import gzip
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.redact import redact_tree
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


def test_a_token_inside_a_gzip_file_is_mapped_to_its_line_in_the_decompressed_text(tmp_path: Path) -> None:
    """Redaction masks inside a gzip file; its tokens were looked for in the compressed bytes, never found,
    and left out of the map: the bundle held tokens nothing could read back."""
    staging = tmp_path / "bundle"
    (staging / "logs").mkdir(parents=True)
    (staging / "logs" / "app.log.1.gz").write_bytes(gzip.compress(b"start\npassword=gz-secret-1\n"))
    run = redaction_maps.start(tmp_path, "nightly", {"tokenize": True}, hidden=[])
    assert run is not None
    report = redact_tree(staging, masker=run.tokenizer)
    run.locate(staging, report.by_file)
    [(token, entry)] = run.document("nightly-1", "nightly")["tokens"].items()
    assert entry["value"] == "gz-secret-1" and entry["locations"] == [{"file": "logs/app.log.1.gz", "line": 2}]
    assert token.encode() in gzip.decompress((staging / "logs" / "app.log.1.gz").read_bytes())


def test_one_token_of_a_map_or_not_found_naming_how_many_there_are() -> None:
    from reconciler.base.errors import NotFound

    document = {"tokens": {"***TOKEN_PASSWORD_AB***": {"type": "password", "value": "hunter2", "places": []}}}
    assert redaction_maps.token_entry(document, "r-1", "***TOKEN_PASSWORD_AB***")["value"] == "hunter2"
    with pytest.raises(NotFound, match="no token 'x' in the redaction map of r-1") as caught:
        redaction_maps.token_entry(document, "r-1", "x")
    assert "lists its 1 token(s)" in (caught.value.hint or "")
