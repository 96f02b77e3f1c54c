"""`export kubernetes` keeps secrets out of ConfigMaps (issue 17): a literal header value, a presigned
upload URL and a webhook whose path is its token are refused, each named, unless --allow-literal-secrets;
the Secret-backed form ({env: NAME} from a Secret through envFrom) is what it suggests."""
from __future__ import annotations

from pathlib import Path

LITERAL = "l1teral-h3ader-value"
HOOK_HEADER = "h00k-literal-v4lue"
SIGNATURE = "a1b2c3d4e5f6a7b8c9d0"
SLACK_TOKEN = "Xk4rT9vQ2mLp8sW1zN6bY3cJ"


def _manifest(tmp_path: Path, schedules: str) -> str:
    path = tmp_path / "m.yaml"
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: prod}\nschedules:\n" + schedules)
    return str(path)


LEAKY = f"""  - name: nightly
    cron: "0 2 * * *"
    collect: {{cluster: false}}
    upload:
      url: "https://127.0.0.1:9/b.tar.gz?X-Amz-Signature={SIGNATURE}"
      options: {{headers: {{X-Up: "{LITERAL}", X-Ref: {{env: UP_TOKEN}}}}}}
    notify:
      - webhook: https://127.0.0.1:9/services/T0001/B0002/{SLACK_TOKEN}
      - webhook: https://127.0.0.1:9/hooks/sbsched
        headers: {{X-Hook-Key: "{HOOK_HEADER}"}}
"""


def test_export_refuses_literal_secrets_naming_each_and_suggesting_a_secret(cli, tmp_path):
    result = cli("export", "kubernetes", "-f", _manifest(tmp_path, LEAKY))
    assert result.code == 1, result
    assert result.out == ""
    errors = [line for line in result.err.splitlines() if line.startswith("sbsched: error: nightly: ")]
    named = "\n".join(errors)
    assert len(errors) == 4, result.err
    for where in ("nightly: upload.options.headers.X-Up", "nightly: upload.url", "nightly: notify[0].webhook",
                  "nightly: notify[1].headers.X-Hook-Key"):
        assert where in named
    assert "X-Ref" not in named and "notify[1].webhook" not in named   # a reference, a plain path: fine
    assert "{env: NAME}" in result.err and "envFrom" in result.err and "--allow-literal-secrets" in result.err
    for value in (LITERAL, HOOK_HEADER, SIGNATURE, SLACK_TOKEN):
        assert value not in result.err


def test_allow_literal_secrets_exports_them_as_written_with_a_warning_each(cli, tmp_path):
    result = cli("export", "kubernetes", "-f", _manifest(tmp_path, LEAKY), "--allow-literal-secrets")
    assert result.code == 0, result
    assert "kind: ConfigMap" in result.out and LITERAL in result.out
    assert result.err.count("sbsched: warning: nightly: ") >= 4


def test_references_only_export_without_a_word_about_secrets(cli, tmp_path):
    clean = """  - name: nightly
    cron: "0 2 * * *"
    collect: {cluster: false}
    upload: {url: "s3://bucket/prefix/", credentials: {accessKeyId: {env: AK}, secretAccessKey: {env: SK}}}
    notify: [{webhook: "https://127.0.0.1:9/hooks/sbsched", headers: {Authorization: {env: HOOK}}}]
"""
    result = cli("export", "kubernetes", "-f", _manifest(tmp_path, clean))
    assert result.code == 0, result
    assert "literal" not in result.err


def test_apply_to_a_cluster_refuses_literal_secrets_before_it_connects(cli, tmp_path):
    result = cli("apply", "--target", "kubernetes", "-f", _manifest(tmp_path, LEAKY),
                 "--kubeconfig", str(tmp_path / "no-such-kubeconfig"))
    assert result.code == 2, result
    assert "nightly: upload.options.headers.X-Up" in result.err
    assert "kubeconfig" not in result.err.lower()
