#!/usr/bin/env bash
# Install Debian's Chromium for the audit report's browser test
# (tests/audit.rs opens the HTML report headless and takes a screenshot).
# As root (or with password-less sudo) it runs apt-get; otherwise it prints
# the command. The browser comes from the distribution, never downloaded
# by a test tool.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
echo "crit's browser test needs: chromium" >&2
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "Install it with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here; install Chromium with your package manager" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq chromium >/dev/null
echo "installed: chromium" >&2
