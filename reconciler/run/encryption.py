"""Bundle encryption at rest with age (https://age-encryption.org), through pyrage (rage's bindings).

A schedule with `encrypt: {ageRecipients: [...]}` has each archive streamed, once written, through
age into `<bundle>.tar.gz.age` (atomically, 0600, hashed on the way); the plaintext archive is then
removed, and the record's bundle path, size and sha256 are the encrypted file's, which is also what
is uploaded. Recipients are age X25519 public keys (`age1...`) or SSH public keys (`ssh-ed25519 ...`,
`ssh-rsa ...`); any one of the matching identities decrypts:

    age -d -i key.txt support-bundle-....tar.gz.age > support-bundle-....tar.gz     (or rage -d ...)

`decrypt_bundle` does the same in Python (tests; docs/threat-model.md shows a one-liner).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Sequence

from ..base.errors import SbschedError
from .bundle import Archive, HashingWriter
from ..store.atomic import atomic_file

SUFFIX = ".age"


class EncryptionError(SbschedError):
    """A recipient that is not an age or SSH public key, or an archive that could not be encrypted."""


def recipients_of(keys: Sequence[str]) -> list[Any]:
    """pyrage recipients for `age1...` and `ssh-...` public keys; EncryptionError names a bad one."""
    import pyrage

    if not keys:
        raise EncryptionError("encrypt.ageRecipients is empty: at least one recipient is needed")
    out = []
    for key in keys:
        text = str(key).strip()
        try:
            if text.startswith("ssh-"):
                out.append(pyrage.ssh.Recipient.from_str(text))
            else:
                out.append(pyrage.x25519.Recipient.from_str(text))
        except Exception as exc:   # pyrage.RecipientError, or ValueError from the parser
            shown = text if len(text) <= 24 else text[:20] + "..."
            raise EncryptionError(f"encrypt.ageRecipients: {shown!r} is not an age (age1...) or SSH public key: "
                                  f"{exc}") from None
    return out


def encrypt_bundle(path: Path, recipients: Sequence[str]) -> Archive:
    """Encrypt the archive at `path` to `recipients` into `<path>.age`, streaming, then remove `path`.

    The encrypted file appears whole or not at all (a temp file renamed into place). When encryption
    fails the plaintext is removed all the same, since this schedule asked never to keep one at rest,
    and EncryptionError says why; the run then fails (and its policy may retry)."""
    import pyrage

    destination = path.with_name(path.name + SUFFIX)
    try:
        parsed = recipients_of(recipients)
        with open(path, "rb") as source, atomic_file(destination) as raw:
            sink = HashingWriter(raw)
            pyrage.encrypt_io(source, sink, parsed)
    except EncryptionError:
        _remove(path)
        raise
    except Exception as exc:
        _remove(path)
        raise EncryptionError(f"cannot encrypt {path.name}: {type(exc).__name__}: {exc}") from None
    _remove(path)
    return Archive(destination, sink.size, sink.digest.hexdigest())


def decrypt_bundle(path: Path, identity_file: Path, destination: Path) -> Path:
    """Decrypt `<bundle>.tar.gz.age` with the age identities (`AGE-SECRET-KEY-1...` lines) of
    `identity_file` into `destination`, streaming; what `age -d -i identity_file` does."""
    import pyrage

    identities = [pyrage.x25519.Identity.from_str(line.strip())
                  for line in identity_file.read_text(encoding="utf-8").splitlines()
                  if line.strip() and not line.startswith("#")]
    with open(path, "rb") as source, atomic_file(destination) as out:
        pyrage.decrypt_io(source, out, identities)
    return destination


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
