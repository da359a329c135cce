#!/usr/bin/env bash
# Make .venv at the repo root and install everything the course needs. Idempotent: a second run
# that finds nothing changed returns in a second.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0   # a bare `torch` pulls GBs of CUDA: always pin the CPU build

if [ -x scripts/install-system-deps.sh ]; then scripts/install-system-deps.sh; fi

stamp=.venv/.course-installed
want=$(cat pyproject.toml requirements-assets.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip
# This machine's pip index serves the CPU build; elsewhere set TORCH_INDEX=https://download.pytorch.org/whl/cpu
.venv/bin/pip install -q "torch==${TORCH_VERSION}" ${TORCH_INDEX:+--index-url "$TORCH_INDEX"}
.venv/bin/pip install -q -e ".[quant,hub,dev,nbgrader,cluster,portal,browser]"
.venv/bin/pip install -q --no-deps -r requirements-assets.txt
echo "$want" > "$stamp"
