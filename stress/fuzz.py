"""Hypothesis-driven fuzz of everything that reads what users write: the manifest loader (text, bytes and
manifest-shaped documents, valid ones then planned, serialized and scheduled), troubleshoot Redactor specs
(loaded, their Go regexes and globs translated, then run over a small bundle), SupportBundle specs
(collectors and analyzers, `when` expressions placed), and redaction's own output: documents with planted
secrets at every depth must still parse to the same structure with no secret left, and planted lines must
lose their secrets. In process: 10,000 cases in all by default.

A case passes when it returns or raises one of the project's own errors (SbschedError and its subclasses,
RedactorSpecError); any other exception is a failure, reported with Hypothesis's smallest example.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from .common import Result, workdir

UTC = timezone.utc
NOW = datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC)   # a DST night in America/*

# -- strategies --------------------------------------------------------------------------------------
scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=16)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the well-formed value, sometimes anything at all."""
    return st.one_of(strategy, strategy, strategy, json_values)


CRON_TOKENS = ["*", "*/5", "0", "59", "60", "1-5", "5-1", "mon-fri", "jan", "L", "W", "#2", "?", "H", "0,30",
               "*/0", "7", "-1", "1-", "@daily", "@hourly", "@reboot", "@yearly", "99999999999999999999"]
crons = st.one_of(st.lists(st.sampled_from(CRON_TOKENS), min_size=1, max_size=7).map(" ".join),
                  st.text(alphabet="0123456789*/-,@ LW#?abcdefghijklmnopqrstuvwxyz\t", max_size=40))
zones = st.one_of(st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe",
                                   "Asia/Kathmandu", "localtime", "Factory", "../../etc/passwd", "", "UTC\x00",
                                   "Etc/GMT+14", "posixrules"]), st.text(max_size=20))
names = st.one_of(st.from_regex(r"[a-z][a-z0-9-]{0,60}[a-z0-9]", fullmatch=True), st.text(max_size=60))
urls = st.one_of(st.sampled_from(["s3://bucket/prefix/", "gs://b/", "https://example.invalid/up", "file:///tmp/x/",
                                  "ftp://x", "s3://", "http://127.0.0.1:1/", "file://", "https://u:p@h/x?Content-Type=a"]),
                 st.text(max_size=40))


def schedule_docs(spec_file: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"name": names, "cron": crons}, optional={
        "timezone": zones, "suspend": maybe(st.booleans()), "labels": maybe(st.dictionaries(st.text(max_size=8),
                                                                                             st.text(max_size=8))),
        "collect": maybe(st.fixed_dictionaries({}, optional={
            "specs": maybe(st.lists(st.sampled_from([spec_file, "missing.yaml", "/dev/null", ".", ""]), max_size=3)),
            "namespaces": maybe(st.lists(st.text(max_size=10), max_size=3)), "cluster": maybe(st.booleans()),
            "collectors": maybe(st.lists(json_values, max_size=3)),
            "hostCollectors": maybe(st.lists(st.dictionaries(st.sampled_from(["cpu", "run", "copy", "http", "x"]),
                                                             json_values, max_size=1), max_size=3))})),
        "redact": maybe(st.fixed_dictionaries({}, optional={"enabled": maybe(st.booleans()),
                                                            "redactors": maybe(st.lists(st.just(spec_file), max_size=2))})),
        "analyze": maybe(st.fixed_dictionaries({}, optional={"enabled": maybe(st.booleans()),
                                                             "analyzers": maybe(st.lists(json_values, max_size=2))})),
        "upload": maybe(st.fixed_dictionaries({"url": urls}, optional={"options": json_values,
                                                                        "credentials": json_values})),
        "policy": maybe(st.fixed_dictionaries({}, optional={
            "concurrency": maybe(st.sampled_from(["Forbid", "Allow", "Replace", "forbid"])),
            "startingDeadlineSeconds": maybe(st.none() | st.integers(-5, 10**12)),
            "timeoutSeconds": maybe(st.integers(-5, 10**12)), "retries": maybe(st.integers(-1, 101)),
            "backoffSeconds": maybe(st.floats(-1, 1e9)), "jitterSeconds": maybe(st.integers(-1, 10**9))})),
        "retention": maybe(st.dictionaries(st.sampled_from(["keepLast", "keepFailed", "maxAgeDays", "x"]),
                                           st.integers(-3, 10**6), max_size=3)),
        "notify": maybe(st.lists(st.fixed_dictionaries({"webhook": urls}, optional={
            "on": maybe(st.lists(st.sampled_from(["failure", "success", "recovered", "x"]), max_size=3))}), max_size=2)),
        "extra": json_values})


