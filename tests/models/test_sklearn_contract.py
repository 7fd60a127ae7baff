"""molfit's estimators under scikit-learn's own estimator checks, plus the contract around them:
tags that follow the task, NotFittedError, cloneable calibration, registries and sealed saves."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from molfit.data import load
from molfit.errors import InputError
from molfit.models import (
    FEATURIZERS,
    MODELS,
    ExactGP,
    ExtraTreesModel,
    GaussianProcessModel,
    LinearModel,
    NotFittedError,
    RandomForestModel,
    available_models,
    featurize,
    get_model,
    load_model,
    save_model,
)
from molfit.registry import Registry
from molfit.uncertainty import CalibratedModel

#: molfit's multi-task classifiers give P for every task in one (n, n_tasks, 2) array (what
#: CalibratedModel and the reports read); scikit-learn wants a list of (n, 2) arrays
_MULTI_TASK_PROBA = {
    "check_classifier_multioutput": (
        "several tasks give predict_proba (n, n_tasks, 2), not a list of (n, 2) arrays"
    ),
}


def _expected_failures(estimator) -> dict[str, str]:
    return _MULTI_TASK_PROBA if is_classifier(estimator) else {}


with warnings.catch_warnings():
    # molfit's estimators implement scikit-learn's protocol without inheriting its base class
    # (importing sklearn.base costs half a second: docs/design.md); the checks still all run
    warnings.filterwarnings("ignore", "Estimator .* does not inherit from", UserWarning)
    _ESTIMATOR_CHECKS = parametrize_with_checks(
        [
            ExtraTreesModel(n_estimators=5, task="regression"),
            RandomForestModel(n_estimators=5, task="regression"),
            LinearModel(task="regression"),
            GaussianProcessModel(kernel="rbf"),
            GaussianProcessModel(kernel="tanimoto"),
            ExactGP(kernel="rbf", optimize=False),
            ExtraTreesModel(n_estimators=5, task="classification"),
            LinearModel(task="classification"),
        ],
        expected_failed_checks=_expected_failures,
    )


@_ESTIMATOR_CHECKS
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    """scikit-learn's checks on the numeric-array path (regressors: none skipped)."""
    check(estimator)


def test_estimator_type_follows_the_task() -> None:
    assert is_regressor(get_model("ridge")) and not is_classifier(get_model("ridge"))
    assert is_classifier(get_model("logistic")) and not is_regressor(get_model("logistic"))
    assert is_regressor(get_model("gp-tanimoto"))  # a GP regresses whatever task says
    assert not hasattr(get_model("ridge"), "predict_proba")
    assert hasattr(get_model("logistic"), "predict_proba")
    # task="auto": unknown before fit, then the task the labels chose
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    auto = ExtraTreesModel(n_estimators=5)
    assert not is_regressor(auto) and not is_classifier(auto)
    auto.fit(X, X[:, 0] * 2.0)
    assert is_regressor(auto) and not hasattr(auto, "predict_proba")
    auto.fit(X, (X[:, 0] > 0).astype(float))
    assert is_classifier(auto) and list(auto.classes_) == [0, 1]
    assert 0.0 <= auto.score(X, (X[:, 0] > 0).astype(float)) <= 1.0
    # the wrapper has the type of what it wraps
    assert is_regressor(CalibratedModel(get_model("ridge")))
    assert is_classifier(CalibratedModel(get_model("logistic")))


def test_any_two_labels_classify_and_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    labels = np.where(X[:, 0] > 0, "BBB+", "BBB-")
    model = ExtraTreesModel(n_estimators=20).fit(X, labels)  # text labels: classification
    assert model.task_ == "classification" and list(model.classes_) == ["BBB+", "BBB-"]
    assert set(model.predict(X)) == {"BBB+", "BBB-"} and model.score(X, labels) > 0.9
    # P(classes_[1]) is column 1: high where the label is "BBB-"
    assert model.predict_proba(X)[labels == "BBB-", 1].mean() > 0.7
    save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert np.array_equal(again.predict(X), model.predict(X))
    with pytest.raises(InputError, match="Only binary classification"):
        ExtraTreesModel().fit(X, np.array(["a", "b", "c"] * 20))
    with pytest.raises(InputError, match="text labels"):
        LinearModel(task="regression").fit(X, labels)


