"""The configuration files: the daemon's settings and the defaults `apply` fills into schedules.

Layers, each over the one before: built-in defaults, the system file (`/etc/troubleshoot/scheduler.yaml`,
or `$SBSCHED_SYSTEM_CONFIG`), the user's `<state-dir>/config.yaml` (or, for the daemon, `daemon start
--config FILE` instead of it), then the command's flags. The keys are sbsched's own and those of
troubleshoot's scheduler PRD (`defaultMaxConcurrent`, `defaultTimeout`, `maxBundleSize`, ...), so a
troubleshoot config file loads as written:

```yaml
maxConcurrent: 8              # runs at once (1-256); also defaultMaxConcurrent, maxConcurrentJobs
metricsAddr: 127.0.0.1:9090   # /metrics, /healthz, /readyz; or metricsEnabled: true (+ metricsPort)
logFormat: logfmt             # text | json | logfmt
logLevel: info                # debug | info | warn | error
grace: 120                    # seconds `daemon stop` lets runs finish
checkInterval: 60s            # the longest the loop sleeps without looking at the clock and the state
defaultTimezone: Europe/Berlin   # schedule defaults, under the manifest's own `defaults:`
defaultTimeout: 30m
maxBundleSize: 1GB
stateMirror: s3://bucket/prefix/   # publish the state for CI's `diff --state` (state_mirror.py)
```

A missing file is no settings. A file that cannot be read, is not a mapping, has an unknown key, a value
of the wrong type or a key sbsched cannot honour (`requireAuth`, ...) is an error naming the file and the
key (exit 2): a typo or an unmet wish never silently falls back to a default. Flags are a mapping of the
settings' names to what the user typed: what the daemon records in daemon.pid, so that `daemon restart`
starts it again with the same flags and the files read anew.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ..base.errors import UsageError
from ..manifest.normalize import ScheduleDefaults
from ..store.config_files import FILE, SYSTEM_FILE, load, names, system_path

LOG_FORMATS = ("text", "json", "logfmt")
LOG_LEVELS = ("debug", "info", "warn", "warning", "error")
METRICS_PORT = 9090
DEFAULTS: dict[str, Any] = {"maxConcurrent": 4, "metricsAddr": None, "logFormat": "text", "logLevel": "info",
                            "logFile": None, "grace": 60.0, "checkInterval": 60.0}
SCHEDULE_DEFAULT_KEYS = ("timezone", "timeoutSeconds", "maxBundleSizeBytes", "maxAgeDays", "autoUploadEnabled",
                         "defaultUpload", "maxSchedules")
Parse = Callable[[Any], Any]   # a key's value -> the setting's value; ValueError("expected ...") when bad


# -- values ----------------------------------------------------------------------------------------------
def _integer(low: int, high: int | None = None) -> Parse:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            raise ValueError(f"an integer from {low} to {high}" if high is not None else f"an integer, {low} or more")
        return value
    return parse


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _choice(*options: str) -> Parse:
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(" or ".join(o for o in options if o != "warning"))
        return str(value)
    return parse


def _seconds(low: float, high: float | None = None) -> Parse:
    """A number of seconds or a duration (`30m`, `1h30m`)."""
    def parse(value: Any) -> float:
        from ..base.units import DURATION_FORMS, parse_duration

        bounds = f"from {low:g} to {high:g}" if high is not None else f"{low:g} or more"
        wanted = f"a number of seconds ({bounds}) or a duration ({DURATION_FORMS})"
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(wanted)
        try:
            seconds = parse_duration(str(value))
        except ValueError:
            raise ValueError(wanted) from None
        if seconds < low or (high is not None and seconds > high):
            raise ValueError(wanted)
        return seconds
    return parse


def _size(value: Any) -> int:
    from ..base.units import SIZE_FORMS, parse_size

    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"a size ({SIZE_FORMS})")
    try:
        size = parse_size(str(value))
    except ValueError:
        raise ValueError(f"a size ({SIZE_FORMS})") from None
    if not 1 <= size <= 2 ** 50:
        raise ValueError("a size from 1 byte to 1 PiB")
    return size


def _address(value: Any) -> str | None:
    from .health import parse_addr

    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError("HOST:PORT, or null")
    try:
        parse_addr(str(value))
    except UsageError:
        raise ValueError("HOST:PORT (port 0-65535; [::1]:PORT for IPv6), or null") from None
    return str(value)


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "\0\n"):
        raise ValueError("a path")
    return os.path.expanduser(value)


def _zone(value: Any) -> str:
    from ..timing.zones import timezone_error

    if not isinstance(value, str) or timezone_error(value):
        raise ValueError("an IANA time zone such as UTC or America/New_York")
    return value


def _backend(value: Any) -> str:
    if value != "file":
        raise ValueError("file (the only storage backend: the state directory's files)")
    return "file"


def _upload(value: Any) -> dict[str, Any] | None:
    """troubleshoot's UploadConfig ({enabled, endpoint, credentials, options}) as a schedule's `upload`,
    checked by the manifest schema (references only, never a literal secret)."""
    from ..base.yamlio import format_path
    from ..manifest import schema

    if not isinstance(value, dict):
        raise ValueError("a mapping: {endpoint: URL, options: {...}, credentials: {...}}")
    given = dict(value)
    if given.pop("enabled", True) is False:
        return None
    if "endpoint" in given and "url" in given:
        raise ValueError("endpoint or url, not both")
    if "endpoint" in given:
        given["url"] = given.pop("endpoint")
    if not given.get("url"):
        raise ValueError("a mapping with endpoint: URL (where bundles go), and options and credentials")
    problems = schema.validate({"apiVersion": "sbsched/v1", "kind": "ScheduleSet", "metadata": {"name": "config"},
                                "defaults": {"upload": given}, "schedules": []})
    if problems:
        path, message, _ = problems[0]
        where = format_path(path[2:]) if len(path) > 2 else ""
        raise ValueError(f"a schedule's upload ({where}: {message})" if where else f"a schedule's upload ({message})")
    return given


def _mirror(value: Any) -> Any:
    """stateMirror: apply's (state_mirror.py), not the loop's: checked here with every setting."""
    from .state_mirror import setting_problem

    problem = setting_problem(value) if value is not None else None
    if problem:
        raise ValueError(problem)
    return value


def _allowed(key: str) -> Parse:
    def parse(value: Any) -> tuple[str, ...]:
        try:
            return names(value, key)
        except UsageError:
            raise ValueError("a list of user or group names") from None
    return parse


def _storage(value: Any) -> dict[str, Any]:
    """storageConfig: baseDir (the state dir; the system file only), backupEnabled, backupInterval."""
    if not isinstance(value, dict):
        raise ValueError("a mapping of baseDir, backupEnabled, backupInterval")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "baseDir":
            out["baseDir"] = _path(item)
        elif key == "backupEnabled":
            if item is not True:
                raise ValueError("backupEnabled: true (state.json.backup is written at every state write; it "
                                 "cannot be turned off)")
        elif key == "backupInterval":
            _seconds(0)(item)   # met by every write keeping the one before: checked, nothing to set
        else:
            raise ValueError(f"a mapping of baseDir, backupEnabled, backupInterval (not {key!r})")
    return out


# key in a file -> (the setting it makes, how its value is read)
KEYS: dict[str, tuple[str, Parse]] = {
    "maxConcurrent": ("maxConcurrent", _integer(1, 256)),
    "defaultMaxConcurrent": ("maxConcurrent", _integer(1, 256)),
    "maxConcurrentJobs": ("maxConcurrent", _integer(1, 256)),
    "metricsAddr": ("metricsAddr", _address),
    "metricsEnabled": ("metricsEnabled", _boolean),
    "metricsPort": ("metricsPort", _integer(0, 65535)),
    "logFormat": ("logFormat", _choice(*LOG_FORMATS)),
    "logLevel": ("logLevel", _choice(*LOG_LEVELS)),
    "logFile": ("logFile", _path),
    "grace": ("grace", _seconds(0)),
    "checkInterval": ("checkInterval", _seconds(1, 3600)),
    "auditLogEnabled": ("auditLogEnabled", _boolean),
    "storageBackend": ("storageBackend", _backend),
    "storageConfig": ("storageConfig", _storage),
    "storageDir": ("baseDir", _path),
    "backupInterval": ("backupInterval", _seconds(0)),
    "defaultTimezone": ("timezone", _zone),
    "defaultTimeout": ("timeoutSeconds", _seconds(1, 604800)),
    "executionTimeout": ("timeoutSeconds", _seconds(1, 604800)),
    "maxBundleSize": ("maxBundleSizeBytes", _size),
    "defaultRetentionDays": ("maxAgeDays", _integer(0, 36500)),
    "retentionDays": ("maxAgeDays", _integer(0, 36500)),
    "autoUploadEnabled": ("autoUploadEnabled", _boolean),
    "defaultUploadConfig": ("defaultUpload", _upload),
    "maxJobsPerUser": ("maxSchedules", _integer(1)),
    "stateMirror": ("stateMirror", _mirror),
    "allowedUsers": ("allowedUsers", _allowed("allowedUsers")),
    "allowedGroups": ("allowedGroups", _allowed("allowedGroups")),
}
SHARING_KEYS = ("allowedUsers", "allowedGroups")
REFUSED: dict[str, str] = {
    "requireAuth": "a state dir is its owner's alone (0700), or its team's: allowedUsers and allowedGroups in the "
                   "system file (store/sharing.py)",
    "healthCheckPort": "/healthz and /readyz are served with /metrics, on metricsAddr (or metricsPort)",
    "maxMemoryMB": "runs are bounded by limits.maxBundleSizeBytes (maxBundleSize here) and policy.timeoutSeconds",
    "maxDiskSpaceMB": "a schedule's limits.minFreeDiskBytes skips runs when the disk is low, and retention bounds "
                      "the bundles kept",
    "logRotateSize": "daemon.log rotates at 10 MiB, five old files kept",
    "logRotateAge": "daemon.log rotates at 10 MiB, five old files kept",
}


@dataclass(frozen=True)
class Settings:
    max_concurrent: int
    metrics_addr: str | None
    log_format: str
    grace: float
    source: Mapping[str, str]   # setting -> "default" | a file's path | "flag"
    log_level: str = "info"
    log_file: str | None = None
    check_interval: float = 60.0
    audit_log: bool = True


# -- files -----------------------------------------------------------------------------------------------
def read(path: Path, *, role: str = "user", unchecked: tuple[str, ...] = ()) -> dict[str, Any]:
    """The settings file `path` makes, checked; {} when there is none. `role` is "system", "user" (the
    state dir's config.yaml) or "config" (`daemon start --config`): only the system file may move the
    state dir, and only the files `apply` reads may hold schedule defaults. Keys in `unchecked` are
    left out unread: their user checks them where it uses them."""
    data = load(path, expected="settings (maxConcurrent, logLevel, defaultTimezone, ...)")
    settings: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in data.items():
        if key in unchecked:
            continue
        setting, parsed = check(str(key), value, where=str(path))
        if setting in given_as:
            raise UsageError(f"{path}: {key} and {given_as[setting]} set the same thing: keep one")
        given_as[setting] = str(key)
        if setting == "storageConfig":
            settings.update(parsed)
        else:
            settings[setting] = parsed
    if role != "system" and "baseDir" in settings:
        raise UsageError(f"{path}: {given_as.get('baseDir', 'storageConfig.baseDir')}: only the system file "
                         f"({SYSTEM_FILE}) can say where the state dir is",
                         hint="or pass --state-dir / set TROUBLESHOOT_SCHEDULER_DIR")
    shares = [given_as[s] for s in SHARING_KEYS if s in settings]
    if role != "system" and shares:
        raise UsageError(f"{path}: {', '.join(shares)}: only the system file ({SYSTEM_FILE}) can share the system "
                         "state dir with a team; a user's own state dir stays private")
    if role == "config":
        scheduled = [given_as[s] for s in SCHEDULE_DEFAULT_KEYS if s in settings]
        if scheduled:
            raise UsageError(f"{path}: {', '.join(scheduled)}: schedule defaults, which `sbsched apply` fills in "
                             f"from <state-dir>/{FILE} or the system file; --config only sets the daemon's settings")
    return settings


def check(key: str, value: Any, *, where: str) -> tuple[str, Any]:
    """(setting, value) of `key: value`; UsageError naming `where` when it is not a valid setting."""
    if key in REFUSED:
        raise UsageError(f"{where}: {key}: not supported: {REFUSED[key]}")
    if key not in KEYS:
        close = difflib.get_close_matches(key, [*KEYS, *REFUSED], n=1)
        raise UsageError(f"{where}: unknown setting {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                         hint="docs/operations.md lists the settings")
    setting, parse = KEYS[key]
    try:
        return setting, parse(value)
    except ValueError as exc:   # a mapping is not echoed: it may hold what was meant to be a secret
        got = "" if isinstance(value, (dict, list)) else f", got {value!r}"
        raise UsageError(f"{where}: {key}: expected {exc}{got}") from None


def layers(root: Path, config: str | None = None, *,
           unchecked: tuple[str, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """(file, its settings) from the lowest layer up: the system file, then the user's (or `config`)."""
    system = system_path()
    user = Path(config) if config else root / FILE
    return [(str(system), read(system, role="system", unchecked=unchecked)),
            (str(user), read(user, role="config" if config else "user", unchecked=unchecked))]


def resolve(root: Path, flags: Mapping[str, Any]) -> Settings:
    """Defaults < the system file < config.yaml (or flags["config"]) < flags (None: not given)."""
    given = dict(check(key, value, where="flag") for key, value in flags.items()
                 if value is not None and key != "config")
    merged: dict[str, Any] = dict(DEFAULTS)
    source = {key: "default" for key in DEFAULTS}
    for path, settings in [*layers(root, flags.get("config")), ("flag", given)]:
        merged.update(settings)
        source.update({key: path for key in settings})
    address = merged["metricsAddr"]
    if "metricsAddr" not in given and merged.get("metricsEnabled") is False:
        address = None
    elif address is None and (merged.get("metricsEnabled") or "metricsPort" in merged):
        address = f"127.0.0.1:{merged.get('metricsPort', METRICS_PORT)}"
    return Settings(max_concurrent=int(merged["maxConcurrent"]), metrics_addr=address,
                    log_format=str(merged["logFormat"]), grace=float(merged["grace"]), source=source,
                    log_level=str(merged["logLevel"]), log_file=merged["logFile"],
                    check_interval=float(merged["checkInterval"]), audit_log=merged.get("auditLogEnabled", True))


def schedule_defaults(root: Path) -> ScheduleDefaults:
    """The schedule defaults of the system file and the user's config.yaml (the user's win)."""
    merged: dict[str, Any] = {}
    for _, settings in layers(root, unchecked=("stateMirror",)):   # a bad one is a warning of apply's publish,
        merged.update(settings)                                    # never a refused apply (state_mirror.py)
    spec: dict[str, Any] = {}
    if "timezone" in merged:
        spec["timezone"] = merged["timezone"]
    if "timeoutSeconds" in merged:
        spec["policy"] = {"timeoutSeconds": int(merged["timeoutSeconds"])}
    if "maxBundleSizeBytes" in merged:
        spec["limits"] = {"maxBundleSizeBytes": merged["maxBundleSizeBytes"]}
    if "maxAgeDays" in merged:
        spec["retention"] = {"maxAgeDays": merged["maxAgeDays"]}
    upload = merged.get("defaultUpload")
    if merged.get("autoUploadEnabled") is False:
        upload = None
    elif merged.get("autoUploadEnabled") and upload is None:
        raise UsageError("autoUploadEnabled is true, but no defaultUploadConfig says where bundles go",
                         hint=f"add defaultUploadConfig: {{endpoint: s3://bucket/prefix/}} to {root / FILE} "
                              f"or {system_path()}")
    return ScheduleDefaults(spec=spec, upload=upload, max_schedules=merged.get("maxSchedules"))


FLAG_NAMES = {"maxConcurrent": "--max-concurrent", "metricsAddr": "--metrics-addr", "logFormat": "--log-format",
              "logLevel": "--log-level", "logFile": "--log-file", "checkInterval": "--check-interval",
              "config": "--config"}


def as_flags(flags: Mapping[str, Any]) -> list[str]:
    """The given settings as `daemon start` options (for the background child and `restart`)."""
    out: list[str] = []
    for key, option in FLAG_NAMES.items():
        if flags.get(key) is not None:
            out += [option, str(flags[key])]
    return out