def manifests(spec_file: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "apiVersion": maybe(st.just("sbsched/v1")), "kind": maybe(st.just("ScheduleSet")),
        "metadata": maybe(st.fixed_dictionaries({"name": names})),
        "schedules": maybe(st.lists(schedule_docs(spec_file), max_size=4))},
        optional={"defaults": maybe(st.fixed_dictionaries({}, optional={"timezone": zones, "policy": json_values})),
                  "extra": json_values})


GO_REGEX_BITS = ["(?P<mask>", "(?<mask>", "(?P<drop>", ")", "(", "\\Q", "\\E", "\\z", "[\\w\\S-_]", "(?i)", "\\",
                 "[", "]", "{2,}", "\\p{L}", ".*", "+", "?", "|", "^", "$", "\\d", "a", "password", "=", "\\s"]
go_regexes = st.one_of(st.lists(st.sampled_from(GO_REGEX_BITS), max_size=8).map("".join), st.text(max_size=20))
globs = st.one_of(st.lists(st.sampled_from(["*", "**", "?", "[a-z]", "[!x]", "{a,b}", "\\", "/", "x", "{", "[", "."]),
                           max_size=6).map("".join), st.text(max_size=12))
redactor_items = st.fixed_dictionaries({"name": maybe(st.text(max_size=10))}, optional={
    "fileSelector": maybe(st.fixed_dictionaries({}, optional={"file": maybe(globs),
                                                              "files": maybe(st.lists(globs, max_size=3))})),
    "removals": maybe(st.fixed_dictionaries({}, optional={
        "values": maybe(st.lists(st.text(max_size=10), max_size=3)),
        "regex": maybe(st.lists(st.fixed_dictionaries({}, optional={"redactor": maybe(go_regexes),
                                                                    "selector": maybe(go_regexes)}), max_size=3)),
        "yamlPath": maybe(st.lists(st.lists(st.sampled_from(["a", "b", "*", "0", "env", "value"]), min_size=1,
                                            max_size=4).map(".".join), max_size=2))}))})
redactor_docs = st.fixed_dictionaries({
    "apiVersion": maybe(st.sampled_from(["troubleshoot.sh/v1beta2", "troubleshoot.replicated.com/v1beta1"])),
    "kind": maybe(st.just("Redactor")), "metadata": json_values,
    "spec": maybe(st.fixed_dictionaries({"redactors": maybe(st.lists(redactor_items, max_size=3))}))})

WHENS = ["< 1.20.0", ">= 3", "== 1", "!= x", "> 5Gi", "<", "", ">= 1.2.3.4", "count() > 1", "true", "1.16.0",
         "< 99999999999999999999", ">= -1", "= 1", "ready", "<= 1e400"]
outcomes = st.lists(st.dictionaries(st.sampled_from(["fail", "warn", "pass", "x"]), maybe(st.fixed_dictionaries(
    {}, optional={"when": maybe(st.one_of(st.sampled_from(WHENS), st.text(max_size=15))),
                  "message": maybe(st.text(max_size=15)), "uri": st.text(max_size=5)})), max_size=1), max_size=3)
ANALYZER_KINDS = ["clusterVersion", "nodeResources", "deploymentStatus", "textAnalyze", "storageClass", "distribution",
                  "customResourceDefinition", "containerRuntime", "jsonCompare", "yamlCompare", "cephStatus", "x"]
analyzers = st.lists(st.dictionaries(st.sampled_from(ANALYZER_KINDS), maybe(st.fixed_dictionaries(
    {}, optional={"outcomes": maybe(outcomes), "checkName": st.text(max_size=8), "fileName": st.text(max_size=8),
                  "regex": maybe(go_regexes), "filters": json_values, "path": st.text(max_size=8),
                  "value": json_values, "exclude": maybe(st.booleans())})), max_size=1), max_size=3)
COLLECTOR_KINDS = ["clusterInfo", "clusterResources", "logs", "run", "copy", "exec", "data", "secret", "configMap",
                   "http", "cpu", "memory", "hostOS", "diskUsage", "journald", "tcpPortStatus", "x"]
