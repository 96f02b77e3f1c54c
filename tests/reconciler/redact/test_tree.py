"""Redacting a tree: flat memory on a large file, files it must leave alone, newline fidelity, failure safety."""
from __future__ import annotations

import gzip
import io
import os
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from reconciler.redact import RedactionReport, redact_tree
from reconciler.redact import tree

MASK = b"***HIDDEN***"
SECRET = b"hunter2-planted"


def test_a_large_file_is_redacted_with_flat_memory(tmp_path: Path) -> None:
    line = b"2024-05-01T10:00:00.000Z level=info component=controller msg=\"reconciled\" pod=web-7f9c latency=3ms\n"
    chunk = line * 10_000 + b"connecting password=" + SECRET + b"\n" + b'{"name":"DB_TOKEN","value":"t-1"}\n'
    copies = 50_000_000 // len(chunk) + 1
    big = tmp_path / "host-collectors" / "run-host" / "big.log"
    big.parent.mkdir(parents=True)
    with open(big, "wb") as out:
        for _ in range(copies):
            out.write(chunk)
    size = big.stat().st_size

    tracemalloc.start()
    try:
        report = redact_tree(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert size >= 50_000_000 and peak < 16 * 1024 * 1024
    assert report.count == 2 * copies
    assert report.by_redactor == {"secret-assignment": copies, "json-env-value": copies}
    with open(big, "rb") as redacted:
        while block := redacted.read(1 << 24):
            assert SECRET not in block and b'"t-1"' not in block
    assert big.stat().st_size == size + copies * (2 * len(MASK) - len(SECRET) - len(b"t-1"))


def archive_bytes() -> dict[str, bytes]:
    text = b"password=" + SECRET + b"\n"
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w") as tar:
        info = tarfile.TarInfo("inner.log")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("inner.log", text)
    return {"a.tar": tar_buffer.getvalue(), "a.tar.gz": gzip.compress(tar_buffer.getvalue()),
            "a.tgz": gzip.compress(tar_buffer.getvalue()), "a.zip": zip_buffer.getvalue(),
            "core.bin": b"ELF\0\0\0" + text * 10, "a.gz": gzip.compress(b"ELF\0\0\0" + text * 10)}


def test_binary_files_and_nested_archives_are_left_byte_identical_and_reported(root: Path) -> None:
    files = archive_bytes()
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / "broken.log.gz").write_bytes(gzip.compress(b"password=" + SECRET + b"\n" * 1000)[:40])
    assert SECRET in files["a.tar"] and SECRET in files["a.zip"]   # plain text inside, left alone all the same
    report = redact_tree(root)
    for name, data in files.items():
        assert (root / name).read_bytes() == data, name
    assert report.count == 0
    assert report.not_scanned == {**{name: "binary" for name in files}, "broken.log.gz": "unreadable gzip"}
    assert sorted(os.listdir(root)) == sorted([*files, "broken.log.gz"])   # no temporary file left


def test_text_is_redacted_whatever_its_name_and_inside_gzip(root: Path) -> None:
    text = b"2024-05-01 connecting\npassword=" + SECRET + b"\n" + b"level=info done\n" * 50_000
    (root / "text-named-like.TGZ").write_bytes(text)
    (root / "app.log.gz").write_bytes(gzip.compress(text))
    (root / "clean.log.gz").write_bytes(gzip.compress(b"nothing to hide\n"))
    clean = (root / "clean.log.gz").read_bytes()
    report = redact_tree(root)
    expected = text.replace(SECRET, MASK)
    assert (root / "text-named-like.TGZ").read_bytes() == expected
    assert gzip.decompress((root / "app.log.gz").read_bytes()) == expected
    assert (root / "app.log.gz").stat().st_mode & 0o777 == 0o600
    assert (root / "clean.log.gz").read_bytes() == clean   # untouched: not even re-compressed
    assert report.by_file == {"app.log.gz": 1, "text-named-like.TGZ": 1} and report.not_scanned == {}
    assert sorted(os.listdir(root)) == ["app.log.gz", "clean.log.gz", "text-named-like.TGZ"]


