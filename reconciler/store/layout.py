"""Pure: the names sbsched creates in a state dir (design §4), as a tree of roles matched name by name.

The permission check walks this tree and nothing else: an entry whose name is not here is someone
else's and is neither changed nor entered, so a state dir that shares a directory with other files
(or a mistyped --state-dir) never has those files chmodded. The patterns are the names the writers
give: `atomic_file`'s `.<name>.<random>.tmp`, `bundle_name`'s support-bundle-<UTC time>[-n], the
executor's `.staging-<bundle>`, RotatingFileHandler's `daemon.log.<n>`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """What a layout entry is. `directory` None: a known name left alone (config.yaml, the user's own
    file, may even be a link). `checked`: its mode is kept 0700/0600. A directory is entered only when
    it has `children`."""

    directory: bool | None
    checked: bool = True
    children: tuple[tuple[re.Pattern[str], Role], ...] = ()

    def child(self, name: str) -> Role | None:
        """The role of entry `name` in this directory, or None: not sbsched's."""
        return next((role for pattern, role in self.children if pattern.fullmatch(name)), None)


def _names(*pairs: tuple[str, Role]) -> tuple[tuple[re.Pattern[str], Role], ...]:
    return tuple((re.compile(pattern), role) for pattern, role in pairs)


FILE = Role(directory=False)
STAGING = Role(directory=True, checked=False)   # a run's own working dir: made private, removed by the run
USERS = Role(directory=None, checked=False)     # config.yaml: written by the user, read by the daemon
_BUNDLE = r"support-bundle-\d{4}-\d\d-\d\dT\d\d_\d\d_\d\d(-\d+)?"


def _temp(name: str) -> str:
    """atomic_file's temp file beside `name` (a pattern): .<name>.<random>.tmp"""
    return rf"\.{name}\.[^/]+\.tmp"


_MONTH = Role(directory=True, children=_names((r"[^.].*\.json", FILE), (_temp(r".+\.json"), FILE)))
_SCHEDULE_BUNDLES = Role(directory=True, children=_names(
    (_BUNDLE + r"\.tar\.gz(\.age)?", FILE), (_temp(_BUNDLE + r"\.tar\.gz(\.age)?"), FILE),
    (r"\.staging-" + _BUNDLE, STAGING)))

STATE_DIR = Role(directory=True, children=_names(
    (r"state\.json|state\.json\.backup|state\.lock|daemon\.pid", FILE),
    (r"state\.lock\.d", Role(directory=True)),   # the state lock's directory: flocked, never holds anything
    (r"mirror\.lock\.d", Role(directory=True)),  # orders stateMirror publishes (state_mirror.py), likewise empty
    (_temp(r"state\.json(\.backup)?"), FILE),
    (r"config\.yaml", USERS),
    (r"executions", Role(directory=True, children=_names(
        (r"\d{4}-\d\d", _MONTH),
        (r"manual-ids", Role(directory=True, children=_names((r"[^.].*", FILE))))))),   # a count per schedule
    (r"bundles", Role(directory=True, children=_names((r"[^.].*", _SCHEDULE_BUNDLES)))),   # every name: a schedule
    (r"logs", Role(directory=True, children=_names((r"audit\.log|daemon\.log(\.\d+)?", FILE)))),
    (r"redaction-maps", Role(directory=True, children=_names(      # a token map per run: <execution-id>.json
        (r"[^.].*\.json(\.age)?", FILE), (_temp(r".+\.json(\.age)?"), FILE)))),
    (r"redaction-salts", Role(directory=True, children=_names(     # tokenScope: schedule: <schedule>
        (r"[^.].*", FILE), (_temp(r".+"), FILE)))),
    (r"spec-snapshots", Role(directory=True, children=_names(      # applied spec files: <sha256>
        (r"[0-9a-f]{64}", FILE), (_temp(r"[0-9a-f]{64}"), FILE)))),
))
STATE_FILE = "state.json"   # its presence makes a directory a state dir, whatever else it holds
