#!/usr/bin/env bash
# A small DFT-labelled set: ethanol geometries from GFN2-xTB Langevin MD at 500 K (300 frames,
# one every 20 steps of 0.5 fs), each relabelled with B3LYP/def2-SVP (pyscf, density fitting).
# Both steps are molfit verbs and resume after an interruption: rerun the script.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
mkdir -p benchmarks/out
molfit sample CCO --oracle xtb --temperature 500 --steps 6000 --every 20 --seed 0 \
  --out benchmarks/out/ethanol_xtb_500K.extxyz
molfit label benchmarks/out/ethanol_xtb_500K.extxyz --oracle dft \
  --out benchmarks/out/ethanol_dft.extxyz
