#!/usr/bin/env bash
# Install footprint of molfit, before and after the lighter install: each in a fresh virtualenv,
# one after the other (never in parallel), with .ci/constraints.txt so torch stays 2.13.0 CPU.
#
#   benchmarks/install_footprint.sh [before|after|both]     (default: both; a few minutes each)
#
# "before" installs the tree at $BEFORE_REV (default da6857a, the old pyproject.toml); "after"
# installs this checkout. Both are plain `pip install DIR` (not editable), so the package's own
# files, shipped data included, are counted. Measured: packages installed (pip itself excluded),
# MB of site-packages, install wall time, and `molfit --help` wall time (best of 3, after one
# warm-up run that writes the bytecode caches). Also the size of molfit's own wheel.
# Results: $WORK/<label>.tsv and a table on stdout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BEFORE_REV=${BEFORE_REV:-da6857a}
WORK=${WORK:-/tmp/molfit-footprint}
PYTHON=${PYTHON:-python3.11}
CONSTRAINTS="$ROOT/.ci/constraints.txt"
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$WORK"

now() { date +%s.%N; }

measure() {
  local label=$1 src=$2
  local venv="$WORK/venv-$label"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  local t0 t1
  t0=$(now)
  "$venv/bin/pip" install -q -c "$CONSTRAINTS" "$src" 2> >(grep -v '^WARNING: Location' >&2)
  t1=$(now)
  local n_packages mb help_s wheel_kb
  n_packages=$("$venv/bin/pip" list --format=freeze 2>/dev/null | grep -cvE '^(pip|setuptools)==')
  mb=$(du -sm "$venv"/lib/python*/site-packages | cut -f1)
  "$venv/bin/molfit" --help >/dev/null
  help_s=$("$venv/bin/python" - "$venv/bin/molfit" <<'PY'
import subprocess, sys, time
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "--help"], check=True, stdout=subprocess.DEVNULL)
    best = min(best, time.perf_counter() - t)
print(f"{best:.2f}")
PY
)
  rm -rf "$WORK/wheel-$label"
  "$venv/bin/pip" wheel -q --no-deps -w "$WORK/wheel-$label" "$src" \
    2> >(grep -v '^WARNING: Location' >&2) || true
  wheel_kb=$(du -k "$WORK"/wheel-"$label"/molfit-*.whl 2>/dev/null | cut -f1 || echo "?")
  printf '%s\t%s\t%s\t%.0f\t%s\t%s\n' "$label" "$n_packages" "$mb" "$(echo "$t1 - $t0" | bc)" \
    "$help_s" "${wheel_kb:-?}" >"$WORK/$label.tsv"
  "$venv/bin/pip" list --format=freeze >"$WORK/$label-freeze.txt" 2>/dev/null
  echo "done: $label" >&2
}

what=${1:-both}
if [[ $what == before || $what == both ]]; then
  rm -rf "$WORK/src-before"
  mkdir -p "$WORK/src-before"
  git -C "$ROOT" archive "$BEFORE_REV" | tar -x -C "$WORK/src-before"
  measure before "$WORK/src-before"
fi
if [[ $what == after || $what == both ]]; then
  measure after "$ROOT"
fi

echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $("$PYTHON" --version)"
printf '%-8s %9s %17s %16s %15s %10s\n' install packages site-packages_MB install_time_s molfit_help_s wheel_kB
for label in before after; do
  [[ -f $WORK/$label.tsv ]] || continue
  IFS=$'\t' read -r l n mb t h w <"$WORK/$label.tsv"
  printf '%-8s %9s %17s %16s %15s %10s\n' "$l" "$n" "$mb" "$t" "$h" "$w"
done
