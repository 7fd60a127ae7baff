"""The layer contract of docs/design.md, checked on the source: imports flow one way, packages
talk through their public ``__init__``, and no module imports itself back through a circle.

Every import counts, including those inside functions (a lazy import still couples two layers).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "molfit"

#: lowest first; a package may import only packages of a lower rank (or itself)
LAYERS: list[set[str]] = [
    {"errors", "units", "keys", "registry"},  # core modules
    {"parallel"},
    {"chem"},
    {"structures"},
    {"data"},
    {"nn"},
    {"train"},
    {"models"},
    {"uncertainty"},
    {"evaluate"},
    {"workflows"},
    {"explain", "atomistic", "screen", "trust", "zoo"},
    {"active", "materials"},
    {"primer"},
    {"cli"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every ``import molfit...`` / ``from molfit... import``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    package = _module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("molfit")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = package.split(".")
                base = base[: len(base) - node.level + (path.name == "__init__.py")]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if not module.startswith("molfit"):
                continue
            # ``from molfit.x import _y`` imports the private module molfit.x._y
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if (SRC.parent / Path(*sub.split("."))).with_suffix(".py").exists():
                    out.append((node.lineno, sub))
                else:
                    out.append((node.lineno, module))
    return out


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py")}


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_package_has_a_layer() -> None:
    top_level = {_top(m) for m in _modules()} - {None}
    missing = sorted(top_level - set(RANK))
    assert not missing, f"packages without a layer in LAYERS: {missing}"


def test_imports_flow_one_way_through_public_init() -> None:
    problems = []
    for name, path in sorted(_modules().items()):
        own = _top(name)
        for line, target in _imports(path):
            other = _top(target)
            if other is None or other == own or own is None:
                continue
            where = f"{path.relative_to(SRC.parent)}:{line} imports {target}"
            if RANK[other] >= RANK[own]:
                problems.append(f"{where} (layer {own!r} may not import {other!r})")
            if any(part.startswith("_") for part in target.split(".")[1:]):
                problems.append(f"{where} (private module of another package)")
    assert not problems, "\n".join(problems)


def test_no_import_circles() -> None:
    modules = _modules()
    graph = {
        name: {t for _, t in _imports(path) if t in modules and t != name}
        for name, path in modules.items()
    }
    # a package's __init__ re-exports its children; an edge from a child back to its own
    # package __init__ is the usual "import the sibling via the package" and is not followed
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


@pytest.mark.parametrize(
    "module", ["molfit", "molfit.chem", "molfit.data", "molfit.cli", "molfit.zoo"]
)
def test_light_modules_do_not_import_torch(module: str) -> None:
    import subprocess
    import sys

    code = f"import sys, {module}; print('torch' in sys.modules, 'lightning' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], f"{module} imports torch or lightning"


def test_dmpnn_training_does_not_import_torch_geometric_lightning_or_dynamo() -> None:
    """torch_geometric (~700 modules, ~0.3 s of CPU) is the GCN's alone: a D-MPNN fit never
    loads it. On one device it trains with molfit's torch loop: no Lightning (~4 s of CPU to
    import) and no ``torch._dynamo`` (~1.5 s, which ``torch.optim`` and
    ``torch.use_deterministic_algorithms`` would import)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from molfit.models import get_model\n"
        "m = get_model('dmpnn', epochs=1, patience=None, val_fraction=0, progress_bar=False,\n"
        "              hidden=16)\n"
        "m.fit(['CCO', 'CCN', 'c1ccccc1', 'CC(=O)O'], [0.1, 0.2, 0.3, 0.4])\n"
        "print(*[n in sys.modules for n in ('torch_geometric', 'lightning', 'torch._dynamo')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-3:] == ["False", "False", "False"]


def test_dmpnn_train_command_imports_no_other_model_nor_matplotlib(tmp_path) -> None:
    """``molfit train --model dmpnn`` is measured against ``chemprop train`` as a whole command:
    it imports neither the other models' modules nor matplotlib (the report's figures are
    molfit's own SVG) and, on a regression target, neither scikit-learn nor SciPy (molfit's
    estimators implement scikit-learn's protocol; the regression metrics are numpy)."""
    import subprocess
    import sys

    import molfit.data

    ds = molfit.data.load("freesolv")
    rows = ["smiles,y"] + [
        f"{s},{v}" for s, v in zip(list(ds.smiles)[:60], ds.frame["dG_hydration"][:60], strict=True)
    ]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    code = (
        "import sys\n"
        "from molfit.cli import main\n"
        "try:\n"
        f"    sys.argv = ['molfit', 'train', {str(tmp_path / 'd.csv')!r}, '--target', 'y',\n"
        f"                '--model', 'dmpnn', '--epochs', '1', '--no-progress',\n"
        f"                '--out', {str(tmp_path / 'run')!r}]\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "names = ('matplotlib', 'sklearn', 'scipy', 'scipy.stats', 'scipy.sparse',\n"
        "         'molfit.models._trees', 'molfit.models._linear', 'molfit.models._gp')\n"
        "print(*[n for n in names if n in sys.modules] or ['none'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1:] == ["none"], out.stdout
    assert (tmp_path / "run" / "report.html").read_text().count("<figure><svg") >= 3
