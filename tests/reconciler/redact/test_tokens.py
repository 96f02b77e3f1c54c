"""Tokenized redaction's pure core: a secret's type from where it was found (or its shape), an HMAC of
the value under a salt, one token per value within a run, and the rules run through a tokenizer."""
from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.redact import redact_tree
from reconciler.redact.masker import MASK, Hidden, masked, using
from reconciler.redact.tokens import TOKEN, Tokenizer, classify, digest

SALT = b"\x01" * 32
JWT = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize("context, value, expected", [
    (b"DB_PASSWORD", b"x", "PASSWORD"),
    (b"passwd", b"x", "PASSWORD"),
    (b"MYSQL_PWD", b"x", "PASSWORD"),
    (b"DB_PASS", b"x", "PASSWORD"),
    (b"apiKey", b"x", "APIKEY"),
    (b"AWS_SECRET_ACCESS_KEY", b"x", "APIKEY"),
    (b"DATABASE_URL", b"x", "DATABASE"),
    (b"Database=", b"x", "DATABASE"),
    (b"GITHUB_TOKEN", b"x", "TOKEN"),
    (b"credentials Authorization: Bearer ", b"x", "TOKEN"),
    (b"credentials Authorization: Basic ", b"x", "AUTH"),
    (b"AUTH_CREDENTIALS", b"x", "AUTH"),
    (b"gcp_credentials", b"x", "CREDENTIAL"),
    (b"client_secret", b"x", "SECRET"),
    (b"private key", b"x", "SECRET"),
    (b"tls.key", b"x", "KEY"),
    (b"id ", b"AKIAIOSFODNN7EXAMPLE", "APIKEY"),
    (b"jwt ", JWT, "TOKEN"),
    (b"value ", b"ghp_0123456789abcdefghijABCDEFGHIJ012345", "TOKEN"),
    (b"value ", b"xoxb-1234-5678-abcdef", "TOKEN"),
    (b"value ", b"oncall@example.com", "EMAIL"),
    (b"value ", b"10.0.12.7", "IP"),
    (b"value ", b"hunter2", "GENERIC"),
    (b"user ", b"admin", "GENERIC"),
])
def test_a_secret_is_typed_by_its_name_first_then_by_its_shape(context: bytes, value: bytes,
                                                               expected: str) -> None:
    assert classify(context, value) == expected


def test_the_type_never_repeats_a_word_from_inside_the_value() -> None:
    assert classify(b"value ", b"my-password-is-secret-token") == "GENERIC"


def test_the_digest_is_troubleshoots_six_upper_case_hex_of_an_hmac_sha256_of_the_value() -> None:
    expected = hmac.new(SALT, b"hunter2", hashlib.sha256).hexdigest()[:6].upper()
    assert digest(SALT, b"hunter2") == expected
    assert re.fullmatch(r"[0-9A-F]{6}", expected)
    assert digest(b"\x02" * 32, b"hunter2") != expected   # another salt, another digest


def test_one_value_gets_one_token_wherever_it_is_found_and_the_first_type_wins() -> None:
    tokenizer = Tokenizer(SALT)
    first = tokenizer.mask(b"hunter2", b"DB_PASSWORD")
    assert first == b"***TOKEN_PASSWORD_" + digest(SALT, b"hunter2").encode() + b"***"
    assert tokenizer.mask(b"hunter2", b"GITHUB_TOKEN") == first
    assert tokenizer.mask(b"other", b"DB_PASSWORD") != first
    assert {token: (entry.type, entry.value) for token, entry in tokenizer.tokens.items()} == {
        first.decode(): ("PASSWORD", b"hunter2"),
        tokenizer.mask(b"other", b"x").decode(): ("PASSWORD", b"other")}


def test_the_same_salt_gives_the_same_tokens_in_another_run() -> None:
    token = Tokenizer(SALT).mask(b"hunter2", b"password")
    assert Tokenizer(SALT).mask(b"hunter2", b"password") == token
    assert Tokenizer(b"\x03" * 32).mask(b"hunter2", b"password") != token


def test_two_values_with_the_same_digest_get_numbered_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.redact.tokens.digest", lambda salt, value: "ABC123")
    tokenizer = Tokenizer(SALT)
    assert tokenizer.mask(b"a", b"password") == b"***TOKEN_PASSWORD_ABC123***"
    assert tokenizer.mask(b"b", b"password") == b"***TOKEN_PASSWORD_ABC123_1***"
    assert tokenizer.mask(b"c", b"password") == b"***TOKEN_PASSWORD_ABC123_2***"
    assert tokenizer.mask(b"b", b"password") == b"***TOKEN_PASSWORD_ABC123_1***"
    assert all(TOKEN.fullmatch(token.encode()) for token in tokenizer.tokens)


