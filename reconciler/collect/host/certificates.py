"""certificatesCollection: every certificate in each of `paths`, with its subject, DNS names, issuer,
validity and CA flag (troubleshoot pkg/collect/host_certificates_collection.go, a list of
HostCertificatesCollection {certificatePath, certificateChain: [ParsedCertificate], message}),
written to host-collectors/certificatesCollection/<collectorName|certificatesCollection>.json.

`message` is cert-valid when every CERTIFICATE block parses (validity in time is each entry's
isValid), cert-missing when the file cannot be read, cert-invalid when it holds no certificate or
one that does not parse, as there. Names are written in RFC 4514 order, as Go's RDNSequence prints them.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cryptography import x509

from .. import CollectContext, CollectorSpec
from .certificate import pem_blocks, read_pem
from ..params import bundle_path, collector_name, texts

MISSING, VALID, INVALID = "cert-missing", "cert-valid", "cert-invalid"


def certificates_collection(spec: CollectorSpec, ctx: CollectContext) -> None:
    now = datetime.now(timezone.utc)
    results = [certificate_chain(path, now) for path in texts(spec.params, "paths") or []]
    name = collector_name(spec, "certificatesCollection")
    ctx.output.write_json(bundle_path("host-collectors/certificatesCollection", name + ".json"), results or None)


def certificate_chain(path: str, now: datetime) -> dict[str, Any]:
    try:
        pem = read_pem(path)
    except OSError:
        return {"certificatePath": path, "message": MISSING}
    chain = []
    for kind, der in pem_blocks(pem):
        if kind != "CERTIFICATE":
            continue
        try:
            chain.append(_parsed(x509.load_der_x509_certificate(der), now))
        except ValueError:
            return {"certificatePath": path, "message": INVALID}
    if not chain:
        return {"certificatePath": path, "message": INVALID}
    return {"certificatePath": path, "certificateChain": chain, "message": VALID}


def _parsed(cert: x509.Certificate, now: datetime) -> dict[str, Any]:
    """troubleshoot's ParsedCertificate; `certificate` (a Secret's key in the cluster collector) is empty here."""
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    return {"certificate": "", "subject": cert.subject.rfc4514_string(),
            "subjectAlternativeNames": _dns_names(cert) or None, "issuer": cert.issuer.rfc4514_string(),
            "notAfter": _go_time(not_after), "notBefore": _go_time(not_before),
            "isValid": not_before < now < not_after, "isCA": _is_ca(cert)}


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(names.get_values_for_type(x509.DNSName))


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _go_time(when: datetime) -> str:
    """A UTC time as Go's time.Time marshals it (RFC 3339, "Z")."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
