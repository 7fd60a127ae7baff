"""The shipped pretrained models: where they live, their cards, their integrity check, and how a
freshly trained run directory becomes one.

Each model is a ``molfit train`` run directory under ``molfit/zoo/models/<name>/`` (package data):
``model/`` (weights as safetensors or ``allow_pickle=False`` npz), ``metrics.json``,
``split.json``, ``train_keys.json``, ``test_predictions.csv``, plus two files of its own:
``card.json`` (what it is, how it was made, its test figures) and ``MANIFEST.json`` (the SHA-256
of every other file). :func:`pretrained` checks the manifest before handing the directory out, so
a corrupt or edited model is refused instead of predicting quietly wrong numbers. Reading a run
directory writes nothing into it, so the package directory is used in place (no cache copy).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from molfit.errors import InputError, file_sha256

#: the package-data folder holding one sub-folder per shipped model
MODELS_DIR = Path(__file__).resolve().parent / "models"
CARD_FILE = "card.json"
MANIFEST_FILE = "MANIFEST.json"
MANIFEST_FORMAT = "molfit.pretrained/1"
#: run-directory files copied into the package (the HTML report is left out: it is rebuilt by
#: ``molfit evaluate``/``train`` and would double the size with embedded figures)
SHIPPED_FILES = ("split.json", "metrics.json", "train_keys.json", "test_predictions.csv")


@dataclass(frozen=True)
class ModelCard:
    """What a shipped model is and how it was made.

    Attributes:
        name: the name :func:`pretrained` and the CLI accept (``qm9-u0``).
        title: one line saying what it predicts.
        task: ``regression``, ``classification`` or ``potential`` (energies and forces).
        input_kind: ``molecules`` (SMILES) or ``structures`` (3D; a SMILES gets an ETKDG+MMFF
            conformer).
        targets: target name → unit (``""`` for dimensionless or class labels).
        model: the registered model class (``molfit models list``), e.g. ``schnet``.
        params: the hyper-parameters it was trained with (as given to ``molfit train --param``).
        data: the training data (dataset, subset, how it was made).
        split: method, seed and train/valid/test sizes.
        seed: the random seed of subset, split and initialisation.
        test: target → headline test metrics (from the run's ``metrics.json``).
        headline: the one test figure ``molfit models list`` prints (``MAE 0.19 eV``).
        script: the command that reproduces it.
        trained: machine, date and seconds of the training run.
        limits: what it is not good for.
        size_bytes: bytes on disk of all its files (from the manifest).
        path: its run directory.
    """

    name: str
    title: str
    task: str
    input_kind: str
    targets: dict[str, str]
    model: str
    params: dict[str, Any]
    data: str
    split: str
    seed: int
    test: dict[str, dict[str, float]]
    headline: str
    script: str
    trained: dict[str, Any] = field(default_factory=dict)
    limits: str = ""
    size_bytes: int = 0
    path: Path = MODELS_DIR

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-ready values (``path`` as text)."""
        out = asdict(self)
        out["path"] = str(self.path)
        return out


def _root(root: str | os.PathLike[str] | None) -> Path:
    return MODELS_DIR if root is None else Path(root)


def model_names(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the shipped models (folders holding a ``card.json``), sorted."""
    base = _root(root)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / CARD_FILE).is_file())


def _files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and p.name != MANIFEST_FILE and "__pycache__" not in p.parts
    )


def write_manifest(directory: str | os.PathLike[str]) -> Path:
    """Record the SHA-256 and size of every file under ``directory`` in ``MANIFEST.json``."""
    directory = Path(directory)
    files = {
        p.relative_to(directory).as_posix(): {"sha256": file_sha256(p), "bytes": p.stat().st_size}
        for p in _files(directory)
    }
    path = directory / MANIFEST_FILE
    path.write_text(json.dumps({"format": MANIFEST_FORMAT, "files": files}, indent=2) + "\n")
    return path


def verify(directory: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Check a shipped model's files against its ``MANIFEST.json``; return the manifest entries.

    Raises:
        InputError: no manifest, an unknown manifest format, or a file that is missing,
            truncated or edited since the model was packaged (the message names the file).
    """
    directory = Path(directory)
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise InputError(f"{directory}: not a shipped molfit model (no {MANIFEST_FILE})")
    try:
        manifest = json.loads(path.read_text())
        files = dict(manifest["files"])
        fmt = manifest.get("format")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: corrupt ({type(exc).__name__}: {exc})") from None
    if fmt != MANIFEST_FORMAT:
        raise InputError(f"{path}: unknown format {fmt!r}; this molfit reads {MANIFEST_FORMAT}")
    for name, entry in files.items():
        file = directory / name
        if not file.is_file():
            raise InputError(
                f"{file}: missing from the shipped model {directory.name!r}; reinstall molfit "
                "or rebuild it with scripts/train_pretrained.py"
            )
        if file.stat().st_size != entry.get("bytes") or file_sha256(file) != entry.get("sha256"):
            raise InputError(
                f"{file}: corrupt or edited (its SHA-256 does not match {MANIFEST_FILE}); the "
                f"shipped model {directory.name!r} is refused; reinstall molfit or rebuild it "
                "with scripts/train_pretrained.py"
            )
    return files


def _unknown(name: str, root: str | os.PathLike[str] | None) -> InputError:
    names = model_names(root)
    shipped = ", ".join(names) if names else "none (this installation ships no models)"
    return InputError(
        f"{name!r} is not a shipped pretrained model; shipped: {shipped} "
        "(`molfit models list --pretrained`)"
    )


def _model_dir(name: str, root: str | os.PathLike[str] | None) -> Path:
    key = str(name).strip().lower()
    if key not in model_names(root):
        raise _unknown(str(name), root)
    return _root(root) / key


def pretrained(name: str, *, root: str | os.PathLike[str] | None = None) -> Path:
    """The run directory of the shipped model ``name``, after checking its files.

    Use it wherever a run directory goes: :func:`molfit.workflows.open_run`,
    :func:`molfit.workflows.load_run_model`, :func:`molfit.atomistic.load_calculator` (the
    ``ethanol-xtb`` potential) or any CLI verb taking ``RUN``.

    Args:
        name: a name from :func:`list_models` (``qm9-u0``, ``qm9-gap``, ``ethanol-xtb``,
            ``b3db``, ``freesolv-gp``); case does not matter.
        root: the folder holding the models (default: the package's own).

    Raises:
        InputError: an unknown name (the message lists the shipped ones), or a model whose
            files fail the manifest check.
    """
    path = _model_dir(name, root)
    verify(path)
    return path


def _read_card(directory: Path) -> dict[str, Any]:
    path = directory / CARD_FILE
    try:
        card = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: corrupt ({type(exc).__name__}: {exc})") from None
    if not isinstance(card, dict):
        raise InputError(f"{path}: not a model card")
    return card


def model_card(name: str, *, root: str | os.PathLike[str] | None = None) -> ModelCard:
    """The :class:`ModelCard` of one shipped model (its files are not hashed: see
    :func:`pretrained` for that).

    Raises:
        InputError: an unknown name, or a card that cannot be read.
    """
    directory = _model_dir(name, root)
    card = _read_card(directory)
    known = set(ModelCard.__dataclass_fields__) - {"size_bytes", "path"}
    missing = sorted({f.name for f in _required_fields()} - set(card))
    if missing:
        raise InputError(f"{directory / CARD_FILE}: missing field(s) {missing}")
    size = sum(p.stat().st_size for p in _files(directory))
    manifest = directory / MANIFEST_FILE
    size += manifest.stat().st_size if manifest.is_file() else 0
    return ModelCard(
        **{k: v for k, v in card.items() if k in known}, size_bytes=size, path=directory
    )


def _required_fields() -> list[Any]:
    from dataclasses import MISSING, fields

    return [f for f in fields(ModelCard) if f.default is MISSING and f.default_factory is MISSING]


def list_models(*, root: str | os.PathLike[str] | None = None) -> list[ModelCard]:
    """The cards of every shipped model, sorted by name."""
    return [model_card(n, root=root) for n in model_names(root)]


def package_run(
    run_dir: str | os.PathLike[str],
    name: str,
    card: dict[str, Any],
    *,
    root: str | os.PathLike[str] | None = None,
) -> Path:
    """Copy a ``molfit train`` run directory into ``root/<name>`` as a shipped model: its
    ``model/`` and :data:`SHIPPED_FILES`, ``card.json`` (``card`` must hold every required
    :class:`ModelCard` field) and a fresh ``MANIFEST.json``. Built in a temporary sibling and
    renamed into place, replacing an older copy. Returns the new directory.

    Raises:
        InputError: ``run_dir`` is not a run directory, or ``card`` lacks a required field.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "model" / "config.json").is_file():
        raise InputError(f"{run_dir}: not a run directory (no model/config.json)")
    missing = sorted({f.name for f in _required_fields()} - set(card))
    if missing:
        raise InputError(f"card for {name!r}: missing field(s) {missing}")
    base = _root(root)
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=base))
    try:
        shutil.copytree(run_dir / "model", tmp / "model")
        for file in SHIPPED_FILES:
            if (run_dir / file).is_file():
                shutil.copy2(run_dir / file, tmp / file)
        body = {k: v for k, v in card.items() if k not in ("size_bytes", "path")}
        (tmp / CARD_FILE).write_text(json.dumps(body, indent=2, default=str) + "\n")
        write_manifest(tmp)
        tmp.chmod(0o755)
        final = base / name
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=base))
            os.replace(final, old / name)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
