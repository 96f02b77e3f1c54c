"""certificatesCollection: chains made here (a CA and a leaf signed by it, one expired), a key that is
not a certificate, a file that is not there."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reconciler.collect.host.certificates import certificate_chain

from .test_host_shapes import assert_written, collect

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def make(subject: str, issuer: str, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey, *,
         ca: bool, days: int, names: tuple[str, ...] = ()) -> bytes:
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject),
                                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sbsched")]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - timedelta(days=10)).not_valid_after(NOW + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_each_path_lists_its_chain_or_says_missing_or_invalid(tmp_path):
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = make("sbsched-ca", "sbsched-ca", ca_key, ca_key, ca=True, days=365)
    leaf = make("api.local", "sbsched-ca", leaf_key, ca_key, ca=False, days=-1, names=("api.local", "api"))
    (tmp_path / "chain.pem").write_bytes(leaf + ca)
    (tmp_path / "key.pem").write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    found = certificate_chain(str(tmp_path / "chain.pem"), NOW)
    assert found["message"] == "cert-valid" and found["certificatePath"] == str(tmp_path / "chain.pem")
    leaf_info, ca_info = found["certificateChain"]
    assert leaf_info["subject"] == "O=sbsched,CN=api.local" and leaf_info["issuer"] == "CN=sbsched-ca"
    assert leaf_info["subjectAlternativeNames"] == ["api.local", "api"] and ca_info["subjectAlternativeNames"] is None
    assert (leaf_info["isValid"], leaf_info["isCA"], ca_info["isValid"], ca_info["isCA"]) == (False, False, True, True)
    assert leaf_info["notAfter"] == "2026-05-31T00:00:00Z" and ca_info["notBefore"] == "2026-05-22T00:00:00Z"
    for name, message in (("key.pem", "cert-invalid"), ("broken.pem", "cert-invalid"), ("absent.pem", "cert-missing")):
        assert certificate_chain(str(tmp_path / name), NOW) == {"certificatePath": str(tmp_path / name),
                                                                "message": message}


def test_the_collector_writes_one_entry_per_path_in_troubleshoots_shape(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ca.pem").write_bytes(make("ca", "ca", key, key, ca=True, days=3650))
    collect("certificatesCollection", tmp_path / "out", paths=[str(tmp_path / "ca.pem"), str(tmp_path / "no.pem")],
            collectorName="node")
    written = assert_written(tmp_path / "out", "certificatesCollection", "host-collectors/certificatesCollection/node.json")
    assert [entry["message"] for entry in written] == ["cert-valid", "cert-missing"]
    collect("certificatesCollection", tmp_path / "out")
    assert Path(tmp_path / "out/host-collectors/certificatesCollection/certificatesCollection.json").read_text() == "null"
