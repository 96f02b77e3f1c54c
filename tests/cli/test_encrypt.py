"""`encrypt: {ageRecipients: [...]}`: a run leaves only `<bundle>.tar.gz.age` at rest, records and
uploads that file, and the bundle inside decrypts with the identity; retention sees encrypted bundles;
validate rejects what is not a public key."""
from __future__ import annotations

import hashlib

import json
import tarfile
from pathlib import Path

import pyrage

from reconciler.run.encryption import decrypt_bundle

from .test_run import manifest


def test_an_encrypted_run_round_trips(cli, write_manifest, state_dir, tmp_path):
    key = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"{key}\n")
    share = tmp_path / "share"
    path = manifest(write_manifest, f"""          - name: sealed
            cron: "@daily"
            collect: {{hostCollectors: [{{hostOS: {{}}}}]}}
            upload: {{url: "file://{share}/"}}
            retention: {{keepLast: 1, keepFailed: 0, maxAgeDays: 0}}
            encrypt: {{ageRecipients: ["{key.to_public()}"]}}""")
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("run", "sealed", "-o", "json")
    record = json.loads(result.out)
    assert result.code == 0 and record["status"] == "completed", result.err
    bundle = Path(record["bundle"]["path"])
    assert bundle.name.endswith(".tar.gz.age") and bundle.parent == state_dir / "bundles" / "sealed"
    assert [p.name for p in bundle.parent.iterdir()] == [bundle.name]      # no plaintext, no staging left
    data = bundle.read_bytes()
    assert record["bundle"]["sizeBytes"] == len(data) and record["bundle"]["sha256"] == hashlib.sha256(data).hexdigest()
    uploaded = share / "host" / "sealed" / bundle.name
    assert record["upload"]["url"] == uploaded.as_uri() and uploaded.read_bytes() == data

    plain = decrypt_bundle(bundle, key_file, tmp_path / "plain.tar.gz")
    with tarfile.open(plain) as tar:
        top = bundle.name.removesuffix(".tar.gz.age")
        names = tar.getnames()
        assert f"{top}/version.yaml" in names and f"{top}/host-collectors/system/hostos_info.json" in names
        assert b"SupportBundle" in tar.extractfile(f"{top}/version.yaml").read()

    second = json.loads(cli("run", "sealed", "-o", "json").out)          # keepLast 1: the first one goes
    assert not bundle.exists() and Path(second["bundle"]["path"]).exists()
    assert [p.name for p in bundle.parent.iterdir()] == [Path(second["bundle"]["path"]).name]


def test_validate_rejects_a_recipient_that_is_no_public_key(cli, write_manifest):
    path = manifest(write_manifest, """          - name: sealed
            cron: "@daily"
            encrypt: {ageRecipients: ["AGE-SECRET-KEY-1QQQ"]}""")
    result = cli("validate", "-f", str(path))
    assert result.code == 1
    assert "schedules[0].encrypt.ageRecipients[0]: the value must be an age public key" in result.err
    assert "AGE-SECRET-KEY" not in result.err   # a secret key pasted by mistake is not echoed into CI logs
    assert ":10:31:" in result.err   # FILE:LINE:COL of the value
    empty = manifest(write_manifest, """          - name: sealed
            cron: "@daily"
            encrypt: {ageRecipients: []}""")
    assert cli("validate", "-f", str(empty)).code == 1


def test_an_unusable_recipient_fails_the_run_before_collecting(cli, write_manifest, state_dir):
    key = str(pyrage.x25519.Identity.generate().to_public())
    broken = key[:-1] + ("q" if key[-1] != "q" else "p")
    path = manifest(write_manifest, f"""          - name: sealed
            cron: "@daily"
            collect: {{hostCollectors: [{{hostOS: {{}}}}]}}
            encrypt: {{ageRecipients: ["{broken}"]}}""")
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("run", "sealed", "-o", "json")
    record = json.loads(result.out)
    assert result.code == 1 and record["error"]["class"] == "permanent" and "is not an age" in record["error"]["message"]
    assert not (state_dir / "bundles" / "sealed").exists() or not any((state_dir / "bundles" / "sealed").iterdir())

