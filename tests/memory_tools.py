"""Peak traced memory of a piece of code, in a process of its own: in the test process, what other tests
left behind (sys.intern's table, grown by their large manifests, resized inside the measure) would count."""
from __future__ import annotations

import subprocess
import sys


def traced_peak(setup: str, measured: str, *args: str) -> int:
    """Bytes at the peak of `measured` (Python statements, `sys.argv[1:]` = `args`), after `setup` ran
    unmeasured: imports and caches are not counted."""
    code = (f"import sys, tracemalloc\n{setup}\ntracemalloc.start()\n{measured}\n"
            "print(tracemalloc.get_traced_memory()[1])\n")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          check=True)
    return int(done.stdout)
