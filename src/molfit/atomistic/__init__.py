"""Atomistic simulation around molfit's potentials: oracles that label structures (GFN2-xTB,
DFT, EMT), oracle-driven sampling, molecular dynamics and relaxation with any ASE calculator,
and resumable extxyz trajectories.

Units: Å, eV, eV/Å, eV/Å³, fs, K.
"""

from molfit.atomistic._calculator import Calculator, load_calculator
from molfit.atomistic._md import ENSEMBLES, MDResult, run_md, summarize
from molfit.atomistic._oracles import ORACLES, OracleError, evaluate, make_oracle
from molfit.atomistic._relax import OPTIMIZERS, RelaxResult, relax
from molfit.atomistic._replicas import (
    REPLICA_ENSEMBLES,
    BatchedPotential,
    ReplicaResult,
    run_replicas,
)
from molfit.atomistic._sample import LabelResult, label, sample, start_structure
from molfit.atomistic._trajectory import (
    FrameWriter,
    format_frame,
    read_frames,
    repair,
    truncate_frames,
)

__all__ = [
    "ENSEMBLES",
    "OPTIMIZERS",
    "ORACLES",
    "REPLICA_ENSEMBLES",
    "BatchedPotential",
    "Calculator",
    "FrameWriter",
    "LabelResult",
    "MDResult",
    "OracleError",
    "RelaxResult",
    "ReplicaResult",
    "evaluate",
    "format_frame",
    "label",
    "load_calculator",
    "make_oracle",
    "read_frames",
    "relax",
    "repair",
    "run_md",
    "run_replicas",
    "sample",
    "start_structure",
    "summarize",
    "truncate_frames",
]
