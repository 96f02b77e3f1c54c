"""The sbsched command line.

A Ctrl-C while the command line is still importing (typer and click take ~0.2 s) ends the process as
SIGINT's default action does, quietly, instead of with a KeyboardInterrupt traceback; `main.run` makes it
raise KeyboardInterrupt again, which its error boundary reports (exit 130). Only `signal` is imported
first: every import before the handler changes widens the window."""
from __future__ import annotations

import signal


def interrupts_raise(enabled: bool) -> None:
    """SIGINT raises KeyboardInterrupt (Python's default) when `enabled`, else ends the process. An
    ignored SIGINT (nohup, a background job) stays ignored; only the main thread may change it."""
    current = signal.getsignal(signal.SIGINT)
    try:
        if enabled and current is signal.SIG_DFL:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        elif not enabled and current is signal.default_int_handler:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
    except ValueError:   # not the main thread (a test calling the CLI from a thread): leave it
        pass


interrupts_raise(False)
