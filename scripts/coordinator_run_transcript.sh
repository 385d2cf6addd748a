#!/usr/bin/env bash
# Writes docs/transcripts/coordinator-run.txt: what `fedinsight coordinator run` shows in a
# terminal while a 2-round run goes on (a real federation of three partners on loopback, in
# tmux, captured with `tmux capture-pane`). Needs tmux; takes a few minutes.
#
#   scripts/coordinator_run_transcript.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/transcripts/coordinator-run.txt}"
mkdir -p "$(dirname "$out")"
FEDINSIGHT_TRANSCRIPT="$(pwd)/$out" python -m pytest -q -m slow \
    tests/deployment/test_run_progress_e2e.py -k in_a_terminal
echo "transcript written to $out"
