#!/usr/bin/env bash
# Chromium for the audit explorer's browser tests (tests/explorer): Playwright drives Debian's Chromium
# headless (Playwright's own browser download does not work offline). Installs it when missing and root;
# otherwise says what to run. FLEP_CHROMIUM may name another Chromium binary.
set -euo pipefail
if [ -n "${FLEP_CHROMIUM:-}" ]; then
  if [ -x "$FLEP_CHROMIUM" ]; then exit 0; fi
  echo "error: FLEP_CHROMIUM=$FLEP_CHROMIUM is not an executable Chromium" >&2
  exit 1
fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then
  echo "installing Chromium from Debian for the explorer's browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  command -v chromium >/dev/null
else
  echo "error: the explorer's browser tests need Chromium: run 'sudo apt-get install -y chromium' (Debian)," \
       "or set FLEP_CHROMIUM to a Chromium binary" >&2
  exit 1
fi
