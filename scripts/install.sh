#!/usr/bin/env bash
# Installs tvts-bench and its test tools into ./.venv on a fresh machine.
#  - torch/torchvision are installed as a pinned pair (torch 2.14.1 + torchvision 0.29.1): PyPI's
#    torchvision does not import beside other torch builds, and timm needs torchvision.
#  - Debian's chromium drives the browser test of the HTML report (Playwright cannot download its
#    own browser here); skipped where apt-get is unavailable, and the browser test then skips.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check "torch==2.14.1" "torchvision==0.29.1" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import torch, torchvision, timm, tvts_bench" 
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "install.sh: could not install chromium; browser tests will skip" >&2
  fi
fi
