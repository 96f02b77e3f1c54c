"""The built-in redactors on a staged bundle with planted secrets, and on troubleshoot's own test data."""
from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from reconciler.redact import redact_tree
from reconciler.redact.builtin import secret_name

from ...conftest import FIXTURES

MASK = "***HIDDEN***"
PEM_BODY = ["MIIEowIBAAKCAQEAzW9kcJ1p2fXmQ4nb1PLANTEDKEYBODYLINE1", "k2Vb7PLANTEDKEYBODYLINE2qY3cL0g=="]

# Each file: (line, the secrets on it); a line without secrets must come out byte for byte.
PLANTED: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    # what a `run` collector captures: a service's log
    "host-collectors/run-host/app-log.txt": [
        ("2024-05-01T10:00:00Z level=info msg=\"starting\" version=1.2.3", ()),
        ("2024-05-01T10:00:01Z level=info msg=\"connecting\" password=hunter2", ("hunter2",)),
        ("auth token: abc123", ("abc123",)),
        ("using AKIAIOSFODNN7PLANTED for uploads", ("AKIAIOSFODNN7PLANTED",)),
        ("aws_secret_access_key = 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", ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDKEY",)),
        ("GET /api/v1 200 Authorization: Bearer bearer-tok-9f8e7d", ("bearer-tok-9f8e7d",)),
        ("DATABASE_URL=postgres://app:pg-pass-1@db.internal:5432/app", ("app:pg-pass-1", "pg-pass-1")),
        ("cache at mysql://root:my-pass-2@10.0.0.9:3306/cache", ("my-pass-2",)),
        ("dsn=gouser:dsn-pass-3@tcp(db:3306)/orders?parseTime=true", ("dsn-pass-3",)),
        ("-----BEGIN RSA PRIVATE KEY-----", ()),
        (PEM_BODY[0], (PEM_BODY[0],)),
        (PEM_BODY[1], (PEM_BODY[1],)),
        ("-----END RSA PRIVATE KEY-----", ()),
        ("keepLast: 10 monkey: banana key: node-role.kubernetes.io/master", ()),
        ("2024-05-01T10:00:02Z level=info msg=\"done\" took=3ms", ()),
    ],
    # what a `copy` collector brings: a service's configuration
    "host-collectors/copy/etc/app/app.env": [
        ("# database settings", ()),
        ("DB_HOST=db.internal", ()),
        ("DB_PASSWORD=env-pass-4", ("env-pass-4",)),
        ("export AWS_SECRET_ACCESS_KEY=env-aws-secret-5", ("env-aws-secret-5",)),
        ("API_KEY=env-api-key-6", ("env-api-key-6",)),
        ("SQL=Data Source=sql01;Initial Catalog=app;Password=mssql-pass-7;", ("mssql-pass-7", "sql01")),
        ("LOG_LEVEL=debug", ()),
    ],
    "cluster-resources/pods/default.json": [
        ("{", ()),
        ('  "env": [{"name":"DB_PASSWORD","value":"s3cr3t"}],', ("s3cr3t",)),
        ('  "containers": [', ()),
        ("    {", ()),
        ('      "name": "DB_PASSWORD",', ()),
        ('      "value": "multi-line-s3cr3t-8"', ("multi-line-s3cr3t-8",)),
        ("    },", ()),
        ("    {", ()),
        ('      "name": "LOG_LEVEL",', ()),
        ('      "value": "debug"', ()),
        ("    }", ()),
        ("  ],", ()),
        ('  "client_secret": "json-secret-9"', ("json-secret-9",)),
        ("}", ()),
    ],
    "cluster-resources/configmaps/default.yaml": [
        ("env:", ()),
        ("- name: SMTP_PASSWORD", ()),
        ("  value: yaml-pass-10", ("yaml-pass-10",)),
        ("- name: SMTP_HOST", ()),
        ("  value: mail.internal", ()),
        ("data:", ()),
        ("  api_key: yaml-api-key-11", ("yaml-api-key-11",)),
        ("  tls.key: |", ()),
        ("    -----BEGIN PRIVATE KEY-----", ("-----BEGIN PRIVATE KEY-----",)),
        ("    MIIEvQIBADANBgkqhkiG9w0PLANTEDYAMLKEY", ("MIIEvQIBADANBgkqhkiG9w0PLANTEDYAMLKEY",)),
        ("    -----END PRIVATE KEY-----", ("-----END PRIVATE KEY-----",)),
        ("  topologyKey: kubernetes.io/hostname", ()),
        ("  secretName: app-tls", ()),
    ],
}

