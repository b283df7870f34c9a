#!/usr/bin/env bash
# Submit a self-play run to a Ray cluster as a job.
#
#   SPO_RUNS_ROOT=/mnt/shared/spo-runs RAY_ADDRESS=http://head:8265 launch/submit.sh experiment=tiny iterations=3
#
# The run lands in $SPO_RUNS_ROOT/<run_name>: an absolute path on storage every node sees (the job's
# working directory is Ray's temporary copy of this repository, deleted with Ray's temporary files).
# Everything after the script name is passed to `python -m spo.train` as Hydra overrides.
# SPO_PYTHON names the interpreter the job runs with on the cluster (default: python).
# The Ray job API has no authentication of its own: keep the dashboard port (8265) on localhost or a
# private network, and reach it through an SSH tunnel or a VPN, never the open internet.
# Ray 2.60 heads use token authentication by default; set RAY_AUTH_MODE the same way here
# as on the head.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RAY_ADDRESS:?set RAY_ADDRESS to the Ray dashboard address, e.g. http://127.0.0.1:8265}"
: "${SPO_RUNS_ROOT:?set SPO_RUNS_ROOT to an absolute path every node sees, e.g. /mnt/shared/spo-runs}"
case "$SPO_RUNS_ROOT" in
  /*) ;;
  *) echo "submit.sh: SPO_RUNS_ROOT must be an absolute path every node sees, got '$SPO_RUNS_ROOT'" >&2; exit 2 ;;
esac
exec ray job submit --address "$RAY_ADDRESS" --runtime-env launch/runtime_env.yaml \
  -- "${SPO_PYTHON:-python}" -m spo.train "runs_root=$SPO_RUNS_ROOT" "$@"
