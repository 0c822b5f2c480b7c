#!/usr/bin/env bash
# The OpenID provider of the single sign-on tests (npm oidc-provider, tests/oidc/provider):
# its packages are installed from the lock here; each test starts its own provider on a
# loopback port (tests/oidc/conftest.py), since the provider's clients are per test.
set -u
cd "$(dirname "$0")/../../tests/oidc/provider" || exit 1
command -v node >/dev/null || { echo "node is not installed (needed by the OIDC tests)" >&2; exit 1; }
if [ ! node_modules/.package-lock.json -nt package-lock.json ]; then
  npm ci --silent --no-audit --no-fund >/dev/null || exit 1
fi
