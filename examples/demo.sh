#!/usr/bin/env bash
# `make demo`: apply the example manifest to a throwaway state dir and show what sbsched now knows.
set -euo pipefail
cd "$(dirname "$0")/.."
sbsched=".venv/bin/sbsched"
state=$(mktemp -d "${TMPDIR:-/tmp}/sbsched-demo.XXXXXX")
export TROUBLESHOOT_SCHEDULER_DIR="$state/state"
trap 'rm -rf "$state"' EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$sbsched" validate -f examples/schedules.yaml
rc=0; step "$sbsched" diff -f examples/schedules.yaml || rc=$?
[ "$rc" -eq 1 ] || { echo "expected diff to report changes (exit 1), got $rc" >&2; exit 1; }
step "$sbsched" apply -f examples/schedules.yaml
step "$sbsched" diff -f examples/schedules.yaml
step "$sbsched" list
step "$sbsched" next host-nightly -n 3
step "$sbsched" status app-weekdays
printf '\nState dir (removed on exit): %s\n' "$TROUBLESHOOT_SCHEDULER_DIR"
ls -la "$TROUBLESHOOT_SCHEDULER_DIR"
