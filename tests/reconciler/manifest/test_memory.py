"""The normalized manifest holds each distinct section once (issue 23: 100,000 schedules in flat memory)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from reconciler.manifest.load import valid_manifest
from reconciler.plan.spec_snapshots import snapshot
from tests.memory_tools import traced_peak

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import gen_manifest  # noqa: E402  (the benchmark's generator: varied schedules, as in a real manifest)

N = 2_000


def test_a_normalized_schedule_costs_little_more_than_its_own_top_level(tmp_path: Path) -> None:
    manifest = tmp_path / "schedules.yaml"
    gen_manifest.write_manifest(manifest, N)
    desired = snapshot(valid_manifest(str(manifest)))
    held = _deep_size(desired.schedules, set())
    as_json = sum(len(json.dumps(spec, separators=(",", ":"))) for spec in desired.schedules.values())
    assert held < as_json * 1.5, f"{held / N:.0f} bytes per schedule held, {as_json / N:.0f} as compact JSON"


def _deep_size(value: Any, seen: set[int]) -> int:
    """Bytes of `value` and all it holds, each object counted once (what sharing saves shows)."""
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_deep_size(k, seen) + _deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, list):
        size += sum(_deep_size(v, seen) for v in value)
    return size


def test_loading_peaks_well_below_the_target_of_8x_the_file(tmp_path: Path) -> None:
    """The parsed schedules share their equal sections as they are parsed (yamlio's share_below): the
    parse, not the normalized result, was the peak. Traced Python memory (tests/memory_tools.py), so the
    interpreter and the imports are not counted (the text itself is ~3x: its bytes, the str, the copy
    libyaml reads). No spec files: reading one reserves its size limit for a moment (64 MiB of address
    space, no RSS), which would hide the figure."""
    manifest = tmp_path / "schedules.yaml"
    manifest.write_text(gen_manifest.generate(N).replace("      specs: [specs/host.yaml]\n", ""))
    load = "valid_manifest(sys.argv[1])"
    peak = traced_peak(f"from reconciler.manifest.load import valid_manifest\n{load}", load, str(manifest))
    size = manifest.stat().st_size
    assert peak < 5 * size, f"loading peaked at {peak / size:.1f}x the file's {size} bytes"
