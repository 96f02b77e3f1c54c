"""certificate: does certificatePath hold a certificate that keyPath's private key belongs to?

Written as troubleshoot writes it (pkg/collect/host_certificate.go): the bare word, not JSON, in
host-collectors/certificate/<collectorName or "certificate">.json, one of key-pair-valid,
key-pair-missing, key-pair-switched, key-pair-encrypted, key-pair-mismatch, key-pair-invalid; the
host certificate analyzer compares that text. Go's tls.LoadX509KeyPair decides there; here the PEM
blocks are sorted out the same way and OpenSSL (the ssl module) parses and matches the pair. As in
troubleshoot, any outcome but valid also fails the collector, with the reason.
"""
from __future__ import annotations

import base64
import binascii
import re
import ssl

from .. import CollectContext, CollectorSpec
from .goerr import path_error
from ..params import bundle_path, collector_name, text

VALID, MISSING, SWITCHED = "key-pair-valid", "key-pair-missing", "key-pair-switched"
ENCRYPTED, MISMATCH, INVALID = "key-pair-encrypted", "key-pair-mismatch", "key-pair-invalid"
_BLOCK = re.compile(rb"-----BEGIN ([^-\r\n]*)-----\r?\n(.*?)-----END \1-----", re.S)


class _NoPassword(Exception):
    """Raised instead of letting OpenSSL prompt on a terminal for an encrypted key's passphrase."""


def certificate(spec: CollectorSpec, ctx: CollectContext) -> None:
    params = spec.params
    status, reason = check_key_pair(text(params, "certificatePath"), text(params, "keyPath"))
    name = collector_name(spec, "certificate")
    ctx.output.write_text(bundle_path("host-collectors/certificate", name + ".json"), status)
    if status != VALID:
        raise RuntimeError(reason)


def check_key_pair(cert_path: str, key_path: str) -> tuple[str, str]:
    """(status, why) for the pair, checked in the order LoadX509KeyPair checks it."""
    try:
        cert_pem = read_pem(cert_path)
        key_pem = read_pem(key_path)
    except OSError as exc:
        return (MISSING if isinstance(exc, FileNotFoundError) else INVALID), str(exc)
    blocks = pem_blocks(cert_pem)
    certificates = [der for kind, der in blocks if kind == "CERTIFICATE"]
    if not certificates:
        kinds = [kind for kind, _ in blocks]
        if len(kinds) == 1 and kinds[0].endswith("PRIVATE KEY"):
            return SWITCHED, ("tls: failed to find certificate PEM data in certificate input, but did find a "
                              "private key; PEM inputs may have been switched")
        return INVALID, f"tls: failed to find any PEM data in certificate input ({cert_path})"
    skipped = []
    for kind, _ in pem_blocks(key_pem):
        if kind == "PRIVATE KEY" or kind.endswith(" PRIVATE KEY"):
            break
        skipped.append(kind)
    else:
        if skipped == ["CERTIFICATE"]:
            return SWITCHED, "tls: found a certificate rather than a key in the PEM for the private key"
        return INVALID, f"tls: failed to find any PEM data in key input ({key_path})"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=certificates[0])
    except ssl.SSLError as exc:
        return INVALID, f"x509: cannot parse the certificate in {cert_path}: {exc}"
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_cert_chain(cert_path, key_path, password=_refuse_password)
    except ssl.SSLError as exc:
        if getattr(exc, "reason", None) == "KEY_VALUES_MISMATCH":
            return MISMATCH, "tls: private key does not match public key"
        return _unparsable_key(key_pem, exc)
    except _NoPassword as exc:
        return _unparsable_key(key_pem, exc)
    return VALID, ""


def _unparsable_key(key_pem: bytes, exc: Exception) -> tuple[str, str]:
    return (ENCRYPTED if b"ENCRYPTED" in key_pem else INVALID), f"tls: failed to parse private key: {exc}"


def _refuse_password() -> str:
    raise _NoPassword("the key is encrypted and no passphrase is given")


def read_pem(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(1 << 20)   # PEM files are small; a huge one is not a certificate anyway
    except OSError as exc:
        raise type(exc)(path_error("open", path, exc)) from None


def pem_blocks(pem: bytes) -> list[tuple[str, bytes]]:
    """(type, DER) of each well-formed PEM block; headers (Proc-Type, DEK-Info) are skipped."""
    found = []
    for match in _BLOCK.finditer(pem):
        body = match.group(2).replace(b"\r\n", b"\n")
        if b"\n\n" in body:
            body = body.split(b"\n\n", 1)[1]
        try:
            der = base64.b64decode(body, validate=False)
        except (binascii.Error, ValueError):
            continue
        found.append((match.group(1).decode("ascii", errors="replace"), der))
    return found
