#!/usr/bin/env bash
# What the tests need beyond Node: the trainer's Python packages (containers/trainer runs on Debian's
# PyTorch: python3-torch, python3-torchvision and python3-pytest for /usr/bin/python3), Debian's
# python3-requests for Infinity's real client (seed 000, test/api/infinity-client.test.ts), and the
# system `unzip` and `tar` that read the archives the platform writes (the results' ZIPs, the
# trainer's model.tar.gz) as a user would. Installed when missing and this machine can (apt-get, as
# root or with password-less sudo); otherwise this says how, and fails.
# `npm test` runs it first (pretest); `npm start` works without it, answering 503 to training.
set -euo pipefail
python=${SYNTHFORGE_PYTHON:-/usr/bin/python3}
packages="python3-torch python3-torchvision python3-pytest python3-requests unzip tar"
ready() {
  "$python" -c 'import torch, torchvision, pytest, requests' >/dev/null 2>&1 &&
    command -v unzip >/dev/null 2>&1 && command -v tar >/dev/null 2>&1
}

ready && exit 0
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo="none"; fi
  fi
  if [ "$sudo" != none ]; then
    echo "setup-trainer: installing $packages from Debian (once; about a minute)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
    ready && exit 0
  fi
fi
echo "setup-trainer: the tests need PyTorch and requests for $python, unzip and tar. On Debian or Ubuntu: sudo apt-get install $packages" >&2
exit 1