support_bundle_docs = st.fixed_dictionaries({
    "apiVersion": maybe(st.just("troubleshoot.sh/v1beta2")),
    "kind": maybe(st.sampled_from(["SupportBundle", "Collector", "HostCollector", "Analyzer", "Preflight"])),
    "metadata": json_values, "spec": maybe(st.fixed_dictionaries({}, optional={
        "collectors": maybe(st.lists(st.dictionaries(st.sampled_from(COLLECTOR_KINDS), json_values, max_size=1),
                                     max_size=4)),
        "hostCollectors": maybe(st.lists(st.dictionaries(st.sampled_from(COLLECTOR_KINDS), json_values, max_size=1),
                                         max_size=3)),
        "analyzers": maybe(analyzers), "hostAnalyzers": maybe(analyzers)}))})


# -- redaction's own output: documents that must stay documents, secrets that must not survive ------------
SECRET_NAMES = ["password", "DB_PASSWORD", "apiKey", "client_secret", "token", "aws_secret_access_key", "passwords",
                "privateKey", "Authorization", "Set-Cookie"]
PLAIN_NAMES = ["name", "value", "keepLast", "tokenizer", "passwordPolicy", "secretName", "key", "authorization",
               "data", "", "a b", 'q"uote', "x:y", "-", "#", "env"]
TRICKY = ['say "hi"', "back\\slash", "colon: here", "{", "[1, 2", "line\nbreak", "***HIDDEN***", "password=plain",
          "- dash", "yes", "null", "", " ", "é", "\t", "&anchor", "*alias", "%", "@at", "`tick`"]
planted_serial = iter(range(10**9))


def planted_secrets() -> st.SearchStrategy[str]:
    """`Zf<n>k`, unique, sometimes followed by characters a serializer must escape."""
    return st.builds(lambda tail: f"Zf{next(planted_serial)}k{tail}", st.sampled_from(["", '"', "\\", ":", "/+=", "'"]))


def planted_documents() -> st.SearchStrategy[Any]:
    """JSON-like documents whose secret-named keys hold planted secrets (or lists of them) at every depth, in
    objects, in arrays and in strings that hold JSON documents themselves."""
    leaves = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12), st.integers(-9, 10**9), st.booleans(),
                       st.none(), st.floats(allow_nan=False, allow_infinity=False))

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        secret = st.tuples(st.sampled_from(SECRET_NAMES),
                           st.one_of(planted_secrets(), st.lists(planted_secrets(), min_size=1, max_size=3)))
        plain = st.tuples(st.sampled_from(PLAIN_NAMES), inner)
        mapping = st.lists(st.one_of(secret, plain), max_size=5).map(dict)
        return st.one_of(mapping, st.lists(inner, max_size=4), mapping.map(json.dumps))
    return st.recursive(leaves, extend, max_leaves=30).filter(lambda d: isinstance(d, (dict, list)))


SERIALIZERS: dict[str, Callable[[Any, int], str]] = {
    "compact.json": lambda d, width: json.dumps(d, ensure_ascii=width % 2 == 0),
    "indented.json": lambda d, width: json.dumps(d, indent=2),
    "block.yaml": lambda d, width: yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=width),
    "flow.yaml": lambda d, width: yaml.safe_dump(d, sort_keys=False, default_flow_style=True, width=width),
}
LINE_SHAPES = ["DB_PASSWORD={s}", "password: {s}", '"token": "{s}"', "--password {s}", "curl -u admin:{s} http://h",
               "Authorization: Bearer {s}", "Cookie: a={s}; b={s}", "postgres://u:{s}@db/x", "msg=\"password={s}\"",
               "{{\"name\":\"API_TOKEN\",\"value\":\"{s}\"}}", "passwords: [{s}, {s}]", "client_secret = '{s}'"]
secret_words = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@+/=-]{5,20}", fullmatch=True)


def skeleton(document: Any) -> list[tuple[str, str]]:
    """Every node's path and kind; a scalar's kind is "scalar" whatever its type: what redaction keeps."""
    out: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [("$", document)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            out.append((path, "map:" + json.dumps([str(k) for k in node])))
            stack += [(f"{path}.{json.dumps(str(k))}", v) for k, v in node.items()]
        elif isinstance(node, list):
            out.append((path, f"list:{len(node)}"))
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(node)]
        else:
            out.append((path, "scalar"))
    return out


def wrapped(doc_strategy: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[str]:
    """A spec as YAML text: plain, two documents, or wrapped in a ConfigMap as troubleshoot allows."""
    def render(doc: dict[str, Any], how: int) -> str:
        text = yaml.safe_dump(doc, allow_unicode=True)
        if how == 1:
            return text + "---\n" + text
        if how == 2:
            return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"},
                                   "data": {"spec.yaml": text}}, allow_unicode=True)
        return text
    return st.builds(render, doc_strategy, st.integers(0, 2))


