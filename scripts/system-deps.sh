#!/usr/bin/env sh
# Install the system packages the project needs when they are missing:
#   - python3-venv (Debian splits `python3 -m venv` out of python3), checked when VENV_CHECK=1
#   - graphviz (the `dot` program that renders graph images)
#   - chromium, when WITH_BROWSER=1 (the tests open the step-through page in a real browser)
# On Debian/Ubuntu it uses apt-get (through sudo when not root); elsewhere it says what to install.
set -eu

PYTHON=${PYTHON:-python3}
missing=""
command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
if [ "${WITH_BROWSER:-0}" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  os_id=$( (. /etc/os-release 2>/dev/null && echo "${ID:-}") || true)
  if [ "$os_id" = ubuntu ]; then
    # Ubuntu's apt chromium is only a wrapper around the snap, which containers cannot run
    echo "note: no apt-installable chromium on Ubuntu; the browser test of the HTML page is skipped"
  else
    missing="$missing chromium"
  fi
fi
if [ "${VENV_CHECK:-0}" = 1 ] && ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  missing="$missing python$version-venv"
fi
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: please install these system packages with your package manager:$missing" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "error: need root or sudo to run: apt-get install$missing" >&2
  exit 1
fi
echo "installing system packages:$missing"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
