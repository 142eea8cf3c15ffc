#!/usr/bin/env bash
# Mutation testing of the rule code (node/protocol/entry.cc, ledger.cc, agreements.cc,
# audit.cc): applies each one-line bug of tests/mutation/mutants.txt in turn
# to a scratch copy of the tree, rebuilds parley_tests there, runs the unit
# tests (not e2e), and reports whether they caught it:
#   KILLED     a test failed (the first failing test case is named)
#   SURVIVED   every unit test passed with the bug in place: add a test, or
#              explain in mutants.txt why the mutant is equivalent
#   STALE      the snippet no longer occurs exactly once: update mutants.txt
#   STILLBORN  the mutant does not compile (not counted)
# and a final score line. Not in CI: it rebuilds per mutant (about a minute
# each on two cores). The working tree is never touched.
#
#   tests/mutation/run.sh            # every mutant
#   tests/mutation/run.sh ID...      # only these
#
# Environment: MUTATION_DIR (scratch copy and its build; default
# /tmp/parley-mutation), JOBS (build jobs, default 2), TEST_TIMEOUT (seconds
# per test run, default 600). Exit status: 0 if no mutant survived.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
list="$root/tests/mutation/mutants.txt"
work=${MUTATION_DIR:-/tmp/parley-mutation}
jobs=${JOBS:-2}
timeout_s=${TEST_TIMEOUT:-600}
src="$work/src"
build="$work/build"
logs="$work/logs"
mkdir -p "$src" "$logs"

# Refresh the scratch copy: copy each file whose content differs (a mutant
# left by an interrupted run included), with a new mtime, so that ninja
# rebuilds exactly what changed. (Copying with the original mtimes would not
# do: an object built later from older content would look up to date.)
python3 - "$root" "$src" <<'PY'
import filecmp, os, shutil, sys
root, dst = sys.argv[1:]
for d, dirs, files in os.walk(root):
    rel = os.path.relpath(d, root)
    if rel == ".":
        dirs[:] = [x for x in dirs if x not in ("build", ".git")]
    for f in files:
        s, t = os.path.join(d, f), os.path.join(dst, rel, f)
        if os.path.isfile(s) and not (os.path.isfile(t) and filecmp.cmp(s, t, shallow=False)):
            os.makedirs(os.path.dirname(t), exist_ok=True)
            shutil.copyfile(s, t)
            shutil.copymode(s, t)
PY
# Only the unit tests run here: parley_tests need not relink `parley` per
# mutant (it is built once, below, for the few unit tests that start it).
sed -i 's/^add_dependencies(parley_tests parley)$/# (mutation run: parley built once)/' "$src/tests/CMakeLists.txt"

echo "== baseline: building in $build"
# Release (no debug info) and lld: a mutant costs one compile and one link,
# and the link is most of it.
linker=()
command -v ld.lld >/dev/null && linker=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld)
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${linker[@]}" >"$logs/configure.log"
if ! cmake --build "$build" -j "$jobs" --target parley parley_tests >"$logs/baseline-build.log" 2>&1 </dev/null; then
  echo "baseline does not build; see $logs/baseline-build.log"
  exit 2
fi
run_tests() {
  timeout "$timeout_s" "$build/tests/parley_tests" --test-suite-exclude=e2e --no-intro=true --abort-after=1 \
    --no-colors=true >"$1" 2>&1 </dev/null
}
if ! run_tests "$logs/baseline-tests.log"; then
  echo "baseline unit tests fail; see $logs/baseline-tests.log"
  exit 2
fi
echo "== baseline: unit tests pass"

# Replaces the one occurrence of $2 in file $1 by $3; fails unless exactly one.
apply() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
if text.count(old) != 1:
    sys.exit(1)
open(path, "w").write(text.replace(old, new))
PY
}

wanted=("$@")
killed=0 survived=0 stale=0 stillborn=0 total=0
survivors=()
while IFS= read -r line; do
  [[ -z "${line// }" || "$line" == \#* ]] && continue
  IFS=$'\x1f' read -r id file old new what <<<"${line// @@ /$'\x1f'}"
  if ((${#wanted[@]})) && [[ ! " ${wanted[*]} " == *" $id "* ]]; then continue; fi
  total=$((total + 1))
  log="$logs/$id.log"
  if ! apply "$src/$file" "$old" "$new"; then
    printf '%-22s STALE      %s: snippet not found exactly once\n' "$id" "$file"
    stale=$((stale + 1))
    continue
  fi
  if ! cmake --build "$build" -j "$jobs" --target parley_tests >"$log" 2>&1 </dev/null; then
    printf '%-22s STILLBORN  does not compile (%s)\n' "$id" "$log"
    stillborn=$((stillborn + 1))
  elif run_tests "$log"; then
    printf '%-22s SURVIVED   %s\n' "$id" "$what"
    survived=$((survived + 1))
    survivors+=("$id")
  else
    first=$(grep -m1 '^TEST CASE:' "$log" | sed 's/^TEST CASE: *//' || true)
    printf '%-22s KILLED     by "%s"\n' "$id" "${first:-(crash or timeout, see $log)}"
    killed=$((killed + 1))
  fi
  cp "$root/$file" "$src/$file"  # restore, with a new mtime
done <"$list"

judged=$((killed + survived))
echo "mutation score: $killed/$judged killed ($survived survived, $stale stale, $stillborn stillborn, $total run)"
((${#survivors[@]})) && echo "survivors: ${survivors[*]}"
[[ $survived -eq 0 ]]