def test_r2_score_of_a_regressor() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(0, 0.05, 80)
    model = LinearModel(task="regression", alpha=1e-6).fit(X[:60], y[:60])
    from sklearn.metrics import r2_score

    assert model.score(X[60:], y[60:]) == pytest.approx(r2_score(y[60:], model.predict(X[60:])))
    assert model.score(X[60:], y[60:]) > 0.99


def test_not_fitted_error_is_both_kinds() -> None:
    """molfit's error, a ValueError and an AttributeError like scikit-learn's, and (scikit-learn
    being imported here) an instance of scikit-learn's NotFittedError too."""
    assert issubclass(NotFittedError, InputError)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    for model in (get_model("extratrees"), get_model("ridge"), get_model("gp-rbf")):
        with pytest.raises(SklearnNotFittedError, match="not fitted") as info:
            model.predict(["CCO"])
        assert isinstance(info.value, NotFittedError)
    with pytest.raises(InputError, match="not fitted"):
        CalibratedModel(get_model("ridge")).predict(["CCO"])
    with pytest.raises(SklearnNotFittedError, match="not fitted"):
        CalibratedModel(get_model("ridge")).predict(["CCO"])


def test_not_fitted_error_without_scikit_learn_loaded() -> None:
    """Before scikit-learn is imported the error is molfit's alone, and raising it imports
    nothing."""
    code = (
        "import sys\n"
        "from molfit.models import not_fitted_error, NotFittedError\n"
        "err = not_fitted_error('m is not fitted')\n"
        "assert type(err) is NotFittedError and 'sklearn' not in sys.modules\n"
        "import sklearn.exceptions\n"
        "late = not_fitted_error('m is not fitted')\n"
        "assert isinstance(late, sklearn.exceptions.NotFittedError)\n"
        "assert isinstance(late, NotFittedError)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_params_nested_set_repr_and_search_without_the_base_class() -> None:
    """get_params/set_params with nested names, the changed-only repr and clone, then
    scikit-learn's own GridSearchCV and cross_val_score driving a calibrated molfit model."""
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

    cm = CalibratedModel(ExtraTreesModel(n_estimators=5), coverage=0.8)
    params = cm.get_params()
    assert params["coverage"] == 0.8 and params["estimator__n_estimators"] == 5
    cm.set_params(estimator__n_estimators=7, seed=3)
    assert cm.estimator.n_estimators == 7 and cm.seed == 3
    with pytest.raises(InputError, match="Invalid parameter 'n_trees'"):
        cm.set_params(n_trees=3)
    assert repr(ExtraTreesModel(n_estimators=7)) == "ExtraTreesModel(n_estimators=7)"
    assert repr(LinearModel()) == "LinearModel()"
    twin = clone(cm)
    assert twin is not cm and twin.estimator is not cm.estimator
    assert twin.get_params(deep=False).keys() == cm.get_params(deep=False).keys()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X[:, 0] * 2.0 + rng.normal(0, 0.1, 60)
    search = GridSearchCV(
        LinearModel(task="regression"), {"alpha": [1e-3, 1e3]}, cv=KFold(3), scoring="r2"
    ).fit(X, y)
    assert search.best_params_ == {"alpha": 1e-3} and search.best_score_ > 0.9
    scores = cross_val_score(ExtraTreesModel(n_estimators=20, task="regression"), X, y, cv=3)
    assert len(scores) == 3 and scores.mean() > 0.5


def test_nan_and_inf_features_are_refused_by_name() -> None:
    X = np.ones((10, 3))
    X[4, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        LinearModel(task="regression").fit(X, np.arange(10.0))
    with pytest.raises(InputError, match="infinite"):
        LinearModel(task="regression").fit(np.ones((10, 3)), np.r_[np.arange(9.0), np.inf])


@pytest.fixture(scope="module")
def b3db_slice() -> tuple[list[str], np.ndarray]:
    ds = load("b3db-regression", validate=True)
    idx = np.random.default_rng(4).permutation(len(ds))[:160]
    return [ds.smiles[i] for i in idx], ds.y[idx, 0]


def test_calibrated_model_clones_and_keeps_the_original_unfitted(b3db_slice) -> None:
    smiles, y = b3db_slice
    cm = CalibratedModel(get_model("ridge"), coverage=0.8, method="cv+", n_folds=3, seed=5)
    twin = clone(cm)
    assert twin.get_params(deep=False).keys() == cm.get_params(deep=False).keys()
    assert twin.coverage == 0.8 and twin.method == "cv+" and twin.seed == 5
    assert twin.estimator is not cm.estimator
    assert twin.get_params()["estimator__task"] == "regression"
    twin.fit(smiles, y)
    assert not hasattr(cm, "estimator_") and not hasattr(cm.estimator, "states_")
    assert len(twin.fold_models_) == 3
    # cloning a fitted one gives an unfitted copy with the same parameters
    again = clone(twin)
    assert not hasattr(again, "estimator_") and again.n_folds == 3
    # bad parameters are reported at fit, not in __init__
    bad = CalibratedModel(get_model("ridge"), coverage=1.5)
    with pytest.raises(InputError, match="coverage"):
        bad.fit(smiles, y)


def test_calibrated_model_holds_out_a_calibration_set_and_forwards_fit_params(b3db_slice) -> None:
    smiles, y = b3db_slice
    seen: list[object] = []

    class Recording(LinearModel):
        def fit(self, X, y, *, runtime=None):  # type: ignore[no-untyped-def]
            seen.append(runtime)
            return super().fit(X, y, runtime=runtime)

    cm = CalibratedModel(Recording(task="regression"), method="split", calib_fraction=0.25)
    cm.fit(smiles, y, runtime="the-runtime")
    assert cm.method_ == "split" and cm.n_train_ == 120  # 40 of 160 held out, seeded
    assert seen == ["the-runtime"]
    pred = cm.predict(smiles[:5])
    assert pred.std is not None and pred.raw_std is None and np.isfinite(pred.std).all()


def test_logistic_on_a_regression_target_is_refused(b3db_slice) -> None:
    smiles, y = b3db_slice  # logBB: continuous
    with pytest.raises(InputError, match=r"classification.*regression"):
        get_model("logistic").fit(smiles, y)
    with pytest.raises(InputError, match="'logistic' is a classification model"):
        get_model("logistic", task="regression")
    with pytest.raises(InputError, match="'ridge' is a regression model"):
        get_model("ridge", task="classification")
    # the name decides "auto", and the registry records what was trained
    assert get_model("logistic", task="auto").task == "classification"


def test_unknown_names_list_what_is_available() -> None:
    with pytest.raises(InputError, match=r"unknown model 'deep-magic'; available: .*extratrees"):
        get_model("deep-magic")
    with pytest.raises(InputError, match="unknown featurizer 'morgan9'; available: descriptors"):
        featurize(["CCO"], "morgan9")
    from molfit.data.split import make_split

    with pytest.raises(InputError, match="unknown split method 'by-mood'; available: cluster"):
        make_split("by-mood", smiles=["CCO", "CCN"])
    assert {"ecfp", "descriptors"} <= set(FEATURIZERS.names())


def test_a_plugin_model_comes_from_an_entry_point(tmp_path, monkeypatch) -> None:
    package = tmp_path / "molfit_plugin_demo"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from molfit.models import LinearModel\n\n"
        "class HalfRidge(LinearModel):\n"
        "    def __init__(self, task='regression', alpha=0.5, **kw):\n"
        "        super().__init__(task=task, alpha=alpha, **kw)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [EntryPoint("half-ridge", "molfit_plugin_demo:HalfRidge", "molfit.models")]

    def fake_entry_points(*, group=None, **_):  # type: ignore[no-untyped-def]
        return [p for p in points if p.group == group]

    monkeypatch.setattr("importlib.metadata.entry_points", fake_entry_points)
    monkeypatch.setattr(MODELS, "_plugins_read", False)
    monkeypatch.setattr(MODELS, "_entries", dict(MODELS._entries))
    assert "half-ridge" in available_models()
    assert "molfit_plugin_demo" not in sys.modules  # listed, not imported
    model = get_model("half-ridge")
    assert type(model).__name__ == "HalfRidge" and model.alpha == 0.5
    # a plain registry: decorator, implied parameters, case-insensitive names
    reg: Registry = Registry("colour", error=InputError)

    @reg.register("Teal", hue=180)
    def make(hue: int, light: float = 0.5) -> tuple[int, float]:
        return hue, light

    assert reg.create("teal", light=0.3) == (180, 0.3) and reg.names() == ["teal"]
    with pytest.raises(InputError, match="means hue=180"):
        reg.create("teal", hue=10)


def test_importing_models_does_not_import_torch() -> None:
    code = (
        "import sys, molfit.models as m; names = m.available_models(); "
        "m.get_model('extratrees'); "
        "print('dmpnn' in names, 'schnet' in names, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "False"], out.stderr


def _corruptions(path: Path) -> list[tuple[str, bytes]]:
    data = path.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    return [("truncated", data[: len(data) // 2]), ("one byte changed", bytes(flipped))]


def test_every_saved_file_is_checked(b3db_slice, tmp_path) -> None:
    smiles, y = b3db_slice
    cm = CalibratedModel(get_model("extratrees", n_estimators=5), method="split")
    cm.fit(smiles[:100], y[:100], X_calib=smiles[100:], y_calib=y[100:], targets=["logBB"])
    saved = cm.save(tmp_path / "cm")
    files = sorted(p.relative_to(saved) for p in saved.rglob("*") if p.is_file())
    assert {Path("config.json"), Path("calibration.npz"), Path("estimator/weights.npz")} <= set(
        files
    )
    reference = CalibratedModel.load(saved).predict(smiles[:3])
    for rel in files:
        for how, content in _corruptions(saved / rel):
            broken = tmp_path / f"broken-{rel.as_posix().replace('/', '-')}-{how[:3]}"
            shutil.copytree(saved, broken)
            (broken / rel).write_bytes(content)
            with pytest.raises(InputError):
                CalibratedModel.load(broken)
    # an edited value in config.json that still parses is refused too
    edited = tmp_path / "edited"
    shutil.copytree(saved, edited)
    text = (edited / "config.json").read_text().replace('"coverage": 0.9', '"coverage": 0.5')
    (edited / "config.json").write_text(text)
    with pytest.raises(InputError, match="edited"):
        CalibratedModel.load(edited)
    (saved / "estimator" / "weights.npz").unlink()
    with pytest.raises(InputError, match="missing"):
        CalibratedModel.load(saved)
    assert np.isfinite(reference.mean).all()


def test_a_bare_saved_model_refuses_tampering(tmp_path) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 4))
    model = get_model("ridge").fit(X, X[:, 0])
    save_model(model, tmp_path / "m")
    assert np.array_equal(load_model(tmp_path / "m").predict(X), model.predict(X))
    weights = tmp_path / "m" / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(InputError, match=r"weights\.npz"):
        load_model(tmp_path / "m")


def test_a_directory_saved_before_sealing_still_loads(b3db_slice, tmp_path) -> None:
    import json

    smiles, y = b3db_slice
    cm = CalibratedModel(get_model("ridge"), method="split")
    cm.fit(smiles[:100], y[:100], X_calib=smiles[100:], y_calib=y[100:])
    saved = cm.save(tmp_path / "cm")
    for config_path in saved.rglob("config.json"):  # as molfit wrote them before this change
        config = json.loads(config_path.read_text())
        del config["checksums"]
        if "format" in config:
            config["format"] = "molfit.CalibratedModel/1"
        config_path.write_text(json.dumps(config))
    old = CalibratedModel.load(saved).predict(smiles[:4])
    new = cm.predict(smiles[:4])
    assert np.array_equal(old.lower, new.lower) and np.array_equal(old.std, new.std)
    config = json.loads((saved / "config.json").read_text())
    config["format"] = "molfit.CalibratedModel/9"
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="unknown format"):
        CalibratedModel.load(saved)
