"""`redact: {tokenize: true}` end to end (issue 18): real `sbsched run`s of `run` host collectors that print
planted secrets. The bundle holds tokens, one per value; the token map stays on the host (0600, age-encrypted
with the schedule's recipients) and goes with its run; `redaction-map` and `history ID` show it."""
from __future__ import annotations

import json
import re
import stat
import tarfile
from pathlib import Path

import pyrage
import pytest
import yaml

from .test_run import manifest

PASSWORD = "hunter2-tok"
API_KEY = "k-0451-abcd"
TOKEN = re.compile(r"\*\*\*TOKEN_[A-Z]+_[0-9A-F]{6}(?:_\d+)?\*\*\*")
COLLECTORS = (f'[{{run: {{collectorName: app, command: sh, args: ["-c", "echo first line; '
              f'echo DB_PASSWORD={PASSWORD}; echo api_key: {API_KEY}"]}}}}, '
              f'{{run: {{collectorName: again, command: sh, args: ["-c", "echo retry with password={PASSWORD}"]}}}}]')


def schedule(name: str, *, redact: str = "{tokenize: true}", extra: str = "") -> str:
    return f"""          - name: {name}
            cron: "@daily"
            redact: {redact}
            collect: {{hostCollectors: {COLLECTORS}}}{extra}
"""


