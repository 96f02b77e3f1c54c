"""Error texts worded as troubleshoot's Go errors read, for the messages people see in a bundle."""
from __future__ import annotations


def syscall_text(exc: OSError) -> str:
    """An OS error as Go's syscall.Errno prints it ("connection refused"): C's strerror, lower case."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def path_error(op: str, path: str, exc: OSError) -> str:
    """Go's *fs.PathError text, e.g. "open /etc/x: permission denied"."""
    return f"{op} {path}: {syscall_text(exc)}"
