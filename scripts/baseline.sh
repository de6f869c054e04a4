#!/usr/bin/env bash
# baseline.sh: regenerate results/baselines/sim-ci.json, the regression
# gate's baseline, from the current Release build (when a change in the
# simulated counts is meant, or after editing results/baselines/ci-subset.regex).
# Review the diff (`scripts/compare.py` against the old file) and commit it.
exec "$(dirname "$0")/gate.sh" --regenerate "$@"
