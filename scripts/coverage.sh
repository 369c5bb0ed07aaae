#!/usr/bin/env bash
# Line coverage of the library over the whole suite, subprocesses included: weightline mostly
# runs as `python -m weightline` in baked projects, in DVC stages and in git hooks, so every
# Python process of the venv starts coverage (a .pth file, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
site=$($python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
hook="$site/weightline-coverage.pth"
trap 'rm -f "$hook"' EXIT
echo "import coverage; coverage.process_startup()" > "$hook"
rm -rf .coverage-data && mkdir .coverage-data
export COVERAGE_PROCESS_START="$PWD/pyproject.toml" COVERAGE_FILE="$PWD/.coverage-data/coverage"
$python -m pytest "$@" || status=$?
$python -m coverage combine --quiet .coverage-data
# Only this checkout's library: a test also runs the private copy an old project vendored.
$python -m coverage report --include="$PWD/src/weightline/*" --skip-covered --sort=cover
exit "${status:-0}"
