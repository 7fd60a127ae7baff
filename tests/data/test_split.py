"""Splits on real molecules: B3DB (a slice of a few hundred) and FreeSolv."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold

from molfit.chem import ECFP, max_tanimoto, tanimoto_matrix
from molfit.data import load
from molfit.data.split import (
    Split,
    butina_clusters,
    cluster_split,
    leakage_report,
    make_split,
    random_split,
    scaffold_split,
    stratified_split,
    target_sizes,
    temporal_split,
)
from molfit.errors import InputError

PARTS = ("train", "valid", "test")
# the B3DB classification table that ships inside molfit (gzipped)
B3DB_TSV = resources.files("molfit.data") / "files" / "B3DB_classification.tsv.gz"


@pytest.fixture(scope="module")
def b3db() -> pd.DataFrame:
    """Every 20th row of B3DB classification that RDKit parses (~390 molecules)."""
    df = pd.read_csv(B3DB_TSV, sep="\t")
    df = df.iloc[::20]
    ok = [Chem.MolFromSmiles(s) is not None for s in df["SMILES"]]
    return df[ok].reset_index(drop=True)


@pytest.fixture(scope="module")
def freesolv() -> list[str]:
    return load("freesolv").smiles


def _scaffold(smiles: str) -> str:
    return MurckoScaffold.MurckoScaffoldSmiles(smiles)


def _part_of(split: Split) -> dict[int, str]:
    return {int(i): name for name, idx in split.parts().items() for i in idx}


def _assert_groups_whole(split: Split, keys: list) -> None:
    seen: dict[object, str] = {}
    part_of = _part_of(split)
    for i, key in enumerate(keys):
        part = part_of[i]
        assert seen.setdefault(key, part) == part, f"group {key!r} in {seen[key]} and {part}"


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("balanced", [True, False])
def test_scaffold_split_never_puts_one_scaffold_in_two_parts(b3db, seed, balanced):
    smiles = b3db["SMILES"].tolist()
    split = scaffold_split(smiles, seed=seed, balanced=balanced)
    scaffolds = [_scaffold(s) for s in smiles]
    _assert_groups_whole(split, scaffolds)
    assert split.groups == scaffolds
    assert split.leakage["test"]["shared_scaffolds"] == 0
    assert split.leakage["valid"]["molecules_with_train_scaffold"] == 0


def test_scaffold_split_keeps_acyclic_molecules_together_by_default(freesolv):
    split = scaffold_split(freesolv, seed=3)
    acyclic = [i for i, s in enumerate(freesolv) if _scaffold(s) == ""]
    assert len(acyclic) > 50  # FreeSolv is rich in acyclic molecules
    assert len({_part_of(split)[i] for i in acyclic}) == 1
    loose = scaffold_split(freesolv, seed=3, acyclic="singletons")
    assert len({_part_of(loose)[i] for i in acyclic}) > 1
    cyclic = [_scaffold(s) or f"acyclic-{i}" for i, s in enumerate(freesolv)]
    _assert_groups_whole(loose, cyclic)


def test_group_sizes_match_fractions_within_the_largest_group(b3db, freesolv):
    for smiles in (b3db["SMILES"].tolist(), freesolv):
        for fractions in [(0.8, 0.1, 0.1), (0.7, 0.15, 0.15), (0.8, 0.2)]:
            split = scaffold_split(smiles, fractions, seed=2)
            groups = pd.Series(split.groups).value_counts()
            targets = dict(zip(PARTS, target_sizes(len(smiles), split.fractions), strict=True))
            for part, size in split.sizes.items():
                assert abs(size - targets[part]) < groups.max(), (part, size, targets)
    two = scaffold_split(freesolv, (0.8, 0.2))
    assert two.sizes["valid"] == 0 and two.fractions == (0.8, 0.0, 0.2)


def test_random_split_sizes_are_exact_and_cover_every_row(freesolv):
    split = random_split(freesolv, (0.7, 0.2, 0.1), seed=5)
    # 642 rows: 449.4, 128.4, 64.2 -> the one left over goes to the first largest remainder
    assert split.sizes == {"train": 450, "valid": 128, "test": 64}
    everything = np.concatenate([split.train, split.valid, split.test])
    assert sorted(everything.tolist()) == list(range(len(freesolv)))
    assert all(np.all(np.diff(idx) > 0) for idx in split.parts().values())
    assert split.train.dtype == np.int64
    assert random_split(10, (0.5, 0.5)).sizes == {"train": 5, "valid": 0, "test": 5}
    assert random_split(10).leakage == {}


@pytest.mark.parametrize("method", ["random", "scaffold", "cluster", "stratified"])
def test_same_seed_same_split_other_seed_other_split(b3db, method):
    kw = {"smiles": b3db["SMILES"].tolist(), "y": b3db["BBB+/BBB-"].tolist()}
    a = make_split(method, seed=11, **kw)
    b = make_split(method, seed=11, **kw)
    c = make_split(method, seed=12, **kw)
    for part in PARTS:
        assert np.array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.test, c.test)
    assert a.leakage == b.leakage


def test_cluster_split_keeps_clusters_whole_and_clusters_are_butina(b3db):
    smiles = b3db["SMILES"].tolist()
    split = cluster_split(smiles, seed=4, threshold=0.4)
    _assert_groups_whole(split, split.groups)
    assert split.params["n_clusters"] == len(set(split.groups))
    assert split.params["n_clusters"] < len(smiles)  # some molecules did cluster
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    clusters = butina_clusters(fps, 0.4)
    assert sorted(i for c in clusters for i in c) == list(range(len(smiles)))
    for members in clusters:
        centroid = members[0]
        for j in members[1:]:
            assert 1 - DataStructs.TanimotoSimilarity(fps[centroid], fps[j]) <= 0.4
    # the memory-light route gives RDKit's own clusters
    assert butina_clusters(fps, 0.4, route="lists") == butina_clusters(fps, 0.4, route="rdkit")


def test_temporal_split_puts_oldest_in_train_and_never_splits_a_date(freesolv):
    years = [2000 + (i * 7) % 23 for i in range(len(freesolv))]  # many ties per year
    dates = [f"{y}-06-01" for y in years]
    dates[5] = ""  # a missing date: row left out
    split = temporal_split(dates, smiles=freesolv)
    assert split.excluded.tolist() == [5]
    y = np.asarray(years)
    assert y[split.train].max() < y[split.valid].min()
    assert y[split.valid].max() < y[split.test].min()
    assert split.leakage["test"]["n"] == split.sizes["test"]
    numeric = temporal_split(years, (0.5, 0.5))
    assert y[numeric.train].max() < y[numeric.test].min()
    assert abs(numeric.sizes["train"] - 321) <= np.bincount(y).max() / 2
    with pytest.raises(InputError, match="row 6: missing time"):
        temporal_split(dates, strict=True)
    with pytest.raises(InputError, match="row 3: cannot read time 'soon'"):
        temporal_split(["2001", "2002", "soon"])


def test_stratified_split_keeps_class_ratios_within_one_molecule(b3db):
    labels = b3db["BBB+/BBB-"].tolist()
    for fractions in [(0.8, 0.1, 0.1), (0.6, 0.25, 0.15), (0.75, 0.25)]:
        split = stratified_split(labels, fractions, seed=9)
        fr = split.fractions
        targets = target_sizes(len(labels), fr)
        for p, part in enumerate(PARTS):
            idx = getattr(split, part)
            assert abs(len(idx) - targets[p]) <= 1
            for cls in ("BBB+", "BBB-"):
                n_cls = labels.count(cls)
                in_part = sum(labels[i] == cls for i in idx)
                assert abs(in_part - n_cls * fr[p]) <= 1, (fractions, part, cls)


def test_stratified_split_handles_missing_and_rejects_continuous_labels():
    labels = [1, 0, 1, np.nan, 0, 1, 1, 0, 1, 0]
    split = stratified_split(labels, (0.5, 0.5))
    assert split.excluded.tolist() == [3]
    assert split.sizes["train"] + split.sizes["test"] == 9
    with pytest.raises(InputError, match=r"row 2: label 0\.37 is not a class"):
        stratified_split([1.0, 0.37, 0.0])


def test_leakage_scaffold_split_test_is_further_from_train_than_random(freesolv):
    raw = pd.read_csv(B3DB_TSV, sep="\t")["SMILES"].iloc[::5]  # ~1,560 molecules
    b3db_fifth = [m for m in map(Chem.MolFromSmiles, raw) if m is not None]
    for smiles in (b3db_fifth, [Chem.MolFromSmiles(s) for s in freesolv]):
        for seed in (0, 1):
            rnd = random_split(smiles, seed=seed).leakage["test"]
            scf = scaffold_split(smiles, seed=seed).leakage["test"]
            assert scf["median"] < rnd["median"]
            assert scf["near_duplicate_fraction"] < rnd["near_duplicate_fraction"]
            assert scf["shared_scaffolds"] == 0 < rnd["shared_scaffolds"]


def test_leakage_figures_equal_a_brute_force_computation(b3db):
    smiles = b3db["SMILES"].tolist()
    split = random_split(smiles, seed=3)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    train = [fps[i] for i in split.train]
    best = np.array([max(DataStructs.BulkTanimotoSimilarity(fps[i], train)) for i in split.test])
    rep = split.leakage["test"]
    assert rep["median"] == pytest.approx(np.median(best), abs=1e-4)
    assert rep["mean"] == pytest.approx(best.mean(), abs=1e-4)
    assert rep["p10"] == pytest.approx(np.percentile(best, 10), abs=1e-4)
    assert rep["p90"] == pytest.approx(np.percentile(best, 90), abs=1e-4)
    assert rep["near_duplicate_fraction"] == pytest.approx(np.mean(best >= 0.8), abs=1e-4)
    train_scaffolds = {_scaffold(smiles[i]) for i in split.train}
    test_scaffolds = {_scaffold(smiles[i]) for i in split.test}
    assert rep["shared_scaffolds"] == len(test_scaffolds & train_scaffolds)
    assert leakage_report(smiles, split) == split.leakage
    assert "ECFP4" in split.leakage["fingerprint"]


def test_split_save_load_round_trip(tmp_path, freesolv):
    split = scaffold_split(freesolv, (0.7, 0.2, 0.1), seed=8)
    path = split.save(tmp_path / "sub" / "split.json")
    assert [p.name for p in path.parent.iterdir()] == ["split.json"]  # no temp file left
    data = json.loads(path.read_text())
    assert data["method"] == "scaffold" and data["sizes"] == split.sizes
    back = Split.load(path)
    for part in PARTS:
        assert np.array_equal(getattr(back, part), getattr(split, part))
        assert getattr(back, part).dtype == np.int64
    assert back.leakage == split.leakage
    assert back.groups == split.groups
    assert back.params == split.params
    assert (back.seed, back.fractions, back.n) == (8, (0.7, 0.2, 0.1), len(freesolv))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match=r"bad\.json: not valid JSON"):
        Split.load(tmp_path / "bad.json")


def test_split_validation_rejects_overlap_and_gaps():
    with pytest.raises(InputError, match="overlap"):
        Split(train=[0, 1, 2], valid=[], test=[2, 3], method="random", n=4)
    with pytest.raises(InputError, match="1 of 5 rows are in no part"):
        Split(train=[0, 1, 2], valid=[], test=[3], method="random", n=5)
    with pytest.raises(InputError, match=">= n"):
        Split(train=[0, 1], valid=[], test=[9], method="random", n=3)


def test_bad_smiles_row_is_named(b3db):
    raw = pd.read_csv(B3DB_TSV, sep="\t")["SMILES"].tolist()[5000:5100]
    bad = next(s for s in raw if Chem.MolFromSmiles(s) is None)  # B3DB's own row 5044
    smiles = [*b3db["SMILES"].tolist()[:20], bad]
    for method in ("scaffold", "cluster", "random"):
        with pytest.raises(InputError, match="row 21") as err:
            make_split(method, smiles=smiles)
        assert bad in str(err.value)


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.8, 0.1), "sum to 1"),
        ((0.8, 0.3, -0.1), ">= 0"),
        ((0.5, 0.2, 0.2, 0.1), "expected 3 numbers"),
        ((0.0, 0.5, 0.5), "train fraction must be > 0"),
    ],
)
def test_bad_fractions_are_rejected(freesolv, fractions, message):
    with pytest.raises(InputError, match=message):
        scaffold_split(freesolv[:30], fractions)


def test_empty_input_and_unknown_method_are_clear_errors():
    with pytest.raises(InputError, match="empty input"):
        scaffold_split([])
    with pytest.raises(InputError, match="empty input"):
        random_split(0)
    with pytest.raises(InputError, match="unknown split method 'kmeans'"):
        make_split("kmeans", smiles=["CCO"])
    with pytest.raises(InputError, match="temporal split needs"):
        make_split("temporal", smiles=["CCO"])


def test_reindex_maps_a_split_of_good_rows_back_to_the_source_rows(freesolv):
    rows = np.array([0, 2, 3, 5, 6, 9])  # rows 1, 4, 7, 8 of a 10-row source were unusable
    small = scaffold_split([freesolv[i] for i in rows], (0.5, 0.5), seed=1)
    full = small.reindex(rows, 10)
    assert full.excluded.tolist() == [1, 4, 7, 8]
    for part in PARTS:
        assert getattr(full, part).tolist() == sorted(rows[getattr(small, part)].tolist())
    assert full.groups[1] is None and full.groups[9] == small.groups[5]
    assert full.leakage == small.leakage
    with pytest.raises(InputError, match="6 row numbers"):
        random_split(4).reindex(rows, 10)


def test_max_tanimoto_equals_the_dense_matrix_maximum_in_any_chunking(b3db):
    fps = ECFP(radius=2, n_bits=2048)(b3db["SMILES"].tolist())
    query, reference = fps[:70], fps[70:]
    expected = tanimoto_matrix(query, reference).max(axis=1)
    for q_chunk, r_chunk in [(2048, 8192), (7, 13)]:
        got = max_tanimoto(query, reference, query_chunk=q_chunk, reference_chunk=r_chunk)
        np.testing.assert_allclose(got, expected, atol=1e-6)
    assert max_tanimoto(reference[:5], reference).tolist() == [1.0] * 5


def test_cluster_split_warns_about_quadratic_cost_on_big_sets(freesolv, monkeypatch):
    from molfit.data import _split_cluster

    monkeypatch.setattr(_split_cluster, "WARN_N", 100)
    with pytest.warns(UserWarning, match="O\\(n²\\)"):
        split = cluster_split(freesolv[:150], (0.8, 0.2))
    _assert_groups_whole(split, split.groups)
