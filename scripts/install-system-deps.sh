#!/bin/sh
# System packages the grader uses: bubblewrap sandboxes student code (autograder/sandbox).
# Installs only when run as root with apt-get; otherwise it says what is missing and succeeds,
# because the grader falls back to another sandbox backend (see docs/security.md).
set -e
if command -v bwrap >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1 \
        || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends bubblewrap >/dev/null; }
else
    echo "note: bubblewrap is not installed and cannot be installed here; student code will run" \
         "under the 'uid' sandbox backend (or 'none' for local checks)" >&2
fi
