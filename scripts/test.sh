#!/usr/bin/env bash
# The one test command (README, `npm test`, `just test`, .ci/run): set-up, static checks, every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> typecheck and lint"
npm run --silent lint
npx tsx scripts/check-imports.ts
echo "==> tests"
mkdir -p test-artifacts
# Files run one at a time: the end-to-end suites start real servers and share 2 cores.
# test/containers/ builds and runs container images: `npm run test:containers` (its own README line).
mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/containers/*' | sort)
[[ ${#files[@]} -gt 0 ]] || { echo "no test files found" >&2; exit 1; }
status=0
node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=test-artifacts/tests.tap \
  "${files[@]}" || status=$?
passed=$(grep -m1 -oP '^# pass \K\d+' test-artifacts/tests.tap || echo 0)
failed=$(grep -m1 -oP '^# fail \K\d+' test-artifacts/tests.tap || echo 0)
skipped=$(grep -m1 -oP '^# skipped \K\d+' test-artifacts/tests.tap || echo 0)
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
