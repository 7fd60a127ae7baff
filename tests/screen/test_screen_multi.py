"""Several runs in one pass, ensemble and Pareto ranking, InChIKey dedupe, summary.html."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from molfit.errors import InputError
from molfit.screen import ChunkScreener, iter_library, non_dominated, pareto_fronts, screen
from molfit.workflows import load_run_model

from .conftest import moses_slice
from .test_screen import parts, summary_of

HYDROXYPYRIDINE, PYRIDONE = "Oc1ccccn1", "O=c1cccc[nH]1"  # tautomers: one InChIKey, two SMILES


def _library(tmp_path, n: int = 300):
    rows = [*moses_slice(n), HYDROXYPYRIDINE, "C1CC", PYRIDONE, "O=[N+]([O-])c1ccc(CCN)cc1"]
    rows += moses_slice(5)  # exact repeats
    lib = tmp_path / "lib.smi"
    lib.write_text("\n".join(rows) + "\n")
    return lib


def test_two_runs_in_one_pass_equal_each_single_run_column_for_column(run_dir, solv_run, tmp_path):
    lib = _library(tmp_path)
    options = dict(chunk_size=70, top=15, filters="brenk", dedupe="inchikey", progress=False)
    both = screen([run_dir, solv_run], lib, tmp_path / "both", **options)
    one = parts_of(screen(run_dir, lib, tmp_path / "et", **options))
    two = parts_of(screen(solv_run, lib, tmp_path / "solv", **options))
    table = parts(tmp_path / "both")
    assert both.n_rows == len(one) == len(table) == 309 and both.n_parts == 5
    shared = ["row", "name", "smiles", "inchikey", "brenk", "passes_filters", "duplicate_of"]
    for single, label in [(one, "et"), (two, "solv")]:
        pd.testing.assert_frame_equal(table[shared], single[shared])
        own = [c for c in single.columns if c not in shared]
        mine = table[[f"{label}/{c}" for c in own]]
        mine.columns = own
        pd.testing.assert_frame_equal(mine, single[own])
    assert "prediction" in " ".join(two.columns) and "probability" in one.columns
    assert table["error"].tolist() == one["error"].tolist()  # ET models fail only on bad SMILES
    assert [m["label"] for m in both.models] == ["et", "solv"]
    assert both.models[1]["n_predicted"] == 308 and both.ranking == "ensemble"


def parts_of(summary) -> pd.DataFrame:
    return parts(summary.out_dir)


def test_one_featurization_per_chunk_is_shared_by_models_with_the_same_featurizer(
    run_dir, solv_run, monkeypatch
):
    models = [load_run_model(run_dir), load_run_model(solv_run)]
    assert models[0].feature_key() == models[1].feature_key() is not None
    calls = []
    for m in models:
        original = m.featurize
        monkeypatch.setattr(
            m, "featurize", lambda mols, f=original: calls.append(len(mols)) or f(mols)
        )
    chunk = next(iter_library(_smi(moses_slice(50)), 50))
    screener = ChunkScreener(
        [str(run_dir), str(solv_run)], [], [{}, {}], models=models, labels=["a", "b"], dedupe=None
    )
    frame = screener.screen_chunk(chunk)
    assert calls == [50]
    single = ChunkScreener(str(run_dir), [], {"bbb": ""}, model=models[1 - 1], dedupe=None)
    np.testing.assert_array_equal(frame["a/score"], single.screen_chunk(chunk)["score"])


def _smi(smiles):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "lib.smi"
    path.write_text("\n".join(smiles) + "\n")
    return path


def test_ensemble_and_pareto_tops_follow_their_definitions(run_dir, solv_run, tmp_path):
    lib = _library(tmp_path, n=400)
    runs = [run_dir, solv_run]
    ens = screen(
        runs, lib, tmp_path / "e", chunk_size=100, top=30, minimize=["solv"], progress=False
    )
    table = parts(tmp_path / "e")
    ok = table[table["error"] == ""]
    points = np.column_stack([ok["et/score"], -ok["solv/score"]])  # solubility: lowest first
    z = (points - points.mean(axis=0)) / points.std(axis=0)
    expected = pd.DataFrame({"row": ok["row"], "e": z.mean(axis=1)}).sort_values(
        ["e", "row"], ascending=[False, True], kind="mergesort"
    )
    top = pd.read_csv(ens.top)
    assert top["row"].tolist() == expected["row"].head(30).tolist()
    np.testing.assert_allclose(top["ensemble_score"], expected["e"].head(30))
    assert [m["direction"] for m in ens.models] == ["max", "min"]
    par = screen(
        runs, lib, tmp_path / "e", chunk_size=100, top=30, minimize=["solv"], rank="pareto",
        progress=False,
    )  # fmt: skip
    ptop = pd.read_csv(par.top)
    # brute force: front 1 = rows that no row dominates
    better_eq = (points[None, :, :] >= points[:, None, :]).all(axis=2)
    strictly = (points[None, :, :] > points[:, None, :]).any(axis=2)
    dominated = (better_eq & strictly).any(axis=1)
    front1 = set(ok["row"][~dominated])
    assert np.array_equal(non_dominated(points), ~dominated)
    assert ptop["pareto_front"].is_monotonic_increasing
    first = ptop[ptop["pareto_front"] == 1]
    assert set(first["row"]) == front1 and len(front1) < 30
    fronts = pareto_fronts(points)
    for f in range(2, int(ptop["pareto_front"].max()) + 1):
        assert set(ptop["row"][ptop["pareto_front"] == f]) <= set(ok["row"][fronts == f])
    assert first["ensemble_score"].is_monotonic_decreasing


def test_several_runs_resume_and_bad_options(run_dir, solv_run, tmp_path):
    lib = _library(tmp_path)
    runs = [run_dir, solv_run]
    full = tmp_path / "full"
    screen(runs, lib, full, chunk_size=60, top=10, dedupe="smiles", progress=False)
    cut = tmp_path / "cut"
    screen(
        runs, lib, cut, chunk_size=60, top=10, dedupe="smiles", progress=False, _stop_after_parts=2
    )
    resumed = screen(runs, lib, cut, chunk_size=60, top=10, dedupe="smiles", progress=False)
    assert resumed.resumed_parts == 2
    pd.testing.assert_frame_equal(parts(cut), parts(full))
    assert (cut / "top.csv").read_text() == (full / "top.csv").read_text()
    assert summary_of(cut) == summary_of(full)
    with pytest.raises(InputError, match="runs differ"):
        screen([solv_run, run_dir], lib, cut, chunk_size=60, progress=False)
    with pytest.raises(InputError, match="--minimize nope: not one of the runs"):
        screen(runs, lib, tmp_path / "x", minimize=["nope"], progress=False)
    with pytest.raises(InputError, match="--rank: 'best'"):
        screen(runs, lib, tmp_path / "x", rank="best", progress=False)
    with pytest.raises(InputError, match="--dedupe: 'inchi'"):
        screen(runs, lib, tmp_path / "x", dedupe="inchi", progress=False)


def test_inchikey_dedupe_catches_tautomers_that_smiles_dedupe_misses(run_dir, tmp_path):
    lib = _library(tmp_path, n=40)
    by_key = screen(run_dir, lib, tmp_path / "k", chunk_size=16, dedupe="inchikey", progress=False)
    by_smiles = screen(run_dir, lib, tmp_path / "s", chunk_size=16, dedupe=True, progress=False)
    k, s = parts(tmp_path / "k").set_index("smiles"), parts(tmp_path / "s").set_index("smiles")
    assert k.loc[PYRIDONE, "duplicate_of"] == k.loc[HYDROXYPYRIDINE, "row"]
    assert pd.isna(s.loc[PYRIDONE, "duplicate_of"])
    assert by_key.n_duplicates == by_smiles.n_duplicates + 1 == 6
    assert k.loc["C1CC", "inchikey"] == "" and re.fullmatch(
        r"[A-Z]{14}-[A-Z]{10}-[A-Z]", k["inchikey"].iloc[0]
    )


def test_summary_html_is_self_contained_and_shows_scores_domain_and_hits(
    run_dir, solv_run, tmp_path
):
    lib = _library(tmp_path, n=120)
    summary = screen(run_dir, lib, tmp_path / "one", chunk_size=50, top=30, progress=False)
    page = (tmp_path / "one" / "summary.html").read_text()
    assert summary.report == tmp_path / "one" / "summary.html"
    for external in ("<script", "src=", "href=", "url(", "@import", "<link"):
        assert external not in page, external
    assert page.count("<svg") == 1 + 24  # one histogram, the first 24 hits drawn
    top = pd.read_csv(summary.top)
    for score in top["score"].head(24):
        assert f"score: {score:.3g}" in page
    inside = summary.n_predicted - summary.n_outside_domain
    assert f"in domain: {inside:,} of {summary.n_predicted:,} predicted" in page
    assert not list((tmp_path / "one").glob(".*"))
    screen([run_dir, solv_run], lib, tmp_path / "two", chunk_size=50, top=5, progress=False)
    page = (tmp_path / "two" / "summary.html").read_text()
    assert page.count("<svg") == 2 + 5 and "solv/std" in page and "solv/score" in page


def test_a_graph_model_screens_beside_a_fingerprint_model(run_dir, tmp_path):
    """A D-MPNN featurizes molecular graphs, not a matrix: it is never handed the ECFP matrix
    another run shares, and screens alone or beside it (this failed with an AttributeError)."""
    from typer.testing import CliRunner

    from molfit.cli import app

    dmpnn = tmp_path / "dmpnn"
    args = ["train", "b3db", "--model", "dmpnn", "--epochs", "1", "--limit", "150",
            "--param", "hidden=16", "-o", str(dmpnn), "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert load_run_model(dmpnn).feature_key() is None
    assert load_run_model(run_dir).feature_key() is not None
    lib = tmp_path / "lib.smi"
    lib.write_text("\n".join([*moses_slice(40), "not a smiles"]) + "\n")
    alone = screen(dmpnn, lib, tmp_path / "alone", chunk_size=16, progress=False)
    both = screen([run_dir, dmpnn], lib, tmp_path / "both", chunk_size=16, progress=False)
    one = parts(tmp_path / "alone")
    two = parts(tmp_path / "both")
    assert alone.n_rows == both.n_rows == 41
    assert one["score"].notna().sum() == 40 and one["error"].iloc[-1]
    np.testing.assert_allclose(two["dmpnn/score"].to_numpy(float)[:40],
                               one["score"].to_numpy(float)[:40], rtol=1e-6)  # fmt: skip
