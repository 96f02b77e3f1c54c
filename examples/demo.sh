#!/usr/bin/env bash
# `make demo`: apply the example manifest to a fresh state dir, show the plan and the schedules, then
# run one schedule and show the bundle it made. Everything stays under $DEMO_DIR (default .demo/).
set -euo pipefail
cd "$(dirname "$0")/.."
sbsched=".venv/bin/sbsched"
demo="${DEMO_DIR:-$PWD/.demo}"
rm -rf "$demo"
mkdir -p "$demo"
export TROUBLESHOOT_SCHEDULER_DIR="$demo/state"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$sbsched" validate -f examples/schedules.yaml
rc=0; step "$sbsched" diff -f examples/schedules.yaml || rc=$?
[ "$rc" -eq 1 ] || { echo "expected diff to report changes (exit 1), got $rc" >&2; exit 1; }
step "$sbsched" apply -f examples/schedules.yaml
step "$sbsched" diff -f examples/schedules.yaml
step "$sbsched" list
step "$sbsched" next host-nightly -n 3
step "$sbsched" run host-nightly
step "$sbsched" history

read -r bundle uploaded < <("$sbsched" history host-nightly -n 1 -o json | .venv/bin/python -c \
  'import json, sys; run = json.load(sys.stdin)["items"][0]; print(run["bundle"]["path"], run["upload"]["url"])')
printf '\nThe bundle went to: %s\nand was uploaded to: %s\n' "$bundle" "$uploaded"
printf 'It holds %s files:\n' "$(tar tzf "$bundle" | grep -vc '/$')"
tar tzf "$bundle" | grep -v '/$' | sed 's/^/  /'

# The reconcile loop: a minutely schedule, then one pass once its first slot has come.
step "$sbsched" apply -f examples/demo/minutely.yaml
wait=$(( 61 - $(date +%-S) ))
printf '\nWaiting %ss for the next minute slot of demo-minutely...\n' "$wait"
sleep "$wait"
step "$sbsched" reconcile --once
step "$sbsched" history
printf '\nState dir: %s (kept; make demo starts it afresh)\n' "$TROUBLESHOOT_SCHEDULER_DIR"
