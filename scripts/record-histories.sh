#!/usr/bin/env bash
# Re-record the workflow histories replayed by workflows/replay_test.go.
# Starts a Temporal dev server from bin/temporal (make tools) unless
# TEMPORAL_ADDRESS points at one. Review the diff before committing: a
# history that no longer replays means the change needs workflow.GetVersion.
# After a versioned change, first keep the current files as v<N>-<name>.json
# (git mv) so the replay test goes on proving that older runs replay.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory bin/temporal >/dev/null 2>&1 || make --no-print-directory "$(pwd)/bin/temporal"
export CUTOVER_TOOLS_DIR="$(pwd)/bin"
go run ./cmd/record-histories -out workflows/testdata/histories
