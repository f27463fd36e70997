#!/usr/bin/env bash
# Static analysis of contracts/ with Slither, compiled through Forge and the project's pinned compiler
# (scripts/solc). Fails on any medium or high finding. Slither lives in its own venv (.venv-slither)
# because it needs web3 7 while the project pins web3 8; the venv is created on first use and
# reinstalled only when scripts/requirements-slither.txt changes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-slither"
requirements="$root/scripts/requirements-slither.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3

wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/slither" || ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
    echo "slither.sh: installing Slither into $venv (pinned in scripts/requirements-slither.txt)" >&2
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
fi

if [[ ! -x "$root/node_modules/.bin/forge" ]]; then
    echo "slither.sh: node_modules/.bin/forge is missing; run 'npm ci' (or 'make setup') first" >&2
    exit 2
fi

cd "$root"
# crytic-compile calls `forge` by name; ours is the pinned npm binary.
export PATH="$root/node_modules/.bin:$PATH"
exec "$venv/bin/slither" . \
    --compile-force-framework foundry \
    --config-file "$root/scripts/slither.config.json" \
    --fail-medium \
    "$@"
