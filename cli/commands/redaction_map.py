"""sbsched redaction-map EXECUTION_ID [--token T] [-o text|json]: a tokenizing run's token map, read on
this host (it never leaves it); exit 2 when the run has none, the token is not in it, or it is encrypted."""
from __future__ import annotations

from .. import render
from ..render_redaction import map_text, token_text
from ._common import store


def redaction_map(run_id: str, *, state_dir: str | None, token: str | None, output: str) -> int:
    from reconciler.run.redaction_maps import load_map, token_entry

    document = load_map(store(state_dir).root, run_id)
    if token is None:
        render.out(render.to_json(document) if output == "json" else map_text(document))
        return 0
    entry = token_entry(document, run_id, token)
    render.out(render.to_json({"token": token, **entry}) if output == "json" else token_text(token, entry))
    return 0
