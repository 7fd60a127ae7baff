#!/usr/bin/env bash
# Create the peers' virtualenvs used by the comparison benchmarks, each with torch pinned to the
# project's CPU build: benchmarks/.venvs/chemprop (chemprop 2.3.1) and
# benchmarks/.venvs/schnetpack (schnetpack 2.1.1; installed --no-deps because it pins
# sympy<=1.12, which torch 2.13 cannot use, so its run-time dependencies are listed here) and
# benchmarks/.venvs/mace (mace-torch 0.3.16, trained from scratch: its foundation weights are a
# download, which this machine cannot make).
# Usage: bash benchmarks/setup_peers.sh [chemprop] [schnetpack] [mace]   (all when none is named)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venvs="$here/.venvs"
mkdir -p "$venvs"
constraints="$venvs/constraints.txt"
echo "torch==2.13.0" > "$constraints"
want=("$@")
[ ${#want[@]} -eq 0 ] && want=(chemprop schnetpack mace)

for peer in "${want[@]}"; do
  venv="$venvs/$peer"
  [ -x "$venv/bin/python" ] || python -m venv "$venv"
  pip=("$venv/bin/python" -m pip install -q -c "$constraints")
  "${pip[@]}" torch==2.13.0
  case "$peer" in
    chemprop)
      "${pip[@]}" chemprop==2.3.1 ;;
    schnetpack)
      "${pip[@]}" "sympy==1.14.*" "numpy>=2" ase h5py pyyaml hydra-core hydra-colorlog \
        "pytorch-lightning>=2" torchmetrics rich fasteners dirsync torch-ema "matscipy>=1.1" \
        tensorboard tensorboardX tqdm protobuf
      "${pip[@]}" --no-deps schnetpack==2.1.1 ;;
    mace)
      "${pip[@]}" mace-torch==0.3.16 ;;
    *)
      echo "unknown peer '$peer' (expected chemprop, schnetpack or mace)" >&2; exit 2 ;;
  esac
  dist="$peer"; [ "$peer" = mace ] && dist=mace-torch
  echo "$peer: $("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$dist'))")"
done
