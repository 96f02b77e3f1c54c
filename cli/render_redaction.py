"""Views of tokenized redaction: a run's token map (`redaction-map`) and its counts (`history ID`, `run`)."""
from __future__ import annotations

from typing import Any, Mapping

from .render import table

SHOWN_LOCATIONS = 1   # per token in the map's table; `--token` lists them all


def tokens_line(tokens: Mapping[str, Any], run_id: str) -> str:
    """The execution's token counts by type: tokens are no secrets, and no value is shown."""
    if not tokens.get("unique"):
        return "Tokens:     none (nothing was masked)"
    counts = ", ".join(f"{kind} {count}" for kind, count in sorted(tokens["byType"].items()))
    return (f"Tokens:     {tokens['unique']} secret(s), {sum(tokens['byType'].values())} value(s): {counts} "
            f"(scope {tokens['scope']}; `sbsched redaction-map {run_id}` shows the map)")


def map_text(document: Mapping[str, Any]) -> str:
    tokens = document["tokens"]
    head = (f"Redaction map of {document['executionId']} (schedule {document['schedule']}, "
            f"scope {document['scope']}): {len(tokens)} token(s)")
    rows = [(token, entry["type"], entry["occurrences"], _value(entry), _where(entry))
            for token, entry in tokens.items()]
    return head + "\n" + table(["TOKEN", "TYPE", "OCCURRENCES", "VALUE", "FOUND AT"], rows)


def token_text(token: str, entry: Mapping[str, Any]) -> str:
    lines = [f"Token:       {token}", f"Type:        {entry['type']}", f"Value:       {_value(entry)}",
             f"Occurrences: {entry['occurrences']}" + (f" (the first {len(entry['locations'])} listed)"
                                                       if entry["occurrences"] > len(entry["locations"]) else ""),
             "Found at:", *(f"  {place['file']}:{place['line']}" for place in entry["locations"])]
    return "\n".join(lines) + "\n"


def _value(entry: Mapping[str, Any]) -> str:
    """The value as one line of plain text: control characters (a terminal's escapes) written as escapes."""
    if "value" not in entry:
        return f"base64:{entry['valueBase64']}"
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in entry["value"])


def _where(entry: Mapping[str, Any]) -> str:
    places = [f"{place['file']}:{place['line']}" for place in entry["locations"][:SHOWN_LOCATIONS]]
    more = entry["occurrences"] - len(places)
    return ", ".join(places) + (f" (+{more} more)" if more else "")
