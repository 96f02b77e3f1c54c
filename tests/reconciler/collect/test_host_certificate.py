"""certificate: troubleshoot's key-pair-* words for pairs made here with the openssl CLI."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from reconciler.collect.host.certificate import check_key_pair

from .test_host_shapes import SHAPES, collect

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="the openssl CLI makes the test certificates")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A self-signed EC certificate and its key, another key, the key encrypted (PKCS#8 and legacy PEM)."""
    where = tmp_path_factory.mktemp("pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=where, check=True, capture_output=True, timeout=30)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            "key.pem", "-out", "cert.pem", "-days", "1", "-subj", "/CN=sbsched-test")
    openssl("genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other.pem")
    openssl("pkey", "-in", "key.pem", "-aes256", "-passout", "pass:x", "-out", "encrypted.pem")
    openssl("pkey", "-in", "key.pem", "-traditional", "-aes256", "-passout", "pass:x", "-out", "legacy.pem")
    (where / "garbage.pem").write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    (where / "empty.pem").write_text("")
    return where


@pytest.mark.parametrize("cert, key, status", [
    ("cert.pem", "key.pem", "key-pair-valid"),
    ("cert.pem", "missing.pem", "key-pair-missing"),
    ("missing.pem", "key.pem", "key-pair-missing"),
    ("key.pem", "cert.pem", "key-pair-switched"),
    ("cert.pem", "cert.pem", "key-pair-switched"),
    ("cert.pem", "other.pem", "key-pair-mismatch"),
    ("cert.pem", "encrypted.pem", "key-pair-encrypted"),
    ("cert.pem", "legacy.pem", "key-pair-encrypted"),
    ("cert.pem", "garbage.pem", "key-pair-invalid"),
    ("empty.pem", "key.pem", "key-pair-invalid"),
    ("cert.pem", "empty.pem", "key-pair-invalid"),
])
def test_key_pairs_are_judged_as_tls_load_x509_key_pair_judges_them(pki, cert, key, status):
    assert check_key_pair(str(pki / cert), str(pki / key))[0] == status


def test_the_collector_writes_the_bare_word_and_fails_unless_valid(tmp_path, pki):
    collect("certificate", tmp_path, collectorName="corp", certificatePath=str(pki / "cert.pem"),
            keyPath=str(pki / "key.pem"))
    written = (tmp_path / "host-collectors/certificate/corp.json").read_text()
    assert written == "key-pair-valid" and written in SHAPES["certificate"]["text"]
    with pytest.raises(RuntimeError, match="no such file or directory"):
        collect("certificate", tmp_path, certificatePath=str(pki / "cert.pem"))   # no keyPath, as troubleshoot
    assert (tmp_path / "host-collectors/certificate/certificate.json").read_text() == "key-pair-missing"
