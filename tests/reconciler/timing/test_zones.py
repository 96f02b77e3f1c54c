"""Zone names a schedule may use."""
from __future__ import annotations

from reconciler.timing.zones import timezone_error


def test_the_hosts_own_zone_names_are_refused():
    assert timezone_error("UTC") is None and timezone_error("Pacific/Chatham") is None
    for name in ("localtime", "/etc/localtime", "../../etc/passwd", "Factory"):
        assert timezone_error(name) is not None
