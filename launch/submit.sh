#!/usr/bin/env bash
# Submit a self-play run to a Ray cluster as a job.
#
#   RAY_ADDRESS=http://head:8265 launch/submit.sh experiment=tiny iterations=3
#
# Everything after the script name is passed to `python -m spo.train` as Hydra overrides.
# SPO_PYTHON names the interpreter the job runs with on the cluster (default: python).
# The Ray job API has no authentication: keep the dashboard port (8265) on localhost or a
# private network, and reach it through an SSH tunnel or a VPN, never the open internet.
# Ray 2.60 heads use token authentication by default; set RAY_AUTH_MODE the same way here
# as on the head.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RAY_ADDRESS:?set RAY_ADDRESS to the Ray dashboard address, e.g. http://127.0.0.1:8265}"
exec ray job submit --address "$RAY_ADDRESS" --runtime-env launch/runtime_env.yaml \
  -- "${SPO_PYTHON:-python}" -m spo.train "$@"