# -- the cases ---------------------------------------------------------------------------------------
class Fuzz:
    def __init__(self) -> None:
        self.dir = workdir("fuzz")
        self.manifest = self.dir / "schedules.yaml"
        self.spec = self.dir / "spec.yaml"
        self.bundle = self.dir / "bundle" / "support-bundle"
        self.counts: dict[str, int] = {}

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    @staticmethod
    def allowed() -> tuple[type[BaseException], ...]:
        from reconciler.base.errors import SbschedError
        from reconciler.redact import RedactorSpecError

        return (SbschedError, RedactorSpecError)

    def load_manifest_text(self, data: bytes) -> None:
        from reconciler.manifest.load import load_manifest

        self.manifest.write_bytes(data)
        try:
            result = load_manifest(str(self.manifest))
        except self.allowed():
            return
        if result.manifest is not None:
            self.plan(result.manifest)
        for diagnostic in result.diagnostics:
            diagnostic.format()

    def plan(self, manifest: Any) -> None:
        """A valid manifest all the way: plan, next state, serialized state, and each schedule's next slot."""
        from reconciler.plan.transitions import next_state, plan_against
        from reconciler.store.state import empty_state, serialize
        from reconciler.timing import decisions

        try:
            plan = plan_against(empty_state(), manifest, allow_empty=True)
        except self.allowed():
            return
        json.dumps(plan.to_json())
        state = next_state(empty_state(), plan, NOW)
        state = json.loads(serialize(state))
        for name, record in state["schedules"].items():
            decisions.decide(name, record, NOW)
            decisions.decide(name, record, datetime(2026, 11, 1, 6, 30, tzinfo=UTC))

    def redactor(self, text: str, sample: str) -> None:
        from reconciler.redact import load_redactor_specs, redact_tree

        self.spec.write_text(text, encoding="utf-8")
        try:
            redactors = load_redactor_specs([str(self.spec)])
        except self.allowed():
            return
        self.bundle.mkdir(parents=True, exist_ok=True)
        (self.bundle / "out.txt").write_text(f"password=hunter2\n{sample}\nAKIAABCDEFGHIJKLMNOP\n", encoding="utf-8")
        (self.bundle / "obj.yaml").write_text(yaml.safe_dump({"a": {"b": sample, "env": [{"name": "TOKEN",
                                                                                          "value": sample}]}}))
        redact_tree(self.bundle, builtin=True, redactors=redactors)

    def redaction_documents(self, document: Any, width: int) -> None:
        """Each serialization redacted: it must still parse, to the same skeleton, with no planted secret left."""
        from reconciler.redact import redact_tree

        root = self.dir / "redact-docs"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        for name, serialize in SERIALIZERS.items():
            (root / name).write_text(serialize(document, width), encoding="utf-8")
        redact_tree(root)
        planted = {word.split("k", 1)[0] for text in [json.dumps(document)] for word in text.split("Zf")[1:]}
        for name in SERIALIZERS:
            text = (root / name).read_text(encoding="utf-8")
            try:
                after = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
            except (ValueError, yaml.YAMLError) as exc:
                self.count("corrupted")
                raise AssertionError(f"corrupted {name}: {exc}") from None
            if skeleton(after) != skeleton(document):
                self.count("corrupted")
                raise AssertionError(f"{name} changed its structure")
            leaked = sorted(f"Zf{n}k" for n in planted if f"Zf{n}k" in text)
            if leaked:
                self.count("leaked")
                raise AssertionError(f"{name} leaked {leaked}")

    def redaction_lines(self, shapes: list[tuple[int, str]], noise: str) -> None:
        """Planted shapes on lines of noise, in a log: every secret masked."""
        from reconciler.redact import redact_tree

        root = self.dir / "redact-lines"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        secrets = [f"Zf{next(planted_serial)}k{word}" for _ in shapes for word in ["x"]]
        lines = [LINE_SHAPES[i % len(LINE_SHAPES)].format(s=secret) + suffix
                 for (i, suffix), secret in zip(shapes, secrets)]
        (root / "app.log").write_text("\n".join(f"{noise} {line}" for line in lines) + "\n", encoding="utf-8")
        redact_tree(root)
        text = (root / "app.log").read_text(encoding="utf-8")
        leaked = [secret for secret in secrets if secret in text]
        if leaked:
            self.count("leaked")
            raise AssertionError(f"leaked {leaked} from {lines}")

    def support_bundle(self, text: str) -> None:
        from reconciler.analyze import load_analyzers
        from reconciler.analyze.diagnostics import when_diagnostics
        from reconciler.collect import spec as collect_spec
        from reconciler.troubleshoot import specfiles
        from reconciler.troubleshoot.reader import check_file

        self.spec.write_text(text, encoding="utf-8")
        path = str(self.spec)
        check_file(path, specfiles.COLLECT_KINDS)
        for call in (lambda: collect_spec.load([path]), lambda: load_analyzers([path], strict=False),
                     lambda: load_analyzers([path], strict=True), lambda: when_diagnostics(path)):
            try:
                call()
            except self.allowed():
                pass


