#!/usr/bin/env bash
# The one command on a fresh machine: install everything into .venv, bake the course assets, then
# run the demo (validate every module, build the release, grade the reference and a wrong submission).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
.venv/bin/course assets
if [ "${1:-}" != "--no-demo" ]; then .venv/bin/course demo; fi
