"""Bundle encryption at rest: age through pyrage, streamed, the plaintext removed, round-tripped with a
generated identity (and with the age binary where one is installed)."""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pyrage
import pytest

from reconciler.run.encryption import EncryptionError, decrypt_bundle, encrypt_bundle, recipients_of


@pytest.fixture
def identity(tmp_path: Path) -> tuple[str, Path]:
    """(recipient, key file) as `age-keygen -o key.txt` writes them."""
    key = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"# public key: {key.to_public()}\n{key}\n")
    key_file.chmod(0o600)
    return str(key.to_public()), key_file


def archive(tmp_path: Path, size: int = 3 * 1024 * 1024 + 17) -> tuple[Path, bytes]:
    (tmp_path / "bundles").mkdir(exist_ok=True)
    path = tmp_path / "bundles" / "support-bundle-2026-01-02T03_04_05.tar.gz"
    data = os.urandom(size)
    path.write_bytes(data)
    return path, data


def test_round_trip_removes_the_plaintext_and_describes_the_encrypted_file(tmp_path, identity):
    recipient, key_file = identity
    path, data = archive(tmp_path)
    other = str(pyrage.x25519.Identity.generate().to_public())
    written = encrypt_bundle(path, [other, recipient])
    assert written.path == tmp_path / "bundles" / "support-bundle-2026-01-02T03_04_05.tar.gz.age"
    assert not path.exists() and [p.name for p in path.parent.iterdir()] == [written.path.name]
    encrypted = written.path.read_bytes()
    assert encrypted.startswith(b"age-encryption.org/v1\n") and data[:4096] not in encrypted
    assert (written.size, written.sha256) == (len(encrypted), hashlib.sha256(encrypted).hexdigest())
    assert stat.S_IMODE(written.path.stat().st_mode) == 0o600
    out = decrypt_bundle(written.path, key_file, tmp_path / "plain.tar.gz")
    assert out.read_bytes() == data


@pytest.mark.skipif(shutil.which("age") is None, reason="the age binary is not installed")
def test_the_age_binary_decrypts_it_as_documented(tmp_path, identity):
    recipient, key_file = identity
    path, data = archive(tmp_path, size=100_000)
    written = encrypt_bundle(path, [recipient])
    result = subprocess.run(["age", "-d", "-i", str(key_file), str(written.path)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == data


def test_a_bad_recipient_is_named_and_no_plaintext_is_left(tmp_path, identity):
    recipient, _ = identity
    path, _ = archive(tmp_path, size=1000)
    broken = recipient[:-1] + ("q" if recipient[-1] != "q" else "p")   # a checksum error
    with pytest.raises(EncryptionError, match="is not an age"):
        encrypt_bundle(path, [broken])
    assert list(path.parent.iterdir()) == []
    with pytest.raises(EncryptionError, match="at least one recipient"):
        recipients_of([])


def test_a_failure_midway_leaves_neither_file(tmp_path, identity, monkeypatch):
    recipient, _ = identity
    path, _ = archive(tmp_path, size=1000)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyrage, "encrypt_io", broken)
    with pytest.raises(EncryptionError, match="No space left"):
        encrypt_bundle(path, [recipient])
    assert list(path.parent.iterdir()) == []
