"""Time chemprop 2.3.1's graph featurizer, block by block; run with the chemprop venv's Python.

    benchmarks/.venvs/chemprop/bin/python benchmarks/chemprop_featurize.py SMILES_FILE

``featurize_speed.py`` starts this script pinned to the same core as itself and drives it over
stdin/stdout so that chemprop and molfit are timed on the same block of molecules one right after
the other (load from other processes then hits both alike). Each line read is ``START END``; the
reply is a JSON line with the seconds ``SimpleMoleculeMolGraphFeaturizer`` (chemprop's default: 72
atom and 14 bond features) took on ``smiles[START:END]`` from SMILES (``chemprop.utils.make_mol``
then the featurizer, as chemprop's data loading does) and from molecules parsed beforehand.
An empty line ends the script.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from chemprop.featurizers import SimpleMoleculeMolGraphFeaturizer
from chemprop.utils import make_mol


def main() -> None:
    smiles = Path(sys.argv[1]).read_text().split()
    featurizer = SimpleMoleculeMolGraphFeaturizer()
    graph = featurizer(make_mol(smiles[0]))
    header = {"n": len(smiles), "atom_dim": graph.V.shape[1], "bond_dim": graph.E.shape[1]}
    print(json.dumps(header), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        start, end = map(int, line.split())
        block = smiles[start:end]
        t0 = time.perf_counter()
        for s in block:
            featurizer(make_mol(s))
        t1 = time.perf_counter()
        mols = [make_mol(s) for s in block]
        t2 = time.perf_counter()
        for mol in mols:
            featurizer(mol)
        t3 = time.perf_counter()
        print(json.dumps({"from_smiles": t1 - t0, "from_mols": t3 - t2}), flush=True)


if __name__ == "__main__":
    main()
