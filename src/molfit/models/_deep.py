"""Shared estimator base for molfit's graph neural networks (D-MPNN, GCN).

:class:`DeepGraphModel` follows scikit-learn's contract like the classical models (``fit`` returns
``self``; ``predict``, ``predict_proba``, ``predict_record`` come from
:class:`~molfit.models.MoleculeModel`), but trains one network on all tasks at once with
:class:`molfit.train.PredictorModule`: missing labels are masked in the loss, regression targets
are standardized on the training rows and predictions come back in target units.

Uncertainty: an ensemble of ``ensemble`` members (different seeds for initialisation and batch
order) gives the std as the spread of the members' means; ``mean_variance=True`` adds a
per-molecule variance head trained by Gaussian negative log-likelihood; both together give the
total ``std² = mean(σ²_i) + var(μ_i)``. Conformal intervals are added on top by the same code as
for the classical models (``molfit.evaluate``), which only needs :meth:`predict_features`.

Saving writes ``config.json`` and ``weights.safetensors`` (tensors only, nothing that can run
code when loaded). Hyper-parameters are the architecture and the training
(:class:`molfit.train.TrainingConfig`'s fields); where a fit runs (devices, strategy, checkpoints,
progress bar, featurization processes) is a :class:`molfit.train.Runtime` passed to ``fit`` and
never saved. The graph featurizer's scheme (feature groups, elements, column names) is saved with
the model, and a model whose featurizer no longer matches this molfit's is refused on load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from molfit.chem import to_mols
from molfit.errors import InputError
from molfit.models._base import CONFIG_FILE, MoleculeModel, as_targets, infer_task
from molfit.train import autocast_for

TORCH_WEIGHTS_FILE = "weights.safetensors"
PRECISIONS = ("32", "bf16-mixed")
#: settings of a fit that are molfit.train.Runtime's, not hyper-parameters; a model saved by an
#: earlier molfit lists them among its params, and loading drops them
RUNTIME_PARAMS = (
    "accelerator",
    "devices",
    "num_nodes",
    "strategy",
    "progress_bar",
    "n_jobs",
    "checkpoint_dir",
)


def legacy_runtime(owner: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Runtime settings given to an estimator's constructor (the old way), checked by name.

    They are used by ``fit`` when it gets no ``runtime=``, but are no hyper-parameters:
    ``get_params``, ``clone`` and saved models do not carry them.

    Raises:
        TypeError: a name that is neither a hyper-parameter nor a runtime setting.
    """
    unknown = sorted(set(settings) - set(RUNTIME_PARAMS))
    if unknown:
        raise TypeError(f"{owner}.__init__() got unexpected keyword argument(s) {unknown}")
    return dict(settings)


def graph_featurizer_settings() -> dict[str, Any]:
    """The scheme of molfit's graph featurizer: feature groups, elements and column names,
    with a digest of the columns (what a saved graph model's inputs mean)."""
    import hashlib

    from molfit.chem import GraphFeaturizer

    featurizer = GraphFeaturizer()
    names = featurizer.feature_names()
    digest = hashlib.sha256(json.dumps(names, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "scheme": "molfit.chem.GraphFeaturizer",
        "atom_features": list(featurizer.atom_features),
        "bond_features": list(featurizer.bond_features),
        "elements": [int(z) for z in featurizer.elements],
        "atom_dim": int(featurizer.atom_dim),
        "bond_dim": int(featurizer.bond_dim),
        "columns_digest": digest,
    }


#: molecules per inference batch. Small batches keep a batch's (directed bonds × hidden) message
#: tensors in the CPU's caches: on drug-sized molecules a D-MPNN predicts 2,000 molecules in
#: ~0.5 ms each with 32 per batch against ~1.0 ms with 1,000 (AMD EPYC, one thread;
#: benchmarks/RESULTS.md §13c). Training batches are the model's own ``batch_size``.
PREDICT_BATCH_SIZE = 32


@dataclass
class GraphFeatures:
    """Featurized molecules: graphs plus optional scaled descriptors, indexable like an array.

    Attributes:
        graphs: object array ``(n,)`` of :class:`molfit.chem.MolGraph`.
        descriptors: ``(n, n_descriptors)`` RDKit descriptors or ``None``: raw values from
            :meth:`DeepGraphModel.featurize`, standardized (``NaN`` -> 0) once ``scaled``.
        scaled: whether ``descriptors`` are already standardized with the training statistics.
    """

    graphs: np.ndarray
    descriptors: np.ndarray | None = None
    scaled: bool = False

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, idx: Any) -> GraphFeatures:
        desc = None if self.descriptors is None else self.descriptors[idx]
        return GraphFeatures(self.graphs[idx], desc, self.scaled)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.graphs), 0 if self.descriptors is None else self.descriptors.shape[1])


