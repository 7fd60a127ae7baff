"""The example commands each verb's ``--help`` ends with: one tour, in the order it runs.

Every example uses built-in data, shipped pretrained models or files that an earlier example
of the tour writes, so the whole list runs as it is in an empty folder of a fresh install
(``benchmarks/cli_examples.py`` does, and checks that no command ends in a traceback);
``tests/cli/test_examples.py`` parses every one against its verb's options.
"""

from __future__ import annotations

#: (verb, command) in the order the tour runs; the verb is the command path without ``molfit``
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("data list", "molfit data list"),
    ("data show", "molfit data show freesolv"),
    ("data split", "molfit data split freesolv --method scaffold -o split.json"),
    ("train", "molfit train b3db"),
    ("train", "molfit train freesolv --split-file split.json -o runs/freesolv"),
    ("train", "molfit train freesolv --model dmpnn --epochs 5 -o runs/freesolv-dmpnn"),
    ("models list", "molfit models list"),
    ("models show", "molfit models show b3db"),
    ("predict", "molfit predict qm9-u0 CCO"),
    ("predict", "molfit predict freesolv-gp freesolv -o freesolv.csv"),
    ("predict", "molfit predict runs/freesolv freesolv.csv -o again.parquet"),
    ("data check", "molfit data check freesolv.csv -t dG_hydration"),
    ("evaluate", "molfit evaluate freesolv-gp freesolv"),
    ("explain", 'molfit explain runs/freesolv-dmpnn "CC(=O)Oc1ccccc1C(=O)O" -o aspirin.png'),
    ("screen", "molfit screen b3db solubility -o hits --top 20 --diverse --filter pains,lipinski"),
    ("compare", "molfit compare freesolv --models extratrees,ridge --seeds 2 --split scaffold"),
    ("suggest", "molfit suggest freesolv-gp solubility --n 5 --strategy diverse -o next.csv"),
    ("learn", "molfit learn freesolv --start 50 --batch 10 --rounds 3 --seeds 2"),
    ("md", "molfit md ethanol-xtb CCO -o md.extxyz --steps 200"),
    ("relax", "molfit relax ethanol-xtb CCO -o ethanol.xyz"),
    ("sample", "molfit sample CCO --oracle xtb -o frames.extxyz --steps 100"),
    ("build", "molfit build Cu --cubic -o cu.cif"),
    ("build", "molfit build Cu --cubic --repeat 2 --substitute Au:0.25 -o cuau.cif"),
    ("perturb", "molfit perturb cu.cif -o cells.extxyz --strained 4 --rattled 4 --vacancies 1"),
    ("label", "molfit label cells.extxyz --oracle emt -o cells-emt.extxyz"),
    ("properties", "molfit properties emt cu.cif --which eos,elastic"),
    ("primer", "molfit primer --no-browser"),
)


def epilog(verb: str) -> str:
    """The ``Examples:`` block of ``verb``'s help (click keeps ``\\b`` paragraphs as written)."""
    lines = [command for name, command in EXAMPLES if name == verb]
    if not lines:
        raise KeyError(f"no example for {verb!r}")
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


__all__ = ["EXAMPLES", "epilog"]