def files_of(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/")[0]
        return {m.name.removeprefix(top + "/"): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def run(cli, name: str) -> dict:
    result = cli("run", name, "-o", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def token_of(text: bytes, after: bytes) -> str:
    match = re.search(re.escape(after) + rb'"?(\*\*\*TOKEN_[A-Z]+_[0-9A-F]{6}(?:_\d+)?\*\*\*)', text)
    assert match, text
    return match[1].decode()


def test_a_tokenized_run_has_one_token_per_secret_in_the_bundle_and_the_map_only_on_the_host(cli, write_manifest,
                                                                                             state_dir):
    assert cli("apply", "-f", str(manifest(write_manifest, schedule("tok")))).code == 0
    record = run(cli, "tok")
    files = files_of(Path(record["bundle"]["path"]))
    blob = b"\n".join(files.values())
    assert PASSWORD.encode() not in blob and API_KEY.encode() not in blob
    app, again = files["host-collectors/run-host/app.txt"], files["host-collectors/run-host/again.txt"]
    password = token_of(app, b"DB_PASSWORD=")
    assert password.startswith("***TOKEN_PASSWORD_") and token_of(again, b"password=") == password
    api_key = token_of(app, b"api_key: ")
    assert api_key.startswith("***TOKEN_APIKEY_") and b"***HIDDEN***" not in app
    assert not any("redaction" in name for name in files)

    tokens = record["redaction"]["tokens"]
    map_file = state_dir / "redaction-maps" / f"{record['id']}.json"
    assert tokens["scope"] == "run" and tokens["unique"] == 2 and tokens["map"] == str(map_file)
    assert set(tokens["byType"]) == {"PASSWORD", "APIKEY"} and tokens["byType"]["PASSWORD"] >= 2
    assert stat.S_IMODE(map_file.stat().st_mode) == 0o600 and stat.S_IMODE(map_file.parent.stat().st_mode) == 0o700
    document = json.loads(map_file.read_text())
    assert document["executionId"] == record["id"] and document["schedule"] == "tok"
    entry = document["tokens"][password]
    assert entry["type"] == "PASSWORD" and entry["value"] == PASSWORD
    assert {"file": "host-collectors/run-host/app.txt", "line": 2} in entry["locations"]
    assert {"file": "host-collectors/run-host/again.txt", "line": 1} in entry["locations"]
    assert entry["occurrences"] == len(entry["locations"]) >= 2
    assert {"file": "host-collectors/run-host/app.txt", "line": 3} in document["tokens"][api_key]["locations"]
    stored = next((state_dir / "executions").glob(f"*/{record['id']}.json")).read_text()
    assert PASSWORD not in stored and API_KEY not in stored    # the record counts, the map holds the values

    shown = cli("history", record["id"])
    assert shown.code == 0 and record["id"] in shown.out, shown.err
    assert re.search(r"Tokens:\s+2 secret\(s\), \d+ value\(s\): APIKEY \d+, PASSWORD \d+", shown.out), shown.out
    assert f"sbsched redaction-map {record['id']}" in shown.out and PASSWORD not in shown.out
    listed = json.loads(cli("history", record["id"], "-o", "json").out)
    assert listed["items"][0]["redaction"]["tokens"] == tokens

    text = cli("redaction-map", record["id"])
    assert text.code == 0 and password in text.out and PASSWORD in text.out and "(+3 more)" in text.out
    detail = cli("redaction-map", record["id"], "--token", password)
    assert "  host-collectors/run-host/app.txt:2\n" in detail.out and "Occurrences: 4\n" in detail.out
    assert json.loads(cli("redaction-map", record["id"], "-o", "json").out) == document
    one = cli("redaction-map", record["id"], "--token", password, "-o", "json")
    assert one.code == 0 and json.loads(one.out) == {"token": password, **entry}
    strict = cli("--strict-permissions", "list")
    assert strict.code == 0 and strict.err == "", strict.err    # the new names are in the state layout


def test_run_scope_draws_a_new_salt_each_run_and_schedule_scope_keeps_one(cli, write_manifest, state_dir):
    body = schedule("per-run", redact="{tokenize: true, tokenScope: run}") + \
        schedule("per-schedule", redact="{tokenize: true, tokenScope: schedule}")
    assert cli("apply", "-f", str(manifest(write_manifest, body))).code == 0

    def password_token(name: str) -> str:
        files = files_of(Path(run(cli, name)["bundle"]["path"]))
        return token_of(files["host-collectors/run-host/app.txt"], b"DB_PASSWORD=")

    assert password_token("per-run") != password_token("per-run")
    first = password_token("per-schedule")
    assert password_token("per-schedule") == first
    salt = state_dir / "redaction-salts" / "per-schedule"
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600 and re.fullmatch(r"[0-9a-f]{64}\n", salt.read_text())
    assert [p.name for p in salt.parent.iterdir()] == ["per-schedule"]
    strict = cli("--strict-permissions", "list")
    assert strict.code == 0 and strict.err == "", strict.err    # salts are in the state layout too
    salt.write_text("not a salt\n")
    failed = cli("run", "per-schedule", "-o", "json")
    assert failed.code == 1 and "is not a salt" in json.loads(failed.out)["error"]["message"]


def test_retention_and_cleanup_remove_a_runs_map_with_it(cli, write_manifest, state_dir):
    keep_one = "\n            retention: {keepLast: 1, keepFailed: 0, maxAgeDays: 0}"
    path = manifest(write_manifest, schedule("tok", extra=keep_one))
    assert cli("apply", "-f", str(path)).code == 0
    first, second = run(cli, "tok"), run(cli, "tok")
    maps = state_dir / "redaction-maps"
    assert sorted(p.name for p in maps.iterdir()) == [f"{second['id']}.json"]
    assert first["id"] != second["id"]

    path.write_text(path.read_text().replace("keepLast: 1", "keepLast: 0"))
    assert cli("apply", "-f", str(path)).code == 0
    cleaned = cli("cleanup", "-o", "json")
    assert cleaned.code == 0, cleaned.err
    assert json.loads(cleaned.out)["items"][0]["redactionMap"] == str(maps / f"{second['id']}.json")
    assert list(maps.iterdir()) == []
    gone = cli("redaction-map", second["id"])
    assert gone.code == 2 and gone.err.startswith(f"sbsched: error: no redaction map for execution {second['id']!r}")


def test_with_age_recipients_the_map_is_kept_only_encrypted(cli, write_manifest, state_dir, tmp_path):
    key = pyrage.x25519.Identity.generate()
    sealed = f'\n            encrypt: {{ageRecipients: ["{key.to_public()}"]}}'
    assert cli("apply", "-f", str(manifest(write_manifest, schedule("sealed", extra=sealed)))).code == 0
    record = run(cli, "sealed")
    encrypted = state_dir / "redaction-maps" / f"{record['id']}.json.age"
    assert record["redaction"]["tokens"]["map"] == str(encrypted)
    assert [p.name for p in encrypted.parent.iterdir()] == [encrypted.name]
    assert stat.S_IMODE(encrypted.stat().st_mode) == 0o600
    assert PASSWORD.encode() not in encrypted.read_bytes()
    document = json.loads(pyrage.decrypt(encrypted.read_bytes(), [key]))
    assert PASSWORD in {entry["value"] for entry in document["tokens"].values()}
    shown = cli("redaction-map", record["id"])
    assert shown.code == 2 and PASSWORD not in shown.out + shown.err
    assert "age-encrypted" in shown.err and f"age -d -i KEY_FILE {encrypted}" in shown.err


@pytest.mark.parametrize("args, message", [
    (["nope-20250101T0000Z"], "sbsched: error: no redaction map for execution 'nope-20250101T0000Z'"),
    (["../../etc/passwd"], "sbsched: error: no redaction map for execution '../../etc/passwd'"),
])
def test_redaction_map_refuses_an_unknown_id_in_one_line(cli, args, message):
    result = cli("redaction-map", *args)
    assert result.code == 2 and result.err.startswith(message) and "Traceback" not in result.err
    assert result.err.count("\n") <= 2    # the message and its hint


def test_redaction_map_refuses_an_unknown_token(cli, write_manifest):
    assert cli("apply", "-f", str(manifest(write_manifest, schedule("tok")))).code == 0
    record = run(cli, "tok")
    result = cli("redaction-map", record["id"], "--token", "***TOKEN_PASSWORD_000000***")
    assert result.code == 2
    assert result.err.startswith(f"sbsched: error: no token '***TOKEN_PASSWORD_000000***' in the redaction map of {record['id']}")


def test_without_tokenize_the_bundle_is_masked_and_no_map_is_written(cli, write_manifest, state_dir):
    assert cli("apply", "-f", str(manifest(write_manifest, schedule("plain", redact="{}")))).code == 0
    record = run(cli, "plain")
    app = files_of(Path(record["bundle"]["path"]))["host-collectors/run-host/app.txt"]
    assert b"DB_PASSWORD=***HIDDEN***" in app and b"***TOKEN_" not in app
    assert "tokens" not in record["redaction"] and not (state_dir / "redaction-maps").exists()


def test_create_and_modify_set_redaction_with_redact_no_redact_and_tokenize(cli, write_manifest):
    path = manifest(write_manifest, '          - {name: base, cron: "@daily"}\n')

    def redact(name: str) -> object:
        return next(s for s in yaml.safe_load(path.read_text())["schedules"] if s["name"] == name).get("redact")

    assert cli("create", "tok", "--cron", "@daily", "--tokenize", "-f", str(path)).code == 0
    assert redact("tok") == {"tokenize": True}
    assert cli("modify", "tok", "--no-redact", "-f", str(path)).code == 0
    assert redact("tok") == {"enabled": False}
    assert cli("modify", "tok", "--redact", "-f", str(path)).code == 0
    assert redact("tok") is None
    assert cli("modify", "base", "--tokenize", "-f", str(path)).code == 0
    assert redact("base") == {"tokenize": True}
    assert cli("validate", "-f", str(path)).code == 0
    before = path.read_bytes()
    both = cli("modify", "base", "--no-redact", "--tokenize", "-f", str(path))
    assert both.code == 2 and "--tokenize" in both.err and path.read_bytes() == before


def test_a_tokenizing_run_keeps_its_own_credentials_hidden_and_out_of_the_map(cli, write_manifest, sink,
                                                                               monkeypatch, state_dir):
    hook_key = "hook-4e1d0b77a2c9f3"
    monkeypatch.setenv("HOOK_KEY", hook_key)
    leaky = (f'[{{run: {{collectorName: leak, command: sh, args: ["-c", "echo password={hook_key}; '
             f'echo DB_PASSWORD={PASSWORD}"]}}}}]')
    body = f"""          - name: tok
            cron: "@daily"
            redact: {{tokenize: true}}
            collect: {{hostCollectors: {leaky}}}
            notify:
              - {{webhook: {sink.url}/hook, on: [success], headers: {{X-Hook-Key: {{env: HOOK_KEY}}}}}}
"""
    assert cli("apply", "-f", str(manifest(write_manifest, body))).code == 0
    record = run(cli, "tok")
    leak = files_of(Path(record["bundle"]["path"]))["host-collectors/run-host/leak.txt"]
    assert leak.startswith(b"password=***HIDDEN***\nDB_PASSWORD=***TOKEN_PASSWORD_")
    stored = Path(record["redaction"]["tokens"]["map"]).read_text()
    assert hook_key not in stored and PASSWORD in stored
    assert sink.wait_for(1)[0].headers["X-Hook-Key"] == hook_key