EXPECTED_BY_FILE = {
    "host-collectors/run-host/app-log.txt": 9,
    "host-collectors/copy/etc/app/app.env": 5,
    "cluster-resources/pods/default.json": 3,
    "cluster-resources/configmaps/default.yaml": 3,
}
EXPECTED_BY_REDACTOR = {
    "secret-assignment": 9, "aws-access-key-id": 1, "authorization-header": 1, "url-credentials": 2, "mysql-dsn": 1,
    "private-key": 1, "connection-string-fields": 2, "json-env-value": 1, "json-env-value-multiline": 1,
    "yaml-env-value-multiline": 1,
}


def plant(root: Path, files: dict[str, list[tuple[str, tuple[str, ...]]]]) -> None:
    for relative, lines in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line, _ in lines))
        path.chmod(0o600)


def all_bytes(root: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_no_planted_secret_survives_and_everything_else_is_untouched(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    plant(root, PLANTED)

    report = redact_tree(root)

    everything = all_bytes(root)
    for relative, lines in PLANTED.items():
        for line, secrets in lines:
            for secret in secrets:
                assert secret.encode() not in everything, f"{secret!r} survived in {relative}"
        out = (root / relative).read_bytes().split(b"\n")
        assert out[-1] == b"" and len(out) == len(lines) + 1
        for (line, secrets), after in zip(lines, out):
            assert (after == line.encode()) == (not secrets), (relative, line, after)
        assert (root / relative).stat().st_mode & 0o777 == 0o600
    assert report.by_file == EXPECTED_BY_FILE
    assert report.by_redactor == EXPECTED_BY_REDACTOR
    assert report.count == sum(EXPECTED_BY_FILE.values())
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == sorted(Path(f).name for f in PLANTED)


def test_the_report_holds_counts_and_paths_only(tmp_path: Path) -> None:
    plant(tmp_path, PLANTED)
    document = json.dumps(redact_tree(tmp_path).to_json())
    assert set(json.loads(document)) == {"count", "byRedactor", "byFile", "notScanned"}
    for lines in PLANTED.values():
        for _, secrets in lines:
            for secret in secrets:
                assert secret not in document


def test_yaml_stays_parseable_after_masking(tmp_path: Path) -> None:
    import yaml

    plant(tmp_path, {"c.yaml": PLANTED["cluster-resources/configmaps/default.yaml"]})
    redact_tree(tmp_path)
    data = yaml.safe_load((tmp_path / "c.yaml").read_text())
    assert data["env"][0]["value"] == MASK and data["data"]["api_key"] == MASK
    assert data["data"]["topologyKey"] == "kubernetes.io/hostname"


def redact_line(tmp_path: Path, line: str) -> str:
    (tmp_path / "f.txt").write_text(line + "\n")
    redact_tree(tmp_path)
    return (tmp_path / "f.txt").read_text()[:-1]


@pytest.mark.parametrize("line, expected", [
    ("--password=cli-pass", f"--password={MASK}"),
    ('msg="retry with password=inner now" level=info', f'msg="retry with password={MASK} now" level=info'),
    ('"tls.key": "-----BEGIN RSA PRIVATE KEY-----\\nMIIE\\n-----END RSA PRIVATE KEY-----\\n"', f'"tls.key": "{MASK}"'),
    ('{"x": "-----BEGIN EC PRIVATE KEY-----\\nMHc\\n-----END EC PRIVATE KEY-----"}',
     f'{{"x": "-----BEGIN EC PRIVATE KEY-----{MASK}-----END EC PRIVATE KEY-----"}}'),
    ('\\"name\\":\\"MYSQL_PASSWORD\\",\\"value\\":\\"escaped\\"', f'\\"name\\":\\"MYSQL_PASSWORD\\",\\"value\\":\\"{MASK}\\"'),
    ("headers map[Authorization:[Basic dXNlcjpwYXNz]]", f"headers map[Authorization:[Basic {MASK}]]"),
    ("id_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl",  f"id_token={MASK}"),
    ("Server=sql;Database=app;Uid=sa;Pwd=odbc-pass;", f"Server={MASK};Database={MASK};Uid={MASK};Pwd={MASK};"),
    ("redis://:only-pass@cache:6379", f"redis://:{MASK}@cache:6379"),
    ("https://user@github.com/org/repo", "https://user@github.com/org/repo"),
    ("DB_PASS=short", f"DB_PASS={MASK}"),
    ("UPLOAD_TOKEN=Bearer upl0ad-t0ken", f"UPLOAD_TOKEN=Bearer {MASK}"),   # an env dump of a header value
    ("api_token: Basic dXNlcjpwYXNz", f'api_token: Basic "{MASK}"'),
    ("pass: 3 fail: 0", "pass: 3 fail: 0"),
    ("tokenExpirationSeconds: 3600", "tokenExpirationSeconds: 3600"),
    ("password: null", "password: null"),
    ("kind: Secret", "kind: Secret"),
    ("the password was rotated", "the password was rotated"),
])
def test_single_lines(tmp_path: Path, line: str, expected: str) -> None:
    assert redact_line(tmp_path, line) == expected


@pytest.mark.parametrize("name, secret", [
    (b"DB_PASSWORD", True), (b"apiKey", True), (b"api_key", True), (b"tls.key", True), (b"client_secret", True),
    (b"AWS_SECRET_ACCESS_KEY", True), (b"token", True), (b"credentials", True), (b"MYSQL_PASS", True),
    (b"key", False), (b"monkey", False), (b"keepLast", False), (b"topologyKey", False), (b"secretName", False),
    (b"passwordFile", False), (b"publicKey", False), (b"tokenizer", False), (b"bridge-nf-pass-vlan", False),
    (b"DISCOVER_TOLERATION_KEY", False),
])
def test_secret_names_are_judged_on_words(name: bytes, secret: bool) -> None:
    assert secret_name(name) is secret


def test_a_yaml_block_scalar_under_a_secret_name_is_masked_to_its_end(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("a:\n  password: |\n    line one\n\n    line two\n  other: kept\nb: kept\n")
    report = redact_tree(tmp_path)
    assert (tmp_path / "c.yaml").read_text() == f"a:\n  password: |\n    {MASK}\n\n    {MASK}\n  other: kept\nb: kept\n"
    assert report.count == 1


def test_a_stray_begin_marker_does_not_mask_the_rest_of_a_log(tmp_path: Path) -> None:
    text = "error: no -----BEGIN PRIVATE KEY----- found in input\nMIIEvQIBADAN\nnext: ordinary line\n"
    (tmp_path / "log").write_text(text)
    redact_tree(tmp_path)
    assert (tmp_path / "log").read_text() == f"error: no -----BEGIN PRIVATE KEY----- found in input\n{MASK}\nnext: ordinary line\n"


def masked_offsets(original: str, redacted: str) -> set[int]:
    """Offsets of `original` that the redaction replaced by masks."""
    offsets: set[int] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, original, redacted, autojunk=False).get_opcodes():
        if tag == "delete" or tag != "equal" and MASK in redacted[j1:j2]:
            offsets.update(range(i1, i2))
    return offsets


def test_everything_troubleshoot_masks_in_its_own_test_is_masked_too(tmp_path: Path) -> None:
    """troubleshoot's Test_Redactors (pkg/redact/redact_test.go) input and expected output: every
    character it hides, we hide, except DSN hosts and database names, which we keep on purpose."""
    original = (FIXTURES / "redact" / "troubleshoot-redactors-input.json").read_text()
    expected = (FIXTURES / "redact" / "troubleshoot-redactors-expected.json").read_text()
    (tmp_path / "deployments.json").write_text(original)
    redact_tree(tmp_path)
    ours = (tmp_path / "deployments.json").read_text()
    kept_on_purpose = {"dbserver.orgblog_production", "pg_hostpg_database"}   # DSN hosts and database names
    for number, (before, theirs, after) in enumerate(zip(original.splitlines(), expected.splitlines(),
                                                         ours.splitlines())):
        missed = masked_offsets(before, theirs) - masked_offsets(before, after)
        text = "".join(before[i] for i in sorted(missed))
        assert not text or text in kept_on_purpose, (number, text)
    assert json.loads(ours)   # still JSON
    assert "jwt-signing-key" not in ours and "not-a-secret" not in ours   # names troubleshoot has no word for
