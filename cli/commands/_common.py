"""What several commands share: a valid manifest or exit 2, and the state store of --state-dir."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..options import GLOBAL

if TYPE_CHECKING:
    from reconciler.manifest.normalize import ScheduleDefaults, ScheduleSet
    from reconciler.store.state import StateStore


def valid_manifest(path: str, *, state_dir: str | None | bool = False) -> ScheduleSet:
    """diff and apply need a valid manifest: an invalid one is an error (exit 2), listed on stderr.
    With `state_dir` (None: the default one), as that state dir's config files complete each schedule."""
    from reconciler.manifest.load import valid_manifest as load

    return load(path, config=None if state_dir is False else config_defaults(state_dir))


def config_defaults(state_dir: str | bool | None) -> ScheduleDefaults:
    """What the config files (the system one, then <state-dir>/config.yaml) add to every schedule."""
    from reconciler.daemon.config import schedule_defaults
    from reconciler.store.paths import state_dir as resolve

    return schedule_defaults(resolve(state_dir if isinstance(state_dir, str) else None))


def store(state_dir: str | None, *, writes: bool = False) -> StateStore:
    """The state of --state-dir, checked first (reconciler/store/permissions.py): what is not sbsched's
    is refused; loose modes are fixed when the command `writes`, else reported, or refused when strict.
    The system state dir shared with a team lets in only its members, and this command's files are
    then its group's (reconciler/store/sharing.py)."""
    from reconciler.store.paths import share_with_group, state_dir as resolve
    from reconciler.store.permissions import check_state_dir, strict_from_env
    from reconciler.store.sharing import admit, sharing_for
    from reconciler.store.state import StateStore

    root = resolve(state_dir)
    sharing = sharing_for(root)
    if sharing is not None:
        admit(sharing, root)
    share_with_group(sharing.gid if sharing is not None else None)
    given = GLOBAL.strict_permissions
    strict = given if given is not None else strict_from_env()
    warning = check_state_dir(root, strict=strict, fix=writes)
    if warning:
        import sys

        sys.stderr.write(warning + "\n")
    return StateStore(root)
