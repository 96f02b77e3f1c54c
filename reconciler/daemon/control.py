"""The daemon's commands as use cases: start (in the foreground, or a background child given only the
command line's flags, which it records for `restart`), restart, stop, and one reconcile pass. Settings
come from the flags over the config files over the defaults (daemon/config.py); a bad one fails here,
before anything is started or stopped."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from . import config as daemon_config, service
from .health import parse_addr
from ..store.pidfile import PidFile


def start(root: Path, flags: Mapping[str, Any], *, foreground: bool, recover: bool = False) -> dict[str, Any] | None:
    """`flags`: the settings given on the command line (None: not given). In the foreground, serve until
    stopped and return None; else the background daemon's info (pid, log, metrics address)."""
    settings = daemon_config.resolve(root, flags)
    address = parse_addr(settings.metrics_addr) if settings.metrics_addr is not None else None
    log_file = Path(settings.log_file).absolute() if settings.log_file else None
    if foreground:
        default_log = root / "logs" / "daemon.log"   # what a background start gives its child: not a user's flag
        service.serve(root, max_concurrent=settings.max_concurrent, log_format=settings.log_format,
                      metrics_addr=address, log_file=log_file, log_level=settings.log_level,
                      check_interval=settings.check_interval, recover=recover,
                      started_with={k: v for k, v in flags.items()
                                    if v is not None and not (k == "logFile" and Path(v) == default_log)})
        return None
    return service.start_background(root, flags=[*daemon_config.as_flags(flags), *(["--recover"] if recover else [])],
                                    serves_metrics=address is not None, log_file=log_file)


def stop(root: Path, *, grace: float | None) -> dict[str, Any] | None:
    """Drain and stop; runs still active after `grace` (None: the config files', else 60 s) are cancelled.
    The stopped daemon's info, or None when none ran."""
    return service.stop(root, grace=grace if grace is not None else daemon_config.resolve(root, {}).grace)


def restart_flags(root: Path, flags: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the running daemon's info or None, the flags to start the new one with): those it was started
    with, `flags` on top. Raises ConfigError for a bad merged setting, before anything is stopped."""
    running = PidFile(root).running()
    recorded = dict((running or {}).get("startedWith") or {})
    merged = {**recorded, **{k: v for k, v in flags.items() if v is not None}}
    daemon_config.resolve(root, merged)
    return running, merged


def reconcile_once(root: Path, flags: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Fire what is due now (and the latest missed slot per policy), wait for the runs; their records."""
    settings = daemon_config.resolve(root, flags)
    return service.serve(root, max_concurrent=settings.max_concurrent, log_format=settings.log_format, once=True,
                         log_level=settings.log_level)