def test_symlinks_are_never_followed_out_of_the_bundle(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_bytes(b"password=" + SECRET + b"\n")
    (outside / "dir" / "nested.txt").write_bytes(b"password=" + SECRET + b"\n")
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linked-dir").symlink_to(outside / "dir")
    (root / "inside.txt").write_bytes(b"password=" + SECRET + b"\n")
    (root / "link-inside.txt").symlink_to(root / "inside.txt")

    report = redact_tree(root)

    assert (outside / "secret.txt").read_bytes() == b"password=" + SECRET + b"\n"
    assert (outside / "dir" / "nested.txt").read_bytes() == b"password=" + SECRET + b"\n"
    assert (root / "link.txt").is_symlink() and (root / "link-inside.txt").is_symlink()
    assert (root / "inside.txt").read_bytes() == b"password=" + MASK + b"\n"
    assert report.by_file == {"inside.txt": 1}


@pytest.mark.parametrize("text, expected", [
    (b"password=" + SECRET, b"password=" + MASK),                              # no newline at the end
    (b"a\r\npassword=" + SECRET + b"\r\nb\r\n", b"a\r\npassword=" + MASK + b"\r\nb\r\n"),
    (b"\n\n" + b"x" * 100, b"\n\n" + b"x" * 100),
    (b"", b""),
])
def test_newlines_are_kept_as_they_were(tmp_path: Path, text: bytes, expected: bytes) -> None:
    (tmp_path / "f").write_bytes(text)
    redact_tree(tmp_path)
    assert (tmp_path / "f").read_bytes() == expected


def test_a_line_longer_than_the_limit_is_cut_between_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "BLOCK", 1024)
    monkeypatch.setattr(tree, "LINE_LIMIT", 4096)
    record = b'{"name":"DB_PASSWORD","value":"' + SECRET + b'"},'
    (tmp_path / "one-line.json").write_bytes(b"[" + record * 2000 + b"{}]")
    report = redact_tree(tmp_path)
    assert (tmp_path / "one-line.json").read_bytes() == b"[" + record.replace(SECRET, MASK) * 2000 + b"{}]"
    assert report.count == 2000


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A bundle directory of its own (tmp_path also holds the test's HOME)."""
    (tmp_path / "bundle").mkdir()
    return tmp_path / "bundle"


def test_unchanged_files_are_not_rewritten_and_changed_ones_are_0600(root: Path) -> None:
    (root / "clean.txt").write_bytes(b"nothing to hide\n")
    (root / "clean.txt").chmod(0o640)
    (root / "dirty.txt").write_bytes(b"token: " + SECRET + b"\n")
    (root / "dirty.txt").chmod(0o600)
    inode = (root / "clean.txt").stat().st_ino
    redact_tree(root)
    assert (root / "clean.txt").stat().st_ino == inode and (root / "clean.txt").stat().st_mode & 0o777 == 0o640
    assert (root / "dirty.txt").stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(root)) == ["clean.txt", "dirty.txt"]   # no temporary file left


def test_a_failure_leaves_the_original_and_no_temporary_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(tree, "_redact_lines", broken)
    (root / "f.txt").write_bytes(b"password=" + SECRET + b"\n")
    with pytest.raises(OSError, match="disk full"):
        redact_tree(root)
    assert os.listdir(root) == ["f.txt"] and (root / "f.txt").read_bytes() == b"password=" + SECRET + b"\n"


def test_without_builtins_or_redactors_nothing_is_touched(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"password=" + SECRET + b"\n")
    assert redact_tree(tmp_path, builtin=False) == RedactionReport(0, {}, {})
    assert (tmp_path / "f.txt").read_bytes() == b"password=" + SECRET + b"\n"


def test_the_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        redact_tree(tmp_path / "missing")
