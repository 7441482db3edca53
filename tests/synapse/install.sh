#!/usr/bin/env bash
# Installs Synapse, the Matrix homeserver the chat tests (tests/chat_matrix.rs) start, from the
# Python package registry into its own virtual environment, unless it is there already.
# .ci/run calls it; the tests call it too when they find no Synapse. The path is
# $SWITCHDESK_SYNAPSE_VENV, else ~/.cache/switchdesk/synapse.
set -euo pipefail
venv="${SWITCHDESK_SYNAPSE_VENV:-$HOME/.cache/switchdesk/synapse}"
version="1.163.2"
if "$venv/bin/python" -c 'import synapse.app.homeserver' >/dev/null 2>&1; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "matrix-synapse==$version"
"$venv/bin/python" -c 'import synapse.app.homeserver'