class DeepGraphModel(MoleculeModel):
    """Base class for graph networks; subclasses implement :meth:`_build_network`.

    Common hyper-parameters (stored by subclasses' ``__init__``):
        task: ``"auto"``, ``"regression"`` or ``"classification"``.
        epochs, batch_size, lr: training length, molecules per batch, peak learning rate.
        patience: epochs without validation improvement before stopping (``None``: never).
        val_fraction: share of the training rows held out (seeded) for early stopping and the
            best-weights choice when ``fit`` gets no ``X_val``; 0 trains on all rows for
            ``epochs`` epochs.
        ensemble: number of independently seeded members.
        mean_variance: add a variance output trained by Gaussian NLL (regression).
        descriptors: concatenate standardized RDKit descriptors before the head.
        seed: base seed (member ``i`` uses ``seed + i``).
        deterministic: deterministic torch algorithms.
        precision: ``"32"`` (float32 throughout) or ``"bf16-mixed"``: matrix products in
            bfloat16 with float32 weights, in training and prediction (about 2x faster on CPUs
            with AVX512-BF16 or AMX and on recent GPUs; see ``docs/gnn.md`` for its accuracy).
    """

    has_std: ClassVar[bool] = True
    uses_descriptors: ClassVar[bool] = False

    # -- to implement ---------------------------------------------------------------------------
    def _build_network(self, atom_dim: int, bond_dim: int, n_tasks: int, n_desc: int) -> nn.Module:
        raise NotImplementedError

    # -- featurization --------------------------------------------------------------------------
    def _featurizer_settings(self) -> dict[str, Any]:
        return {"featurizer": "graph", "descriptors": bool(self._use_descriptors())}

    def _runtime(self, runtime: Any = None) -> Any:
        """The :class:`molfit.train.Runtime` of this fit: ``runtime``, else the settings given
        to the constructor (old style), else the defaults (one CPU, progress bar)."""
        from molfit.train import Runtime

        if runtime is not None:
            if not isinstance(runtime, Runtime):
                raise InputError(
                    f"runtime must be a molfit.train.Runtime, got {type(runtime).__name__}"
                )
            return runtime
        return Runtime(**getattr(self, "_legacy_runtime", {}))

    def training_config(self) -> Any:
        """How this model trains, as a :class:`molfit.train.TrainingConfig` (read from the
        flat hyper-parameters, so ``get_params``/``set_params``/``clone`` keep working)."""
        from molfit.train import TrainingConfig

        return TrainingConfig.from_params(self.get_params())

    def _use_descriptors(self) -> bool:
        return self.uses_descriptors and bool(getattr(self, "descriptors", False))

    def featurize(self, X: Any, n_jobs: int | None = None) -> GraphFeatures:
        """Graphs (and raw descriptors, unscaled) of molecules ``X`` (``n_jobs`` processes).

        Raises:
            InvalidMoleculeError: a SMILES cannot be parsed (the message names the row).
        """
        from molfit.chem import GraphFeaturizer

        if isinstance(X, str):
            raise InputError("expected a sequence of SMILES, got a single string")
        items = list(X)
        if n_jobs is None:
            n_jobs = self._runtime().n_jobs
        graphs = GraphFeaturizer().many(items, n_jobs=n_jobs or 1)
        arr = np.empty(len(graphs), dtype=object)
        arr[:] = graphs
        desc = None
        if self._use_descriptors():
            from molfit.chem import rdkit_descriptors

            desc = np.asarray(rdkit_descriptors(to_mols(items)), dtype=np.float64)
        return GraphFeatures(arr, desc)

    def _features(self, X: Any, *, fitting: bool, n_jobs: int | None = None) -> GraphFeatures:
        if isinstance(X, GraphFeatures):
            feats = X
        elif isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
            raise InputError(f"{type(self).__name__} needs molecules (SMILES or RDKit), not arrays")
        else:
            feats = self.featurize(X, n_jobs=n_jobs)
        if feats.descriptors is not None and not feats.scaled:
            if fitting:
                d = feats.descriptors
                self.desc_mean_ = np.nan_to_num(np.nanmean(d, axis=0))
                std = np.nan_to_num(np.nanstd(d, axis=0))
                self.desc_std_ = np.where(std > 0, std, 1.0)
            scaled = (feats.descriptors - self.desc_mean_) / self.desc_std_
            scaled = np.clip(np.nan_to_num(scaled, nan=0.0, posinf=0.0, neginf=0.0), -10, 10)
            feats = GraphFeatures(feats.graphs, scaled.astype(np.float32), scaled=True)
        return feats

    # -- training -------------------------------------------------------------------------------
    def fit(
        self, X: Any, y: Any, X_val: Any = None, y_val: Any = None, *, runtime: Any = None
    ) -> DeepGraphModel:
        """Train on molecules ``X`` (n) and targets ``y`` (n,) or (n, n_tasks) (``NaN``: missing).

        ``X_val``/``y_val``: an explicit validation set for early stopping (otherwise a seeded
        ``val_fraction`` of ``X``). ``runtime``: where to train (:class:`molfit.train.Runtime`;
        never saved). Returns ``self``.
        """
        from molfit.train import (
            PredictorModule,
            default_loss,
            seed_everything,
        )

        Y = as_targets(y)
        if len(Y) != len(X):
            raise InputError(f"X has {len(X)} rows but y has {len(Y)}")
        task = self.task if self.task not in (None, "auto") else infer_task(Y)
        if task not in ("regression", "classification"):
            raise InputError(f"task must be 'regression' or 'classification', got {task!r}")
        if task == "classification" and not np.isin(Y[~np.isnan(Y)], (0.0, 1.0)).all():
            raise InputError("classification labels must be 0 or 1")
        if task == "classification" and self.mean_variance:
            raise InputError("mean_variance=True is for regression; classification has no variance")
        labelled = (~np.isnan(Y)).sum(axis=0)
        if (labelled < 2).any():
            raise InputError(f"task {int(np.argmin(labelled))} has fewer than 2 labelled rows")
        self.input_kind_ = "molecules"
        run = self._runtime(runtime)
        feats = self._features(X, fitting=True, n_jobs=run.n_jobs)
        self.task_ = task
        self.n_tasks_ = int(Y.shape[1])
        self.single_task_ = bool(np.ndim(y) == 1)
        self.n_features_in_ = int(feats.shape[1])
        first = feats.graphs[0]
        self.atom_dim_, self.bond_dim_ = int(first.x.shape[1]), int(first.edge_attr.shape[1])

        train_idx, val_feats, Y_val = self._validation(feats, Y, X_val, y_val, run.n_jobs)
        Y_train = Y[train_idx]
        if task == "regression":
            mean = np.nan_to_num(np.nanmean(Y_train, axis=0))
            std = np.nan_to_num(np.nanstd(Y_train, axis=0))
            self.target_mean_, self.target_std_ = mean, np.where(std > 0, std, 1.0)
        else:
            self.target_mean_, self.target_std_ = np.zeros(self.n_tasks_), np.ones(self.n_tasks_)

        train_loader = self._loader(feats[train_idx], Y_train, shuffle=True, seed=self.seed)
        val_loader = None if val_feats is None else self._loader(val_feats, Y_val)
        loss = default_loss(task, self.mean_variance)
        self.members_: list[PredictorModule] = []
        self.history_: list[dict[str, Any]] = []
        for i in range(int(self.ensemble)):
            seed_everything(self.seed + i)
            if i:
                train_loader = self._loader(
                    feats[train_idx], Y_train, shuffle=True, seed=self.seed + i
                )
            module = PredictorModule(
                self._build_network(
                    self.atom_dim_, self.bond_dim_, self.n_tasks_, self.n_features_in_
                ),
                task=task,
                n_tasks=self.n_tasks_,
                loss=loss,
                target_mean=self.target_mean_,
                target_std=self.target_std_,
                lr=self.lr,
            )
            self._train_member(module, train_loader, val_loader, i, run)
        return self

    def _train_member(
        self, module: Any, train_loader: Any, val_loader: Any, index: int, runtime: Any,
        inference_mode: bool = True,
    ) -> None:  # fmt: skip
        """Fit one ensemble member with the shared engine, record its history, keep it."""
        from molfit.train import fit_module

        config = self.training_config()
        ckpt = None
        if runtime.checkpoint_dir is not None:
            ckpt = Path(runtime.checkpoint_dir) / f"member{index}"
        result = fit_module(
            module,
            train_loader,
            val_loader,
            precision=self._precision(),
            max_epochs=config.epochs,
            patience=config.patience if val_loader is not None else None,
            checkpoint_dir=ckpt,
            deterministic=config.deterministic,
            inference_mode=inference_mode,
            **runtime.trainer_kwargs(),
        )
        self.history_.append(
            {
                "epochs_run": result.epochs_run,
                "best_epoch": result.best_epoch,
                "best_val_loss": result.best_score,
                "last_metrics": result.metrics,
            }
        )
        module.cpu().eval()
        self.members_.append(module)

    def _validation(
        self, feats: GraphFeatures, Y: np.ndarray, X_val: Any, y_val: Any, n_jobs: int = 1
    ) -> tuple[np.ndarray, GraphFeatures | None, np.ndarray | None]:
        n = len(feats)
        if X_val is not None:
            Yv = as_targets(y_val)
            if Yv.shape[1] != Y.shape[1] or len(Yv) != len(X_val):
                raise InputError(f"X_val/y_val shapes do not match: {len(X_val)} rows, {Yv.shape}")
            return np.arange(n), self._features(X_val, fitting=False, n_jobs=n_jobs), Yv
        n_val = round(self.val_fraction * n)
        if self.val_fraction <= 0 or n_val < 1 or n - n_val < 2:
            return np.arange(n), None, None
        perm = np.random.default_rng(self.seed).permutation(n)
        return np.sort(perm[n_val:]), feats[np.sort(perm[:n_val])], Y[np.sort(perm[:n_val])]

    def _loader(
        self, feats: GraphFeatures, Y: np.ndarray | None = None, *, shuffle: bool = False,
        seed: int = 0, batch_size: int | None = None,
    ) -> Any:  # fmt: skip
        from molfit.chem import collate_graphs
        from molfit.train import make_loader

        return make_loader(
            list(feats.graphs),
            collate_graphs,
            Y,
            feats.descriptors,
            batch_size=batch_size or self.batch_size,
            shuffle=shuffle,
            seed=seed,
        )

    # -- prediction -----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise InputError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def member_predictions(
        self, F: GraphFeatures, batch_size: int = PREDICT_BATCH_SIZE
    ) -> np.ndarray:
        """Raw member outputs in target units: ``(n_members, n, n_tasks)`` or ``(..., 2)``
        (mean, variance) with a mean-variance head; P(class 1) for classification.

        ``batch_size``: molecules per forward pass (see :data:`PREDICT_BATCH_SIZE`)."""
        from molfit.train import predict_batches

        self._check_fitted()
        if len(F) == 0:
            shape = (len(self.members_), 0, self.n_tasks_) + ((2,) if self.mean_variance else ())
            return np.zeros(shape)
        loader = self._loader(F, batch_size=batch_size)
        with autocast_for(self._precision()):
            return np.stack([predict_batches(m, loader) for m in self.members_])

    def _precision(self) -> str:
        precision = str(getattr(self, "precision", "32"))
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        return precision

    def predict_features(self, F: GraphFeatures) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean ``(n, n_tasks)`` and std (``None`` for one member without a variance head);
        P(class 1) and ``None`` for classifiers."""
        out = self.member_predictions(self._features(F, fitting=False))
        if self.task_ == "classification":
            return out.mean(axis=0), None
        if out.ndim == 4:
            means, variances = out[..., 0], out[..., 1]
            total = variances.mean(axis=0) + means.var(axis=0)
            return means.mean(axis=0), np.sqrt(total)
        std = out.std(axis=0) if len(out) > 1 else None
        return out.mean(axis=0), std

    # -- persistence ----------------------------------------------------------------------------
    def _fitted_meta(self) -> dict[str, Any]:
        meta = {
            "task": self.task_,
            "n_tasks": self.n_tasks_,
            "single_task": self.single_task_,
            "input_kind": self.input_kind_,
            "n_features_in": self.n_features_in_,
            "atom_dim": self.atom_dim_,
            "bond_dim": self.bond_dim_,
            "target_mean": self.target_mean_.tolist(),
            "target_std": self.target_std_.tolist(),
            "history": self.history_,
        }
        if hasattr(self, "desc_mean_"):
            meta["desc_mean"] = self.desc_mean_.tolist()
            meta["desc_std"] = self.desc_std_.tolist()
        return meta

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` and ``weights.safetensors`` (all members) to ``directory``."""
        from molfit.models._base import _jsonable

        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {
            f"member{i}.{k}": v.detach().cpu().contiguous()
            for i, m in enumerate(self.members_)
            for k, v in m.state_dict().items()
        }
        save_file(tensors, str(directory / TORCH_WEIGHTS_FILE))
        config = {
            "class": f"{type(self).__module__}.{type(self).__name__}",
            "params": _jsonable(self.get_params()),
            "fitted": self._fitted_meta(),
            "featurizer": self._saved_featurizer(),
            "versions": {"torch": torch.__version__},
            **(extra or {}),
        }
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        return directory

    def _saved_featurizer(self) -> dict[str, Any]:
        """What turns an input into network features, saved with the model and checked on load."""
        return {**graph_featurizer_settings(), "descriptors": bool(self._use_descriptors())}

    def _check_featurizer(self, config: dict[str, Any], where: Path) -> None:
        """Refuse a model whose inputs meant other columns than this molfit's featurizer makes."""
        meta = config.get("fitted", {})
        saved = config.get("featurizer")
        now = graph_featurizer_settings()
        if saved is None:  # saved before featurizer settings were recorded: the widths must match
            dims = (meta.get("atom_dim"), meta.get("bond_dim"))
            if dims != (now["atom_dim"], now["bond_dim"]):
                raise InputError(
                    f"{where}: this model was trained on graph features of width {dims} "
                    f"(atom, bond); this molfit's featurizer makes "
                    f"{(now['atom_dim'], now['bond_dim'])}: train it again"
                )
            return
        changed = [k for k in now if saved.get(k) != now[k]]
        if changed:
            raise InputError(
                f"{where}: the graph featurizer changed since this model was saved "
                f"({', '.join(changed)} differ), so its input columns would mean something else: "
                "train it again"
            )

    def _restore_fitted(self, meta: dict[str, Any]) -> None:
        """Restore the fitted attributes a subclass adds (``meta``: config.json's "fitted")."""
        if "desc_mean" in meta:
            self.desc_mean_ = np.asarray(meta["desc_mean"], dtype=np.float64)
            self.desc_std_ = np.asarray(meta["desc_std"], dtype=np.float64)

    @classmethod
    def _read_saved(cls, directory: str | Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
        """``(directory, config, tensors)`` of a saved model, every failure an InputError."""
        from safetensors import SafetensorError

        directory = Path(directory)
        config_path = directory / CONFIG_FILE
        weights_path = directory / TORCH_WEIGHTS_FILE
        for path in (config_path, weights_path):
            if not path.is_file():
                raise InputError(f"{directory}: not a saved {cls.__name__} (no {path.name})")
        try:
            config = json.loads(config_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{config_path}: not valid JSON ({exc})") from None
        if not isinstance(config, dict) or not {"params", "fitted"} <= set(config):
            raise InputError(f"{config_path}: no 'params'/'fitted' entries; not a saved model")
        try:
            tensors = load_file(str(weights_path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise InputError(f"{weights_path}: corrupt or truncated weights ({exc})") from None
        return directory, config, tensors

    @classmethod
    def _params_of(cls, config: dict[str, Any], where: Path) -> dict[str, Any]:
        """Saved hyper-parameters, without the runtime settings older versions saved."""
        import inspect

        params = {k: v for k, v in config["params"].items() if k not in RUNTIME_PARAMS}
        known = set(inspect.signature(cls.__init__).parameters) - {"self", "runtime"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise InputError(
                f"{where}: saved parameter(s) {unknown} are unknown to this {cls.__name__}; "
                "the model was written by another molfit version"
            )
        return params

    @staticmethod
    def _load_state(
        module: nn.Module, state: dict[str, Any], where: Path, strict: bool = True
    ) -> None:
        try:
            module.load_state_dict(state, strict=strict)
        except (RuntimeError, KeyError) as exc:
            first = str(exc).splitlines()[0][:300]
            raise InputError(
                f"{where}: weights do not fit the saved architecture ({first})"
            ) from None

    @classmethod
    def load(cls, directory: str | Path) -> DeepGraphModel:
        """Rebuild a model written by :meth:`save` (safetensors: no code runs on load).

        Raises:
            InputError: files missing, corrupt or truncated; weights that do not fit the
                architecture; a featurizer that changed since saving.
        """
        from molfit.train import PredictorModule

        directory, config, tensors = cls._read_saved(directory)
        weights_path = directory / TORCH_WEIGHTS_FILE
        model = cls(**cls._params_of(config, directory / CONFIG_FILE))
        meta = config["fitted"]
        if meta.get("input_kind", "molecules") == "molecules":
            model._check_featurizer(config, directory)
        try:
            model.task_ = meta["task"]
            model.n_tasks_ = meta["n_tasks"]
            model.single_task_ = meta["single_task"]
            model.input_kind_ = meta["input_kind"]
            model.n_features_in_ = meta["n_features_in"]
            model.atom_dim_, model.bond_dim_ = meta["atom_dim"], meta["bond_dim"]
            model.target_mean_ = np.asarray(meta["target_mean"], dtype=np.float64)
            model.target_std_ = np.asarray(meta["target_std"], dtype=np.float64)
        except KeyError as exc:
            raise InputError(f"{directory / CONFIG_FILE}: 'fitted' lacks {exc}") from None
        model.history_ = meta.get("history", [])
        model._restore_fitted(meta)
        n_members = len({k.split(".", 1)[0] for k in tensors})
        if n_members == 0:
            raise InputError(f"{weights_path}: holds no weights")
        model.members_ = []
        for i in range(n_members):
            prefix = f"member{i}."
            state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            net = model._build_network(
                model.atom_dim_, model.bond_dim_, model.n_tasks_, model.n_features_in_
            )
            module = PredictorModule(net, task=model.task_, n_tasks=model.n_tasks_)
            cls._load_state(module, state, weights_path)
            model.members_.append(module.eval())
        return model
