"""The typer app: options in, one command function called, its exit code out.

This is also the one error boundary (pre-commit's shape): an SbschedError becomes its one-line message
and exit code; anything unexpected becomes one line too, with the traceback only under -v.
Reconciler modules are imported inside the commands, so `sbsched --help` stays fast.
"""
from __future__ import annotations

import enum
import logging
import sys
from typing import Annotated, Any, Optional

import click
import typer

from .options import GLOBAL

app = typer.Typer(
    name="sbsched",
    help="Declarative scheduler for Kubernetes support bundles.",
    no_args_is_help=True,
    suggest_commands=False,   # click suggests already: typer's own would say it twice
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

def output_option(*formats: str, help: str | None = None) -> Any:
    """`-o/--output`, one of `formats` (the first is the default each command gives): one option for
    every command, whatever views it has."""
    return typer.Option("-o", "--output", click_type=click.Choice(formats), help=help)


TextJson = Annotated[str, output_option("text", "json")]
TextJsonYaml = Annotated[str, output_option("text", "json", "yaml")]
TableJsonYaml = Annotated[str, output_option("table", "json", "yaml")]
ManifestOpt = Annotated[str, typer.Option("-f", "--filename", help="The ScheduleSet manifest.")]
LockTimeoutOpt = Annotated[float, typer.Option("--lock-timeout", help="Seconds to wait for the state lock.")]
AllowLiteralOpt = Annotated[Optional[bool], typer.Option(
    "--allow-literal-secrets", help="Put literal header values, presigned URLs and token webhook paths into the "
    "ConfigMaps as written (refused by default: ConfigMaps hold no secrets).")]
AllowEmptyOpt = Annotated[bool, typer.Option("--allow-empty", help="Allow an empty `schedules:` to delete the set.")]
ImageOpt = Annotated[Optional[str], typer.Option("--image", help="The runner image (default: sbsched:VERSION, "
                                                 "as `docker build -t` of this checkout tags it).")]


@app.callback()
def _global(
    state_dir: Annotated[Optional[str], typer.Option("--state-dir", envvar="TROUBLESHOOT_SCHEDULER_DIR",
                                                     help="State directory (default: ~/.troubleshoot/scheduler).")] = None,
    strict_permissions: Annotated[bool, typer.Option("--strict-permissions", envvar="SBSCHED_STRICT_PERMISSIONS",
                                                     help="Refuse (exit 2) when the state dir is not 0700 or a "
                                                          "file in it not 0600, instead of fixing them with a "
                                                          "warning.")] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More detail on errors.")] = 0,
) -> None:
    GLOBAL.state_dir = state_dir
    GLOBAL.strict_permissions = strict_permissions
    GLOBAL.verbose = verbose


def _state_dir() -> str | None:
    return GLOBAL.state_dir


@app.command()
def validate(manifest: Annotated[Optional[str], typer.Option("-f", "--filename",
                                                             help="The ScheduleSet manifest.")] = None,
             output: TextJson = "text",
             files: Annotated[Optional[list[str]], typer.Argument(help="More manifests (as pre-commit passes "
                                                                  "them).", show_default=False)] = None) -> int:
    """Check manifests offline: schema, cron, zones, names, spec files. Exit 1 when invalid."""
    from reconciler.base.errors import UsageError

    from .commands.validate import validate_files

    manifests = ([manifest] if manifest else []) + list(files or [])
    if not manifests:
        raise UsageError("validate needs a manifest: -f FILE (or FILE...)")
    return validate_files(manifests, output=output)


class Target(str, enum.Enum):
    state = "state"
    kubernetes = "kubernetes"


TargetOpt = Annotated[Target, typer.Option("--target", help="state: the state directory (the host daemon); "
                                           "kubernetes: CronJobs in the cluster (see `export kubernetes`).")]
KubeconfigOpt = Annotated[Optional[str], typer.Option("--kubeconfig", help="--target kubernetes: the kubeconfig "
                                                      "(default: KUBECONFIG, ~/.kube/config, in-cluster).")]
ContextOpt = Annotated[Optional[str], typer.Option("--context", help="--target kubernetes: the kubeconfig context.")]


def _kubernetes_only(target: Target, **given: object) -> None:
    from reconciler.base.errors import UsageError

    used = [f"--{name.replace('_', '-')}" for name, value in given.items() if value is not None]
    if target is not Target.kubernetes and used:
        raise UsageError(f"{', '.join(used)}: only with --target kubernetes")


@app.command()
def diff(manifest: ManifestOpt, output: TextJson = "text",
         allow_empty: AllowEmptyOpt = False, target: TargetOpt = Target.state, image: ImageOpt = None,
         namespace: Annotated[Optional[str], typer.Option("-n", "--namespace", help="--target kubernetes: as for "
                                                          "`export kubernetes` (default: default).")] = None,
         kubeconfig: KubeconfigOpt = None, context: ContextOpt = None,
         allow_literal_secrets: AllowLiteralOpt = None,
         out: Annotated[Optional[str], typer.Option("--out", metavar="PLAN", help="Also save the plan here, for "
                                                    "`sbsched apply PLAN` to apply exactly.")] = None,
         state: Annotated[Optional[str], typer.Option("--state", metavar="URL|PATH", help="Plan against a published "
                                                      "state mirror (config.yaml's stateMirror) instead of the "
                                                      "state dir: no lock, nothing local read or written.")] = None
         ) -> int:
    """Show the plan against the stored state (or the cluster). Exit 0 clean, 1 changes, 2 error."""
    _kubernetes_only(target, image=image, namespace=namespace, kubeconfig=kubeconfig, context=context,
                     allow_literal_secrets=allow_literal_secrets)
    if target is Target.kubernetes:
        from reconciler.base.errors import UsageError

        from .commands import kubernetes

        if out is not None or state is not None:
            raise UsageError("--out and --state: only with --target state")
        return kubernetes.diff(manifest, image=image, namespace=namespace or "default", kubeconfig=kubeconfig,
                               context=context, output=output, allow_empty=allow_empty,
                               allow_literal_secrets=bool(allow_literal_secrets))
    from .commands.diff import diff as run

    return run(manifest, state_dir=_state_dir(), output=output, allow_empty=allow_empty, state=state, out=out)


@app.command()
def apply(plan: Annotated[Optional[str], typer.Argument(metavar="[PLAN]", help="A plan saved by `diff --out`: "
                                                        "applied exactly, or refused (exit 1) when its state or "
                                                        "inputs moved.", show_default=False)] = None,
          manifest: Annotated[Optional[str], typer.Option("-f", "--filename", help="The ScheduleSet manifest (with "
                                                          "PLAN: where it is, if not where the plan says).")] = None,
          dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan, write nothing.")] = False,
          allow_empty: AllowEmptyOpt = False,
          output: TextJson = "text",
          lock_timeout: LockTimeoutOpt = 30.0, target: TargetOpt = Target.state, image: ImageOpt = None,
          namespace: Annotated[Optional[str], typer.Option("-n", "--namespace", help="--target kubernetes: as for "
                                                           "`export kubernetes` (default: default).")] = None,
          kubeconfig: KubeconfigOpt = None, context: ContextOpt = None,
          allow_literal_secrets: AllowLiteralOpt = None) -> int:
    """Write the manifest's plan into the state (or the cluster): create, update and delete this set's schedules."""
    from reconciler.base.errors import UsageError

    _kubernetes_only(target, image=image, namespace=namespace, kubeconfig=kubeconfig, context=context,
                     allow_literal_secrets=allow_literal_secrets)
    if plan is None and manifest is None:
        raise UsageError("apply needs a manifest (-f FILE) or a saved plan (PLAN, from `diff --out`)")
    if plan is not None and (target is Target.kubernetes or allow_empty):
        raise UsageError("a saved plan is applied as it is: without --target kubernetes or --allow-empty")
    if target is Target.kubernetes:
        assert manifest is not None
        from .commands import kubernetes

        return kubernetes.apply(manifest, image=image, namespace=namespace or "default", kubeconfig=kubeconfig,
                                context=context, output=output, allow_empty=allow_empty, dry_run=dry_run,
                                allow_literal_secrets=bool(allow_literal_secrets))
    from .commands.apply import apply as run

    return run(manifest or "", state_dir=_state_dir(), output=output, dry_run=dry_run, allow_empty=allow_empty,
               lock_timeout=lock_timeout, command=_command_line(), saved=plan)


class ListStatus(str, enum.Enum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"


@app.command("templates")
def templates_(manifest: ManifestOpt, output: TextJson = "text") -> int:
    """List the manifest's templates with the schedules that use each."""
    from .commands.templates import templates as run

    return run(manifest, output=output)


@app.command("list")
def list_(selector: Annotated[Optional[list[str]], typer.Option("-l", "--selector", help="key=value, key!=value, key")] = None,
          pattern: Annotated[Optional[str], typer.Option("-f", "--filter", metavar="PATTERN", help="Only names matching "
                                                         "this glob, e.g. 'nightly-*'.")] = None,
          status: Annotated[Optional[ListStatus], typer.Option("--status", help="Only schedules whose run is pending "
                                                               "(none yet), running, or whose latest run completed "
                                                               "or failed.")] = None,
          show_disabled: Annotated[bool, typer.Option("--show-disabled", help="Also list disabled (suspend: true) "
                                                      "and suspended schedules.")] = False,
          output: Annotated[str, output_option("table", "wide", "json", "yaml",
                                               help="wide adds STATUS, RUN-COUNT and DESCRIPTION.")] = "table") -> int:
    """List schedules with their next and last runs (disabled ones with --show-disabled)."""
    from .commands.list import list_schedules

    return list_schedules(state_dir=_state_dir(), selector=selector or [], output=output, pattern=pattern,
                          status=status.value if status else None, show_disabled=show_disabled)


@app.command()
def status(name: str, output: TableJsonYaml = "table") -> int:
    """One schedule: spec, status and recent runs."""
    from .commands.status import status as run

    return run(name, state_dir=_state_dir(), output=output)


@app.command("next")
def next_(name: Annotated[Optional[str], typer.Argument(help="A schedule in the state.")] = None,
          cron: Annotated[Optional[str], typer.Option("--cron", help="A cron expression instead of a schedule.")] = None,
          timezone: Annotated[Optional[str], typer.Option("--timezone", help="IANA zone for --cron (default: UTC).")] = None,
          after: Annotated[Optional[str], typer.Option("--after", help="ISO 8601 start (default: now).")] = None,
          count: Annotated[int, typer.Option("-n", "--count", min=1, max=10000, help="How many fire times.")] = 5) -> int:
    """Print the next fire times, ISO 8601 with offset, one a line."""
    from .commands.next import next_times

    return next_times(name, cron=cron, timezone=timezone, after=after, count=count, state_dir=_state_dir())


@app.command("run")
def run_(name: Annotated[Optional[str], typer.Argument(help="A schedule in the state.")] = None,
         output: TextJsonYaml = "text",
         output_dir: Annotated[Optional[str], typer.Option("--output-dir", help="Write the bundle here instead of "
                                                           "<state-dir>/bundles/<schedule>/.")] = None,
         lock_timeout: LockTimeoutOpt = 30.0,
         from_configmap: Annotated[Optional[str], typer.Option(
             "--from-configmap", metavar="NAMESPACE/NAME", help="Run the schedule held in this ConfigMap (what an "
             "exported CronJob runs), with a temporary state dir; the bundle goes to --output-dir (default: the "
             "working directory).")] = None,
         job_name: Annotated[Optional[str], typer.Option("--job-name", help="With --from-configmap: the Job's name, "
                                                         "which carries the CronJob's slot.")] = None,
         quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No live progress on a terminal (it is shown "
                                             "only when stdout and stderr are terminals): the summary only.")]
         = False,
         with_dependents: Annotated[bool, typer.Option("--with-dependents", help="Then run the schedules `after:` "
                                                       "it (and theirs), as the daemon would; -o json|yaml: "
                                                       "{items: [...]}.")] = False) -> int:
    """Run one schedule now, in the foreground; exit 0 completed, 1 failed."""
    from reconciler.base.errors import UsageError

    if (name is None) == (from_configmap is None):
        raise UsageError("run takes a schedule NAME or --from-configmap NAMESPACE/NAME (one of them)")
    if from_configmap is not None:
        from .commands.run import run_from_configmap

        if with_dependents:
            raise UsageError("--with-dependents: only with a schedule NAME (a CronJob's run has no dependents)")
        return run_from_configmap(from_configmap, output=output, output_dir=output_dir, job_name=job_name)
    if job_name is not None:
        raise UsageError("--job-name: only with --from-configmap")
    from .commands.run import run as execute

    assert name is not None
    return execute(name, state_dir=_state_dir(), output=output, output_dir=output_dir, lock_timeout=lock_timeout,
                   quiet=quiet, with_dependents=with_dependents)


@app.command()
def analyze(bundle: Annotated[str, typer.Argument(help="A support bundle .tar.gz (or its unpacked directory).")],
            spec: Annotated[Optional[list[str]], typer.Option("--spec", help="A troubleshoot spec whose analyzers "
                                                              "to run; repeatable (none: troubleshoot's default, "
                                                              "a clusterVersion check).")] = None,
            output: Annotated[str, output_option("table", "text", "json", help="table (text is the same) "
                                                          "or json (analysis.json's list).")] = "table") -> int:
    """Run troubleshoot analyzers over a bundle; exit 0 no fail outcome, 1 a fail outcome, 2 error."""
    from .commands.analyze import analyze as run

    return run(bundle, specs=spec or [], output=output)


class RunStatus(str, enum.Enum):
    completed = "completed"
    failed = "failed"
    skipped = "skipped"
    running = "running"
    retrying = "retrying"


@app.command()
def history(name: Annotated[Optional[str], typer.Argument(metavar="[NAME|EXECUTION_ID]", help="Only this schedule's "
                                                          "executions, or this one execution in full.")] = None,
            count: Annotated[int, typer.Option("--limit", "-n", "--count", min=1, help="How many, newest first.")] = 20,
            status: Annotated[Optional[RunStatus], typer.Option("--status", help="Only runs that ended so.")] = None,
            since: Annotated[Optional[str], typer.Option("--since", metavar="DURATION|DATE", help="Only runs started "
                                                         "since: 30m, 2h, 7d, 2w, or an ISO 8601 date or time.")] = None,
            logs: Annotated[bool, typer.Option("--logs", help="Also each execution's own log lines (collectors, "
                                                "redaction, analysis, upload).")] = False,
            output: TableJsonYaml = "table") -> int:
    """Executions, newest first; given an execution id, that execution in full."""
    from .commands.history import history as show

    return show(name, state_dir=_state_dir(), limit=count, output=output,
                status=status.value if status else None, since=since, logs=logs)


@app.command()
def recover(execution_id: Annotated[str, typer.Option("--execution-id", metavar="ID", help="A failed, interrupted "
                                                      "or skipped execution (`sbsched history` lists them).")],
            output: TextJsonYaml = "text",
            lock_timeout: LockTimeoutOpt = 30.0) -> int:
    """Run an execution that failed or was cut short again, now, in the foreground: a new execution recorded
    as recoveredFrom the old one. Exit 0 completed, 1 failed."""
    from .commands.recover import recover as run

    return run(execution_id, state_dir=_state_dir(), output=output, lock_timeout=lock_timeout)


@app.command("redaction-map")
def redaction_map(execution_id: Annotated[str, typer.Argument(metavar="EXECUTION_ID",
                                                              help="A run of a schedule with redact.tokenize.")],
                  token: Annotated[Optional[str], typer.Option("--token", help="Only this token, with every "
                                                               "place it was found.")] = None,
                  output: TextJson = "text") -> int:
    """A tokenizing run's token map: each token, its type, the value it stands for, where it is in the bundle."""
    from .commands.redaction_map import redaction_map as show

    return show(execution_id, state_dir=_state_dir(), token=token, output=output)


@app.command()
def check(name: Annotated[str, typer.Argument(help="A schedule in the state.")],
          output: TextJson = "text") -> int:
    """RBAC preflight: what the schedule's collectors will be denied. Exit 0 all allowed, 1 denied, 2 error."""
    from .commands.check import check as run

    return run(name, state_dir=_state_dir(), output=output)


@app.command()
def cleanup(name: Annotated[Optional[str], typer.Argument(help="Only this schedule.")] = None,
            dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would go; delete nothing.")] = False,
            force: Annotated[bool, typer.Option("--force", help="Also remove bundles whose upload failed.")] = False,
            older_than: Annotated[Optional[str], typer.Option("--older-than", metavar="DURATION", help="Also remove "
                                                              "runs older than this (30d, 12h, 2w), whatever "
                                                              "retention.maxAgeDays keeps.")] = None,
            repair: Annotated[bool, typer.Option("--repair", help="First settle runs left running by a process that "
                                                 "is gone, clear stale active lists, remove orphaned staging "
                                                 "directories and half-written files; report each fix.")] = False,
            output: TextJson = "text") -> int:
    """Apply retention now: remove old bundles and execution records (and, with --repair, crash debris)."""
    from .commands.cleanup import cleanup as run

    return run(name, state_dir=_state_dir(), dry_run=dry_run, force=force, output=output,
               command=_command_line(), older_than=older_than, repair=repair)


daemon_app = typer.Typer(help="The reconcile loop as a service.", no_args_is_help=True,
                             suggest_commands=False)
app.add_typer(daemon_app, name="daemon")
MaxConcurrentOpt = Annotated[Optional[int], typer.Option("--max-concurrent", min=1, max=256, help="Runs at once "
                                                         "(default: the config files' maxConcurrent, else 4).")]


class LogFormat(str, enum.Enum):
    text = "text"
    json = "json"
    logfmt = "logfmt"


class LogLevel(str, enum.Enum):
    debug = "debug"
    info = "info"
    warn = "warn"
    error = "error"


LogFormatOpt = Annotated[Optional[LogFormat], typer.Option("--log-format", help="Log lines as text, JSON or logfmt "
                                                           "(default: the config files' logFormat, else text).")]
LogLevelOpt = Annotated[Optional[LogLevel], typer.Option("--log-level", help="The least severe lines logged "
                                                         "(default: the config files' logLevel, else info).")]
LogFileOpt = Annotated[Optional[str], typer.Option("--log-file", metavar="PATH", help="Log here, rotated at 10 MiB "
                                                   "(default: <state-dir>/logs/daemon.log in the background, stderr "
                                                   "with --foreground).")]
CheckIntervalOpt = Annotated[Optional[str], typer.Option(
    "--check-interval", metavar="SECONDS", help="The longest the loop sleeps before it looks at the clock and the "
    "state again, in seconds or as 30s, 5m (default: the config files' checkInterval, else 60). The loop wakes for "
    "each run on time anyway: this bounds how late a jump of the wall clock is noticed.")]
ConfigOpt = Annotated[Optional[str], typer.Option("--config", metavar="PATH", help="Read the daemon's settings "
                                                  "from this file instead of <state-dir>/config.yaml (the system "
                                                  "file still applies beneath it).")]
RecoverOpt = Annotated[bool, typer.Option("--recover", help="Also run again, now, each schedule's latest run if it "
                                          "was interrupted or cancelled by a shutdown (a new run, recoveredFrom "
                                          "the old one).")]
MetricsAddrOpt = Annotated[Optional[str], typer.Option(
    "--metrics-addr", metavar="HOST:PORT", help="Serve /metrics (Prometheus), /healthz and /readyz here, e.g. "
    "127.0.0.1:9090; port 0 takes a free port (default: the config files' metricsAddr, else off).")]
GraceOpt = Annotated[Optional[float], typer.Option("--grace", min=0, help="Seconds to let active runs finish "
                                                   "(default: the config files' grace, else 60).")]


@daemon_app.command("start")
def daemon_start(foreground: Annotated[bool, typer.Option("--foreground", help="Stay attached; log to stderr "
                                                          "(systemd, containers).")] = False,
                 max_concurrent: MaxConcurrentOpt = None, log_format: LogFormatOpt = None,
                 metrics_addr: MetricsAddrOpt = None, log_level: LogLevelOpt = None, log_file: LogFileOpt = None,
                 check_interval: CheckIntervalOpt = None, config: ConfigOpt = None,
                 recover: RecoverOpt = False) -> int:
    """Start the daemon (in the background unless --foreground)."""
    from .commands.daemon import start

    return start(state_dir=_state_dir(), foreground=foreground, recover=recover,
                 flags=_daemon_flags(max_concurrent, log_format, metrics_addr, log_level=log_level,
                                     log_file=log_file, check_interval=check_interval, config=config))


def _daemon_flags(max_concurrent: int | None, log_format: LogFormat | None, metrics_addr: str | None, *,
                  log_level: LogLevel | None = None, log_file: str | None = None, check_interval: str | None = None,
                  config: str | None = None) -> dict[str, Any]:
    """The daemon settings given on the command line (None: not given; the config files or the defaults
    decide). Paths are made absolute: `daemon restart` may run from another directory."""
    import os

    return {"maxConcurrent": max_concurrent, "logFormat": log_format.value if log_format else None,
            "metricsAddr": metrics_addr, "logLevel": log_level.value if log_level else None,
            "logFile": os.path.abspath(os.path.expanduser(log_file)) if log_file else None,
            "checkInterval": check_interval,
            "config": os.path.abspath(os.path.expanduser(config)) if config else None}


@daemon_app.command("install")
def daemon_install(system: Annotated[bool, typer.Option("--system", help="The system-wide daemon (root, "
                                                        "/var/lib/sbsched or the system file's baseDir), shared "
                                                        "with the system file's allowedGroups.")] = False,
                   unit_dir: Annotated[Optional[str], typer.Option("--unit-dir", metavar="DIR", help="Write the "
                                                                   "unit here (default: /etc/systemd/system).")]
                   = None) -> int:
    """Write the systemd unit of the system-wide daemon and enable it (where systemd runs)."""
    from .commands.daemon import install

    return install(system=system, unit_dir=unit_dir)


@daemon_app.command("stop")
def daemon_stop(grace: GraceOpt = None) -> int:
    """Drain and stop the daemon; runs still active after --grace are cancelled (failed, shutdown)."""
    from .commands.daemon import stop

    return stop(state_dir=_state_dir(), grace=grace)


@daemon_app.command("restart")
def daemon_restart(grace: GraceOpt = None, max_concurrent: MaxConcurrentOpt = None, log_format: LogFormatOpt = None,
                   metrics_addr: MetricsAddrOpt = None, log_level: LogLevelOpt = None, log_file: LogFileOpt = None,
                   check_interval: CheckIntervalOpt = None, config: ConfigOpt = None,
                   recover: RecoverOpt = False) -> int:
    """Stop the daemon (as `stop`), then start it in the background with the flags it was started with
    (these flags override them) and the config files read anew."""
    from .commands.daemon import restart

    return restart(state_dir=_state_dir(), grace=grace, recover=recover,
                   flags=_daemon_flags(max_concurrent, log_format, metrics_addr, log_level=log_level,
                                       log_file=log_file, check_interval=check_interval, config=config))


@daemon_app.command("status")
def daemon_status(output: TextJsonYaml = "text",
                  watch: Annotated[bool, typer.Option("-w", "--watch", help="Refresh until interrupted (Ctrl-C), "
                                                      "CPU measured between refreshes.")] = False,
                  interval: Annotated[float, typer.Option("--interval", min=0.1, max=3600, metavar="SECONDS",
                                                          help="Seconds between refreshes with --watch.")] = 2.0,
                  iterations: Annotated[Optional[int], typer.Option("--iterations", min=1, metavar="N",
                                                                    help="Stop --watch after N refreshes.")] = None
                  ) -> int:
    """Exit 0 and describe the daemon (uptime, memory, CPU, schedules, runs) when it runs; exit 3 when it
    does not."""
    from .commands.daemon import status as show

    return show(state_dir=_state_dir(), output=output, watch=watch, interval=interval, iterations=iterations)


@daemon_app.command("reload")
def daemon_reload() -> int:
    """Ask the daemon to re-read the state now (SIGHUP)."""
    from .commands.daemon import reload

    return reload(state_dir=_state_dir())


@app.command()
def reconcile(once: Annotated[bool, typer.Option("--once", help="One pass: fire what is due, wait, exit.")] = False,
              max_concurrent: MaxConcurrentOpt = None, log_format: LogFormatOpt = None, log_level: LogLevelOpt = None,
              output: TextJsonYaml = "text") -> int:
    """Fire what is due now (and the latest missed slot per policy), wait for the runs, exit."""
    from reconciler.base.errors import UsageError

    from .commands.daemon import reconcile_once

    if not once:
        raise UsageError("reconcile runs one pass: pass --once (the long-running loop is `sbsched daemon start`)")
    return reconcile_once(state_dir=_state_dir(), flags=_daemon_flags(max_concurrent, log_format, None,
                                                                      log_level=log_level),
                          output=output)


@app.command()
def suspend(name: str, lock_timeout: LockTimeoutOpt = 30.0) -> int:
    """Pause a schedule at run time (recorded in its status)."""
    from .commands.suspend import set_suspended

    return set_suspended(name, suspended=True, state_dir=_state_dir(), lock_timeout=lock_timeout,
                         command=_command_line())


@app.command()
def resume(name: str, lock_timeout: LockTimeoutOpt = 30.0) -> int:
    """Resume a suspended schedule from now: slots that passed while suspended never run."""
    from .commands.suspend import set_suspended

    return set_suspended(name, suspended=False, state_dir=_state_dir(), lock_timeout=lock_timeout,
                         command=_command_line())


export_app = typer.Typer(help="Render the manifest for another engine.", no_args_is_help=True,
                             suggest_commands=False)
app.add_typer(export_app, name="export")


NamespaceOpt = Annotated[str, typer.Option("-n", "--namespace", help="Namespace of the CronJobs, ConfigMaps "
                                           "and ServiceAccount.")]


@export_app.command("kubernetes")
def export_kubernetes(manifest: ManifestOpt, image: ImageOpt = None, namespace: NamespaceOpt = "default",
                      output: Annotated[str, output_option("yaml", "json")] = "yaml",
                      allow_literal_secrets: AllowLiteralOpt = None) -> int:
    """CronJobs (one per schedule), their ConfigMaps, a ServiceAccount and its RBAC, as YAML. Exit 1 when the
    manifest holds a secret literally (each is named), unless --allow-literal-secrets."""
    from .commands.export import export_kubernetes as run

    return run(manifest, image=image, namespace=namespace, output=output,
               allow_literal_secrets=bool(allow_literal_secrets))


# -- imperative verbs: they edit the manifest file (ruamel round-trip), then show or apply its plan ----------
EditFileOpt = Annotated[str, typer.Option("-f", "--filename", help="The manifest to edit.")]
EditCronOpt = Annotated[Optional[str], typer.Option("-c", "--cron", help="Cron expression (5 fields or a macro).")]
EditZoneOpt = Annotated[Optional[str], typer.Option("-z", "--timezone", help="IANA zone of the cron expression.")]
EditEnabledOpt = Annotated[Optional[str], typer.Option("-e", "--enabled", click_type=click.BOOL, metavar="BOOL",
                                                       help="false: `suspend: true` (troubleshoot's --enabled=false); "
                                                            "true: `suspend: false`.")]
EditNamespacesOpt = Annotated[Optional[list[str]], typer.Option(
    "-n", "--namespace", help="collect.namespaces; repeatable or comma-separated; replaces the list ('' empties it).")]
EditSpecsOpt = Annotated[Optional[list[str]], typer.Option(
    "-s", "--spec", help="collect.specs (troubleshoot spec files); repeatable or comma-separated; replaces the list "
    "('' empties it).")]
EditAutoOpt = Annotated[bool, typer.Option("--auto", help="collect.auto: troubleshoot's auto-discovery at each "
                                           "run, of what the credentials may read in the schedule's namespaces.")]
EditUploadOpt = Annotated[Optional[str], typer.Option("--upload", help="upload.url: s3:// gs:// https:// file:// "
                                                      "('' removes the upload; create --upload enabled: the "
                                                      "configured default upload).")]
EditUploadOptionsOpt = Annotated[Optional[list[str]], typer.Option(
    "--upload-options", metavar="KEY=VALUE,...", help="upload.options and upload.credentials: region, sse, endpoint, "
    "storage-class, profile (s3); method, content-type, auth=bearer, header.NAME (https); secrets only as "
    "references: token-env=NAME, token-file=PATH, secret-access-key-env=NAME...; repeatable.")]
EditUploadCredentialsOpt = Annotated[Optional[str], typer.Option(
    "--upload-credentials", metavar="PATH|ENVVAR", help="A reference to the upload's secret: a gs:// service-account "
    "key file, an https:// bearer token's file or environment variable.")]
EditRedactOpt = Annotated[Optional[bool], typer.Option("--redact/--no-redact", help="redact.enabled: mask secrets "
                                                       "as ***HIDDEN*** (tokenization off), or redact nothing.")]
EditTokenizeOpt = Annotated[bool, typer.Option("--tokenize", help="redact.tokenize: replace secrets with tokens "
                                               "(***TOKEN_<TYPE>_<HEX>***), the token map kept on this host.")]
EditAnalyzeOpt = Annotated[Optional[bool], typer.Option("--analyze/--no-analyze", help="analyze.enabled: run the "
                                                        "specs' analyzers over each bundle, or not.")]
EditDescriptionOpt = Annotated[Optional[str], typer.Option("-d", "--description", help="What the schedule is for "
                                                           "('' removes it).")]
EditLabelsOpt = Annotated[Optional[list[str]], typer.Option("--labels", metavar="KEY=VALUE,...",
                                                            help="labels to set; repeatable.")]
EditApplyOpt = Annotated[bool, typer.Option("--apply", help="Apply the edited manifest to the state too.")]
EditDryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the file's diff and the plan; write nothing.")]
EditOutputOpt = Annotated[str, output_option("text", "json", help="The plan as text or JSON.")]


def _edit_options(manifest: str, output: str, apply_: bool, dry_run: bool, lock_timeout: float, *,
                  set_name: str | None = None, allow_empty: bool = False) -> Any:
    from .commands.edit import EditOptions

    return EditOptions(manifest, _state_dir(), output=output, apply=apply_, dry_run=dry_run,
                       lock_timeout=lock_timeout, command=_command_line(), set_name=set_name, allow_empty=allow_empty)


@app.command()
def create(name: str, cron: Annotated[str, typer.Option("-c", "--cron", help="Cron expression (5 fields or a "
                                                        "macro).")],
           timezone: EditZoneOpt = None, enabled: EditEnabledOpt = None, namespace: EditNamespacesOpt = None,
           spec: EditSpecsOpt = None, auto: EditAutoOpt = False, redact: EditRedactOpt = None,
           tokenize: EditTokenizeOpt = False, analyze: EditAnalyzeOpt = None, upload: EditUploadOpt = None,
           upload_options: EditUploadOptionsOpt = None, upload_credentials: EditUploadCredentialsOpt = None,
           description: EditDescriptionOpt = None, labels: EditLabelsOpt = None, manifest: EditFileOpt = "schedules.yaml",
           template: Annotated[Optional[str], typer.Option("-t", "--template", help="Start from a template of the "
                                                           "manifest's `templates:` (its fields under the "
                                                           "schedule's own).")] = None,
           set_name: Annotated[Optional[str], typer.Option("--set", help="metadata.name of a new file (default: its "
                                                           "directory's name).")] = None,
           apply_: EditApplyOpt = False, dry_run: EditDryRunOpt = False,
           output: EditOutputOpt = "text", lock_timeout: LockTimeoutOpt = 30.0) -> int:
    """Add a schedule to the manifest (starting the file if it is missing), show the plan and its next run."""
    from .commands.edit import Fields, create as run, redaction_mode

    fields = Fields(cron=cron, timezone=timezone or None, namespaces=namespace, specs=spec, upload=upload or None,
                    redaction=redaction_mode(redact, tokenize), enabled=_flag(enabled), auto=auto, analyze=analyze,
                    upload_options=upload_options, upload_credentials=upload_credentials,
                    description=description or None, labels=labels, template=template)
    return run(name, fields=fields,
               options=_edit_options(manifest, output, apply_, dry_run, lock_timeout, set_name=set_name))


@app.command()
def modify(name: str, cron: EditCronOpt = None, timezone: EditZoneOpt = None, enabled: EditEnabledOpt = None,
           namespace: EditNamespacesOpt = None, spec: EditSpecsOpt = None, auto: EditAutoOpt = False,
           redact: EditRedactOpt = None, tokenize: EditTokenizeOpt = False, analyze: EditAnalyzeOpt = None,
           upload: EditUploadOpt = None, upload_options: EditUploadOptionsOpt = None,
           upload_credentials: EditUploadCredentialsOpt = None, description: EditDescriptionOpt = None,
           labels: EditLabelsOpt = None, manifest: EditFileOpt = "schedules.yaml",
           apply_: EditApplyOpt = False, dry_run: EditDryRunOpt = False,
           output: EditOutputOpt = "text", lock_timeout: LockTimeoutOpt = 30.0) -> int:
    """Change a schedule in the manifest (only the fields given) and show the plan."""
    from .commands.edit import Fields, modify as run, redaction_mode

    fields = Fields(cron=cron, timezone=timezone, namespaces=namespace, specs=spec, upload=upload,
                    redaction=redaction_mode(redact, tokenize), enabled=_flag(enabled), auto=auto, analyze=analyze,
                    upload_options=upload_options, upload_credentials=upload_credentials, description=description,
                    labels=labels)
    return run(name, fields=fields, options=_edit_options(manifest, output, apply_, dry_run, lock_timeout))


def _flag(value: object) -> bool | None:
    """click.BOOL's value (typed str for typer, which would make a bool option a flag)."""
    return None if value is None else bool(value)


@app.command()
def delete(name: str, manifest: EditFileOpt = "schedules.yaml", apply_: EditApplyOpt = False,
           dry_run: EditDryRunOpt = False, output: EditOutputOpt = "text",
           lock_timeout: LockTimeoutOpt = 30.0) -> int:
    """Remove a schedule from the manifest and show the plan."""
    from .commands.edit import delete as run

    return run(name, options=_edit_options(manifest, output, apply_, dry_run, lock_timeout, allow_empty=True))


@app.command()
def enable(name: str, manifest: EditFileOpt = "schedules.yaml", apply_: EditApplyOpt = False,
           dry_run: EditDryRunOpt = False, output: EditOutputOpt = "text",
           lock_timeout: LockTimeoutOpt = 30.0) -> int:
    """Set `suspend: false` on a schedule in the manifest and show the plan."""
    from .commands.edit import set_enabled

    return set_enabled(name, enabled=True, options=_edit_options(manifest, output, apply_, dry_run, lock_timeout))


@app.command()
def disable(name: str, manifest: EditFileOpt = "schedules.yaml", apply_: EditApplyOpt = False,
            dry_run: EditDryRunOpt = False, output: EditOutputOpt = "text",
            lock_timeout: LockTimeoutOpt = 30.0) -> int:
    """Set `suspend: true` on a schedule in the manifest and show the plan."""
    from .commands.edit import set_enabled

    return set_enabled(name, enabled=False, options=_edit_options(manifest, output, apply_, dry_run, lock_timeout))


import_app = typer.Typer(help="Bring schedules over from other schedulers into the manifest.", no_args_is_help=True,
                             suggest_commands=False)
app.add_typer(import_app, name="import")


@import_app.command("troubleshoot")
def import_troubleshoot(source: Annotated[Optional[str], typer.Option(
                            "--from", help="troubleshoot's job directory (default: ~/.troubleshoot/scheduled-jobs).")
                        ] = None,
                        timezone: Annotated[Optional[str], typer.Option(
                            "--timezone", help="The zone the jobs ran in (default: this host's).")] = None,
                        manifest: EditFileOpt = "schedules.yaml",
                        set_name: Annotated[Optional[str], typer.Option("--set", help="metadata.name of a new file "
                                                                        "(default: its directory's name).")] = None,
                        apply_: EditApplyOpt = False, dry_run: EditDryRunOpt = False,
                        output: EditOutputOpt = "text", lock_timeout: LockTimeoutOpt = 30.0) -> int:
    """Write troubleshoot's scheduled jobs into the manifest as schedules. Exit 1 when some could not be."""
    from .commands.import_troubleshoot import import_troubleshoot as run

    return run(source=source, timezone=timezone,
               options=_edit_options(manifest, output, apply_, dry_run, lock_timeout, set_name=set_name))


def _command_line() -> str:
    """The command line for the audit log, secret-looking values masked."""
    from reconciler.store.audit import command_line

    return command_line(GLOBAL.argv)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run, map every failure to an exit code, never show a traceback unasked."""
    code = run(argv)
    from . import interrupts_raise

    interrupts_raise(False)   # past the boundary, a Ctrl-C while the interpreter exits ends it quietly
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    """The command's exit code; library warnings (a skipped execution record) meanwhile go to stderr as
    `sbsched: warning: ...` lines. A daemon replaces that handler with its own log when it starts."""
    handler = _StderrLines(logging.WARNING)
    logging.getLogger("sbsched").addHandler(handler)
    try:
        return _run(argv)
    finally:
        notify = sys.modules.get("reconciler.run.notify")
        if notify is not None:   # webhooks still being sent log how they ended while this handler listens
            notify.drain()
        logging.getLogger("sbsched").removeHandler(handler)


class _StderrLines(logging.Handler):
    """One `sbsched: <level>: <message>` line per record, on whatever sys.stderr is at that moment."""

    def emit(self, record: logging.LogRecord) -> None:
        from . import render

        render.err(f"sbsched: {record.levelname.lower()}: {record.getMessage()}")


def _run(argv: list[str] | None) -> int:
    from reconciler.base.errors import SbschedError

    from . import interrupts_raise

    interrupts_raise(True)   # from here on a Ctrl-C reaches the boundary below (cli/__init__.py)
    GLOBAL.argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        result = app(args=argv, prog_name="sbsched", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.ClickException as exc:  # usage errors: exit 2, as click does
        exc.show()
        return 2
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.stderr.write("sbsched: interrupted\n")
        return 130
    except SbschedError as exc:
        sys.stderr.write(f"sbsched: error: {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
        return exc.exit_code
    except OSError as exc:  # the host's fault, not a bug: a full disk, a read-only or vanished path
        if GLOBAL.verbose:
            import traceback

            traceback.print_exc()
        where = f": {exc.filename}" if exc.filename else ""
        sys.stderr.write(f"sbsched: error: {exc.strerror or exc}{where}\n")
        return 2
    except Exception as exc:  # the boundary: one line, the traceback only when asked for
        if GLOBAL.verbose:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"sbsched: internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)\n")
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    main()
