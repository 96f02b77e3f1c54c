"""Who runs this command: the account of the real uid, never LOGNAME or USER (anyone can set those).

Root that runs sbsched through sudo is recorded as the sudo caller (SUDO_USER), the person an audit
wants to find; only root's SUDO_USER counts, since any other account could set it to blame someone.
"""
from __future__ import annotations

import os
import pwd


def real_user() -> str:
    uid = os.getuid()
    caller = os.environ.get("SUDO_USER", "").strip()
    if uid == 0 and caller:
        return caller
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:   # a uid with no passwd entry (a container's arbitrary uid)
        return str(uid)