def _runner(fuzz: Fuzz, name: str, examples: int, run_seed: int,
            body: Callable[..., None], *strategies: st.SearchStrategy[Any]) -> tuple[int, str | None]:
    before = fuzz.counts.get(name, 0)

    @seed(run_seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(st.tuples(*strategies))
    def case(args: tuple[Any, ...]) -> None:
        fuzz.count(name)
        body(*args)

    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            case()
    except Exception as exc:  # Hypothesis re-raises the smallest failing example's exception
        frames = traceback.extract_tb(exc.__traceback__)
        where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames)
                      if "/reconciler/" in f.filename), "?")
        example = " ".join((captured.getvalue() + " ".join(getattr(exc, "__notes__", []))).split())[:1500]
        return (fuzz.counts.get(name, 0) - before,
                f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]} at {where} | {example}")
    return fuzz.counts.get(name, 0) - before, None


def run(run_seed: int = 1, *, total: int = 10_000) -> Result:
    result = Result("fuzz (hypothesis)")
    started = time.monotonic()
    fuzz = Fuzz()
    spec_file = "spec.yaml"

    def manifest_doc(doc: dict[str, Any]) -> None:
        fuzz.spec.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nmetadata: {name: s}\n"
                             "spec: {collectors: [], analyzers: [{clusterVersion: {outcomes: [{pass: {message: ok}}]}}]}\n")
        fuzz.load_manifest_text(yaml.safe_dump(doc, allow_unicode=True).encode("utf-8"))

    plan = [  # (name, share of the total, body, strategies)
        ("manifest: shaped documents", 0.25, manifest_doc, (manifests(spec_file),)),
        ("manifest: YAML of any data", 0.08, lambda d: fuzz.load_manifest_text(
            yaml.safe_dump(d, allow_unicode=True).encode("utf-8")), (json_values,)),
        ("manifest: any text", 0.08, lambda t: fuzz.load_manifest_text(t.encode("utf-8", "surrogatepass")),
         (st.text(max_size=300),)),
        ("manifest: any bytes", 0.04, fuzz.load_manifest_text, (st.binary(max_size=300),)),
        ("Redactor specs (loaded, then run)", 0.20, fuzz.redactor, (wrapped(redactor_docs), st.text(max_size=40))),
        ("Redactor: any text", 0.05, lambda t: fuzz.redactor(t, "x"), (st.text(max_size=200),)),
        ("SupportBundle specs (collectors, analyzers)", 0.15, fuzz.support_bundle, (wrapped(support_bundle_docs),)),
        ("SupportBundle: any text", 0.05, fuzz.support_bundle, (st.text(max_size=200),)),
        ("redaction: documents (corrupted? leaked?)", 0.06, fuzz.redaction_documents,
         (planted_documents(), st.integers(20, 200))),
        ("redaction: planted lines (leaked?)", 0.04, fuzz.redaction_lines,
         (st.lists(st.tuples(st.integers(0, 99), st.sampled_from(["", " tail", ";", ",", '"', "\r"])), min_size=1,
                   max_size=6), st.sampled_from(["", "2026-12-06T10:00:00Z level=info", '{"msg":', "- ", "  "]))),
    ]
    for name, share, body, strategies in plan:
        examples = max(1, round(total * share))
        ran, failure = _runner(fuzz, name, examples, run_seed, body, *strategies)
        result.trials += ran
        result.details[name] = ran
        if failure:
            result.fail(failure)
    result.details["redaction: corrupted documents"] = fuzz.counts.get("corrupted", 0)
    result.details["redaction: leaked secrets"] = fuzz.counts.get("leaked", 0)
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    outcome = run(int(os.environ.get("STRESS_SEED", "1")), total=int(os.environ.get("STRESS_FUZZ", "10000")))
    print(json.dumps(outcome.to_json(), indent=2))
