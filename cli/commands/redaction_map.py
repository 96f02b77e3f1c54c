"""sbsched redaction-map EXECUTION_ID [--token T] [-o text|json]: a tokenizing run's token map, read on
this host (it never leaves it); exit 2 when the run has none, the token is not in it, or it is encrypted."""
from __future__ import annotations

from .. import render
from ..render_redaction import map_text, token_text
from ._common import store


def redaction_map(run_id: str, *, state_dir: str | None, token: str | None, output: str) -> int:
    from reconciler.base.errors import NotFound
    from reconciler.run.redaction_maps import load_map

    document = load_map(store(state_dir).root, run_id)
    if token is None:
        render.out(render.to_json(document) if output == "json" else map_text(document))
        return 0
    entry = document["tokens"].get(token)
    if entry is None:
        raise NotFound(f"no token {token!r} in the redaction map of {run_id}",
                       hint=f"`sbsched redaction-map {run_id}` lists its {len(document['tokens'])} token(s)")
    render.out(render.to_json({"token": token, **entry}) if output == "json" else token_text(token, entry))
    return 0