def test_masks_and_tokens_are_never_tokenized_again_and_a_token_inside_a_value_is_read_back() -> None:
    tokenizer = Tokenizer(SALT)
    token = tokenizer.mask(b"hunter2", b"password")
    assert tokenizer.mask(token, b"password") == token
    assert tokenizer.mask(MASK, b"password") == MASK
    assert tokenizer.mask(b"", b"password") == MASK
    wrapped = tokenizer.mask(b"user:" + token, b"value ")
    assert tokenizer.tokens[wrapped.decode()].value == b"user:hunter2"


def test_the_runs_own_credentials_stay_hidden_and_out_of_the_map() -> None:
    tokenizer = Tokenizer(SALT, hidden=[b"upload-cred-123"])
    assert tokenizer.mask(b"upload-cred-123", b"password") == MASK
    assert tokenizer.mask(b"Bearer upload-cred-123", b"token") == MASK
    assert tokenizer.tokens == {}


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=32))
def test_every_token_has_troubleshoots_format(value: bytes, context: bytes) -> None:
    token = Tokenizer(SALT).mask(value, context)
    assert token == MASK or TOKEN.fullmatch(token), token


def test_without_a_masker_the_rules_mask_as_before_and_with_one_they_tokenize(tmp_path: Path) -> None:
    assert masked(b"x", b"password") == MASK
    with using(Hidden()):
        assert masked(b"x", b"password") == MASK
    log = tmp_path / "app.log"
    text = (b"DB_PASSWORD=hunter2\n"
            b"retry with password=hunter2 and api_key: k-77\n"
            b"Authorization: Bearer abc.def\n"
            b"postgres://admin:pg-pw@127.0.0.1/app\n"
            b"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n")
    log.write_bytes(text)
    tokenizer = Tokenizer(SALT)
    report = redact_tree(tmp_path, masker=tokenizer)
    redacted = log.read_bytes()
    for secret in (b"hunter2", b"k-77", b"abc.def", b"pg-pw", b"MIIEpAIBAAKCAQEA"):
        assert secret not in redacted
    assert b"***HIDDEN***" not in redacted
    password = tokenizer.mask(b"hunter2", b"")
    assert redacted.count(password) == 2 and password.startswith(b"***TOKEN_PASSWORD_")
    types = {entry.value: entry.type for entry in tokenizer.tokens.values()}
    assert types == {b"hunter2": "PASSWORD", b"k-77": "APIKEY", b"abc.def": "TOKEN", b"admin": "GENERIC",
                     b"pg-pw": "PASSWORD", b"MIIEpAIBAAKCAQEA": "SECRET"}
    assert report.count == 6   # counted per match as before: a URL's user and password count once
    log.write_bytes(text)
    redact_tree(tmp_path)
    assert b"***TOKEN_" not in log.read_bytes() and b"***HIDDEN***" in log.read_bytes()


def test_a_redactor_specs_mask_groups_literals_and_yaml_paths_tokenize(tmp_path: Path) -> None:
    spec = tmp_path / "redactor.yaml"
    spec.write_text("""
apiVersion: troubleshoot.sh/v1beta2
kind: Redactor
metadata: {name: custom}
spec:
  redactors:
    - name: literal
      removals: {values: [flamingo-42]}
    - name: regex
      removals:
        regex: [{redactor: '(?i)(secretword=)(?P<mask>\\S+)'}]
    - name: path
      fileSelector: {file: "*.yaml"}
      removals: {yamlPath: [spec.database]}
""")
    from reconciler.redact import load_redactor_specs

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "a.txt").write_bytes(b"seen flamingo-42 and secretword=ostrich\n")
    (bundle / "b.yaml").write_bytes(b"spec:\n  database: 'orders-db'\n  other: kept\n")
    tokenizer = Tokenizer(SALT)
    redact_tree(bundle, builtin=False, redactors=load_redactor_specs([str(spec)]), masker=tokenizer)
    values = {entry.value: token for token, entry in tokenizer.tokens.items()}
    assert set(values) == {b"flamingo-42", b"ostrich", b"orders-db"}
    assert (bundle / "a.txt").read_bytes() == (f"seen {values[b'flamingo-42']} and secretword="
                                               f"{values[b'ostrich']}\n").encode()
    expected = f'spec:\n  database: "{values[b"orders-db"]}"\n  other: kept\n'
    assert (bundle / "b.yaml").read_bytes() == expected.encode()
