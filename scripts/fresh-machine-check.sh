#!/usr/bin/env bash
# The README's promise, checked as a newcomer meets it: a clean clone of this checkout's HEAD, `npm ci`,
# `npm run demo` with the four steps it prints (scripts/demo-check.ts), then `npm test` with the system
# tools (Chromium, PgBouncer, psql) made unavailable through the variables the suites find them by
# (test/helpers/system-tools.ts). It must
#   1. pass, with the suites that need those tools counted as skipped (never passed) and named at the end
#      with the command that enables each;
#   2. under CI=true, fail, naming each missing tool, while the ordinary file still passes.
# To keep CI affordable (~1 min per full run on 2 cores) the two runs take only the files that call
# describeWith (test/helpers/system-tools.ts), plus test/admission.test.ts as an ordinary file: the other
# files need no system tool, and .ci/run's main run covers them. Exit 0 when all hold; the last line says
# what did not.
# Usage: scripts/fresh-machine-check.sh            (committed HEAD only: uncommitted edits are not cloned)
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/geko-fresh-XXXXXX")"
demo_pid=""
# The demo runs in its own process group (set -m below): stop that group, then remove the clone.
trap '[ -n "$demo_pid" ] && kill -TERM -- "-$demo_pid" 2>/dev/null; rm -rf "$work"' EXIT
# mktemp makes it 0700; as root the embedded PostgreSQL runs as the `postgres` user, which must reach the clone.
chmod 755 "$work"
clone="$work/geko"
ORDINARY=test/admission.test.ts
TOOLS=(chromium pgbouncer psql)

fail() { echo "fresh-machine check: FAILED: $*"; exit 1; }

echo "== fresh-machine check: clone $(git -C "$repo" rev-parse --short HEAD) into $clone"
git clone --quiet --no-hardlinks "$repo" "$clone" || fail "git clone"
git -C "$clone" checkout --quiet --detach "$(git -C "$repo" rev-parse HEAD)" || fail "checkout"
cd "$clone" || fail "cd"

echo "== npm ci (clean clone)"
npm ci --no-audit --no-fund >"$work/npm-ci.log" 2>&1 || { tail -20 "$work/npm-ci.log"; fail "npm ci"; }

echo "== npm run demo (clean clone) and the four steps it prints"
set -m
npm run demo >"$work/demo.log" 2>&1 &
demo_pid=$!
set +m
for _ in $(seq 1 240); do
  grep -q '^export TOKEN=' "$work/demo.log" && break
  kill -0 "$demo_pid" 2>/dev/null || break
  sleep 0.5
done
gateway_url="$(sed -n 's/^export GW=//p' "$work/demo.log")"
demo_token="$(sed -n 's/^export TOKEN=//p' "$work/demo.log")"
demo_workspace="$(sed -n 's/^export WS=\([^ ]*\).*/\1/p' "$work/demo.log")"
[ -n "$gateway_url" ] && [ -n "$demo_token" ] && [ -n "$demo_workspace" ] || { tail -30 "$work/demo.log"; fail "npm run demo printed no GW/TOKEN/WS within 120 s"; }
npx tsx scripts/demo-check.ts "$gateway_url" "$demo_token" "$demo_workspace" || { tail -30 "$work/demo.log"; fail "the demo's steps"; }
kill -INT -- "-$demo_pid"
wait "$demo_pid"
demo_pid=""
grep -q '^demo: stopped' "$work/demo.log" || { tail -20 "$work/demo.log"; fail "npm run demo did not stop cleanly on Ctrl-C"; }
echo "demo: started, the four steps answered as printed, stopped on Ctrl-C"

# The files whose suites need a tool: those that call describeWith (test/helpers/system-tools.ts).
mapfile -t tool_files < <(grep -lF "describeWith(" test/*.test.ts)
[ "${#tool_files[@]}" -gt 0 ] || fail "no test file calls describeWith (test/helpers/system-tools.ts)"
echo "files that need a system tool: ${tool_files[*]}; ordinary file: $ORDINARY"

# A fresh machine: no tool, no database from outside (the suite starts its own embedded PostgreSQL).
run_tests() { # $1 = label, $2 = CI value ("" = unset); writes $work/$1.json and $work/$1.log
  local ci=()
  [ -n "$2" ] && ci=(CI="$2")
  env -u CI -u DATABASE_URL -u TEST_DATABASE_URL "${ci[@]}" CHROMIUM_PATH=none PGBOUNCER_PATH=none PSQL_PATH=none \
    npm test -- --reporter=default --reporter=json --outputFile="$work/$1.json" "${tool_files[@]}" "$ORDINARY" \
    >"$work/$1.log" 2>&1
}

# Reads a vitest JSON report: per-file counts, "file passed failed skipped" lines, and the collection errors.
report() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const s of r.testResults) {
      const n = (st) => s.assertionResults.filter((a) => a.status === st).length;
      const file = require("path").relative(process.cwd(), s.name);
      console.log(file, n("passed"), n("failed") + (s.status === "failed" && s.assertionResults.length === 0 ? 1 : 0), n("skipped") + n("pending") + n("todo"));
    }' "$1"
}

echo "== npm test, tools unavailable"
run_tests skips ""
rc=$?
grep -E "Test Files|Tests " "$work/skips.log" | sed 's/\x1b\[[0-9;]*m//g'
sed -n '/^SKIPPED (counted as skipped/,/Under CI=true/p' "$work/skips.log"
[ "$rc" -eq 0 ] || { tail -60 "$work/skips.log"; fail "npm test with the tools unavailable exited $rc (expected 0)"; }
[ -s "$work/skips.json" ] || fail "no JSON report from the run with the tools unavailable"
while read -r file passed failed skipped; do
  [ "$failed" -eq 0 ] || fail "$file: $failed failed with the tools unavailable"
  if [ "$file" = "$ORDINARY" ]; then
    [ "$passed" -gt 0 ] && [ "$skipped" -eq 0 ] || fail "$ORDINARY: $passed passed, $skipped skipped (expected all to run)"
  else
    [ "$skipped" -gt 0 ] || fail "$file: nothing skipped with the tools unavailable (a suite ran or passed without its tool?)"
  fi
done < <(report "$work/skips.json")
for tool in "${TOOLS[@]}"; do
  grep -q "^  $tool is not available .*Enable: " "$work/skips.log" || fail "the skip summary does not name $tool and its command"
done

echo "== npm test, tools unavailable, CI=true"
run_tests ci true
rc=$?
grep -E "Test Files|Tests " "$work/ci.log" | sed 's/\x1b\[[0-9;]*m//g'
[ "$rc" -ne 0 ] || fail "npm test under CI=true passed with the tools unavailable (expected a failure naming them)"
for tool in "${TOOLS[@]}"; do
  grep -q "CI is set, so no suite may be skipped: .*$tool is not available" "$work/ci.log" \
    || { tail -40 "$work/ci.log"; fail "under CI=true the failure does not name $tool"; }
done
while read -r file passed failed skipped; do
  if [ "$file" = "$ORDINARY" ]; then
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || fail "$ORDINARY failed under CI=true: the failure is not only the missing tools"
  else
    [ "$failed" -gt 0 ] || fail "$file did not fail under CI=true with its tool unavailable"
  fi
  [ "$skipped" -eq 0 ] || fail "$file: $skipped skipped under CI=true"
done < <(report "$work/ci.json")

echo "fresh-machine check: passed (demo works; tests skip by name without the tools; CI=true fails naming ${TOOLS[*]})"
