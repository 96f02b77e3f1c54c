"""copy: troubleshoot's layout (host-collectors/<name>/<base name>/...), streaming, and failures."""
from __future__ import annotations

import os
import tracemalloc

import pytest

from reconciler.collect import Skipped
from reconciler.collect.host.copy import CopyError

from .test_host_shapes import SHAPES, assert_shape, collect, load


def tree(tmp_path):
    source = tmp_path / "src" / "test-dir"
    (source / "subdir").mkdir(parents=True)
    (source / "test-1.txt").write_text("one")
    (source / ".hidden").write_text("dot")
    (source / "subdir" / "another.txt").write_text("two")
    os.mkfifo(source / "a-fifo")   # neither file nor directory: left out, and never opened
    return source


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_file_a_directory_and_a_glob_land_as_troubleshoot_lays_them_out(tmp_path):
    source = tree(tmp_path)
    out = tmp_path / "out"
    collect("copy", out, collectorName="test-1", path=str(source / "test-1.txt"))
    collect("copy", out, collectorName="test-2", path=str(source))
    collect("copy", out, collectorName="test-3", path=str(source / "su*"))
    collect("copy", out, path=str(source / ".hid*"))
    assert files_under(out) == [
        "host-collectors/copy/.hidden",
        "host-collectors/test-1/test-1.txt",
        "host-collectors/test-2/test-dir/.hidden",
        "host-collectors/test-2/test-dir/subdir/another.txt",
        "host-collectors/test-2/test-dir/test-1.txt",
        "host-collectors/test-3/subdir/another.txt",
    ]
    assert (out / "host-collectors/test-2/test-dir/subdir/another.txt").read_text() == "two"


def test_symlinks_are_followed_but_not_back_into_their_own_tree(tmp_path):
    source = tree(tmp_path)
    target = tmp_path / "elsewhere.txt"
    target.write_text("symlink target data")
    (source / "link.txt").symlink_to(target)
    (source / "subdir" / "loop").symlink_to(source)
    out = tmp_path / "out"
    collect("copy", out, path=str(source))
    assert (out / "host-collectors/copy/test-dir/link.txt").read_text() == "symlink target data"
    assert (out / "host-collectors/copy/test-dir/subdir/another.txt").read_text() == "two"
    assert not (out / "host-collectors/copy/test-dir/subdir/loop").exists()


def test_a_missing_path_is_skipped_and_writes_nothing(tmp_path):
    with pytest.raises(Skipped, match="nothing on this host matches"):
        collect("copy", tmp_path / "out", path=str(tmp_path / "no-such-file"))
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="needs a path"):
        collect("copy", tmp_path / "out")


def test_a_failure_is_recorded_in_errors_json_as_troubleshoot_does(tmp_path):
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    with pytest.raises(CopyError, match="stat .*dangling: no such file or directory"):
        collect("copy", tmp_path / "out", collectorName="broken", path=str(tmp_path / "dangling"))
    errors = load(tmp_path / "out", "host-collectors/broken/errors.json")
    assert_shape(errors, SHAPES["copy"]["shape"])
    assert errors == [f"stat {tmp_path / 'dangling'}: no such file or directory"]


def test_copy_streams_a_large_file_in_flat_memory(tmp_path):
    big = tmp_path / "big.bin"
    chunk = os.urandom(1 << 20)
    with big.open("wb") as handle:
        for _ in range(20):
            handle.write(chunk)
    tracemalloc.start()
    try:
        collect("copy", tmp_path / "out", collectorName="big", path=str(big))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    copied = tmp_path / "out/host-collectors/big/big.bin"
    assert copied.stat().st_size == 20 << 20
    assert peak < 3 << 20, f"peak {peak} bytes while copying 20 MiB"
    with big.open("rb") as original, copied.open("rb") as duplicate:
        assert all(original.read(1 << 20) == duplicate.read(1 << 20) for _ in range(21))
