"""``molfit.screen.screen`` on real molecules: formats, bad rows, resume, top, filters, dedupe."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from molfit.data import moses_file
from molfit.errors import InputError
from molfit.screen import iter_library, part_path, resolve_library, screen
from molfit.workflows import load_run_model

from .conftest import moses_slice

PAINS_ENE_RHOD = "O=C1NC(=S)SC(=Cc2ccccc2)1"  # 5-benzylidene rhodanine: PAINS A ene_rhod
NITRO = "O=[N+]([O-])c1ccc(CCN)cc1"  # Brenk: nitro group
GREASY = "C" * 40 + "c1ccccc1" + "C" * 10  # MW > 500 and logP > 5: two Lipinski violations


def parts(out: Path) -> pd.DataFrame:
    files = sorted(out.glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def summary_of(out: Path) -> dict:
    data = json.loads((out / "summary.json").read_text())
    for volatile in ("seconds", "resumed_parts", "out_dir", "top", "report"):
        data.pop(volatile)
    return data


def write_sdf(smiles: list[str], path: Path) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as fh:
        for i, s in enumerate(smiles):
            mol = Chem.MolFromSmiles(s)
            mol.SetProp("_Name", f"mol{i}")
            fh.write(Chem.MolToMolBlock(mol) + "$$$$\n")


def test_every_format_gives_the_same_predictions_as_the_model(run_dir, tmp_path):
    smiles = moses_slice(60)
    expected = load_run_model(run_dir).predict(smiles).to_frame(None)["probability"].to_numpy()
    names = [f"zinc{i}" for i in range(len(smiles))]
    frame = pd.DataFrame({"id": names, "SMILES": smiles})
    files = {
        "lib.smi": None,
        "lib.smi.gz": None,
        "lib.csv": None,
        "lib.csv.gz": None,
        "lib.tsv": None,
        "lib.tsv.gz": None,
        "lib.parquet": None,
        "lib.sdf": None,
        "lib.sdf.gz": None,
    }
    for name in files:
        path = tmp_path / name
        if ".smi" in name:
            text = "".join(f"{s} {n}\n" for s, n in zip(smiles, names, strict=True))
            if name.endswith(".gz"):
                with gzip.open(path, "wt") as fh:
                    fh.write(text)
            else:
                path.write_text(text)
        elif ".csv" in name:
            frame.to_csv(path, index=False)
        elif ".tsv" in name:
            frame.to_csv(path, index=False, sep="\t")
        elif name.endswith(".parquet"):
            frame.to_parquet(path)
        else:
            write_sdf(smiles, path)
    canonical = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in smiles]
    for name in files:
        out = tmp_path / f"out-{name}"
        summary = screen(
            run_dir, tmp_path / name, out, chunk_size=25, top=5, dedupe=True, progress=False
        )
        table = parts(out)
        assert summary.n_rows == 60 and summary.n_failed == 0 and summary.n_parts == 3, name
        assert table["row"].tolist() == list(range(1, 61)), name
        np.testing.assert_allclose(table["score"].to_numpy(), expected, err_msg=name)
        assert table["canonical_smiles"].tolist() == canonical, name
        if not name.startswith("lib.sdf"):
            assert table["name"].tolist() == names, name
        else:
            assert table["name"].tolist() == [f"mol{i}" for i in range(60)]


def test_bad_rows_are_reported_with_row_and_reason_and_never_fatal(run_dir, tmp_path):
    good = moses_slice(4)
    lib = tmp_path / "bad.csv"
    lib.write_text(
        "smiles,id\n"
        f"{good[0]},a\n"
        "C1CC,b\n"  # row 2: unclosed ring
        "\n"  # row 3: empty line
        f"{good[1]},c,extra\n"  # row 4: ragged
        ",e\n"  # row 5: missing SMILES
        "C(C)(C)(C)(C)C,f\n"  # row 6: pentavalent carbon
        f"{good[2]},g\n"
    )
    summary = screen(run_dir, lib, tmp_path / "out", chunk_size=3, top=10, progress=False)
    table = parts(tmp_path / "out")
    assert summary.n_rows == 7 and summary.n_failed == 5 and summary.n_predicted == 2
    errors = dict(zip(table["row"], table["error"], strict=True))
    assert errors[1] == "" and errors[7] == ""
    assert "unclosed ring" in errors[2]
    assert errors[3] == "empty line"
    assert "3 field(s), the header has 2" in errors[4]
    assert errors[5] == "missing SMILES"
    assert "C(C)(C)(C)(C)C" in errors[6]
    assert summary.errors[0].startswith("row 2: ") and len(summary.errors) == 5
    assert table["score"].isna().tolist() == [False, True, True, True, True, True, False]
    top = pd.read_csv(tmp_path / "out" / "top.csv")
    assert sorted(top["row"]) == [1, 7]


def test_truncated_gzip_names_the_row_and_keeps_what_was_read(run_dir, tmp_path):
    lib = tmp_path / "lib.smi.gz"
    with gzip.open(lib, "wt") as fh:
        fh.write("\n".join(moses_slice(3000)) + "\n")
    data = lib.read_bytes()
    lib.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"lib\.smi\.gz: the gzip stream is truncated .* row \d+"):
        screen(run_dir, lib, out, chunk_size=500, progress=False)
    summary = json.loads((out / "summary.json").read_text())
    assert 500 <= summary["n_rows"] < 3000
    assert "truncated" in summary["input_error"]
    assert len(parts(out)) == summary["n_rows"]


def test_library_errors_name_the_file(run_dir, tmp_path):
    no_column = tmp_path / "nocol.csv"
    no_column.write_text("structure,id\nCCO,1\n")
    with pytest.raises(InputError, match=r"nocol\.csv: no SMILES column"):
        screen(run_dir, no_column, tmp_path / "o1", progress=False)
    empty = tmp_path / "empty.smi"
    empty.write_text("")
    with pytest.raises(InputError, match=r"empty\.smi: the file is empty"):
        screen(run_dir, empty, tmp_path / "o2", progress=False)
    with pytest.raises(InputError, match=r"lib\.xlsx: cannot screen"):
        (tmp_path / "lib.xlsx").write_text("x")
        screen(run_dir, tmp_path / "lib.xlsx", tmp_path / "o3", progress=False)
    with pytest.raises(InputError, match="no such file"):
        screen(run_dir, tmp_path / "missing.smi", tmp_path / "o4", progress=False)


def _library_with_duplicates(tmp_path: Path, n: int = 600) -> Path:
    smiles = moses_slice(n)
    # the same molecules again, written differently (non-canonical atom order)
    again = [Chem.MolToSmiles(Chem.MolFromSmiles(s), doRandom=True) for s in smiles[:50]]
    rng = np.random.default_rng(0)
    rows = smiles + again + [PAINS_ENE_RHOD, NITRO, GREASY, "C1CC"]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    lib = tmp_path / "dup.smi"
    lib.write_text("\n".join(rows) + "\n")
    return lib


def test_resume_after_interruption_equals_an_uninterrupted_run(run_dir, tmp_path):
    lib = _library_with_duplicates(tmp_path)
    options = dict(chunk_size=100, top=20, filters="pains,brenk,lipinski", dedupe=True)
    full = tmp_path / "full"
    screen(run_dir, lib, full, progress=False, **options)
    cut = tmp_path / "cut"
    screen(run_dir, lib, cut, progress=False, _stop_after_parts=3, **options)
    progress = json.loads((cut / "progress.json").read_text())
    assert progress["parts_done"] == 3 and not progress["complete"]
    assert not (cut / "summary.json").exists() and not part_path(cut, 3).exists()
    resumed = screen(run_dir, lib, cut, progress=False, **options)
    assert resumed.resumed_parts == 3 and resumed.n_parts == 7
    pd.testing.assert_frame_equal(parts(cut), parts(full))
    assert (cut / "top.csv").read_text() == (full / "top.csv").read_text()
    assert summary_of(cut) == summary_of(full)
    assert summary_of(full)["n_duplicates"] == 50


def test_kill_9_then_the_same_command_finishes_the_job(run_dir, tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("\n".join(moses_slice(4000)) + "\n")
    out = tmp_path / "killed"
    code = (
        "import sys; from molfit.screen import screen; "
        "screen(sys.argv[1], sys.argv[2], sys.argv[3], chunk_size=50, top=10, dedupe=True, "
        "progress=False)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", code, str(run_dir), str(lib), str(out)], env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads((out / "progress.json").read_text())["parts_done"] >= 3:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.005)
        assert proc.poll() is None, "the screen ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    progress = json.loads((out / "progress.json").read_text())
    assert not progress["complete"] and 3 <= progress["parts_done"] < 80
    resumed = screen(run_dir, lib, out, chunk_size=50, top=10, dedupe=True, progress=False)
    assert resumed.resumed_parts == progress["parts_done"]
    full = tmp_path / "full"
    screen(run_dir, lib, full, chunk_size=50, top=10, dedupe=True, progress=False)
    pd.testing.assert_frame_equal(parts(out), parts(full))
    assert (out / "top.csv").read_text() == (full / "top.csv").read_text()
    assert summary_of(out) == summary_of(full)
    assert not list(out.glob(".*")), "temporary files left behind"


def test_an_out_folder_with_other_settings_is_refused(run_dir, tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("\n".join(moses_slice(30)) + "\n")
    screen(run_dir, lib, tmp_path / "out", chunk_size=10, progress=False)
    with pytest.raises(InputError, match="chunk_size differ"):
        screen(run_dir, lib, tmp_path / "out", chunk_size=20, progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty and holds no screen"):
        screen(run_dir, lib, tmp_path / "other", progress=False)


def test_top_filters_and_dedupe(run_dir, tmp_path):
    lib = _library_with_duplicates(tmp_path)
    out = tmp_path / "out"
    summary = screen(
        run_dir,
        lib,
        out,
        chunk_size=128,
        top=25,
        filters=["pains", "brenk", "lipinski"],
        dedupe=True,
        progress=False,
    )
    table = parts(out)
    by_smiles = table.set_index("smiles")
    assert by_smiles.loc[PAINS_ENE_RHOD, "pains"] != ""
    assert by_smiles.loc[NITRO, "brenk"] != ""
    assert by_smiles.loc[GREASY, "lipinski_violations"] == 2
    assert not by_smiles.loc[[PAINS_ENE_RHOD, NITRO, GREASY], "passes_filters"].any()
    # duplicates point at the first row with the same canonical SMILES
    dup = table[table["duplicate_of"].notna()]
    assert len(dup) == 50 == summary.n_duplicates
    first = table.set_index("row")
    for row, earlier in zip(dup["row"], dup["duplicate_of"], strict=True):
        assert earlier < row
        assert first.loc[earlier, "canonical_smiles"] == first.loc[row, "canonical_smiles"]
        assert pd.isna(first.loc[earlier, "duplicate_of"])
    eligible = table[
        (table["error"] == "") & table["passes_filters"] & table["duplicate_of"].isna()
    ].sort_values(["score", "row"], ascending=[False, True], kind="mergesort")
    top = pd.read_csv(out / "top.csv")
    assert top["rank"].tolist() == list(range(1, 26))
    assert top["row"].tolist() == eligible["row"].head(25).tolist()
    assert top["score"].is_monotonic_decreasing
    lowest = screen(
        run_dir, lib, tmp_path / "low", chunk_size=128, top=5, lowest=True, progress=False
    )
    low = pd.read_csv(lowest.top)
    ok = table[table["error"] == ""]
    assert low["score"].iloc[0] == pytest.approx(ok["score"].min())
    assert low["score"].is_monotonic_increasing


def _mean_similarity(smiles: list[str]) -> float:
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    sims = [DataStructs.BulkTanimotoSimilarity(f, fps[i + 1 :]) for i, f in enumerate(fps[:-1])]
    return float(np.mean(np.concatenate(sims)))


def test_diverse_top_is_more_diverse_and_keeps_the_best(run_dir, tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("\n".join(moses_slice(1500)) + "\n")
    plain = screen(run_dir, lib, tmp_path / "plain", chunk_size=500, top=20, progress=False)
    diverse = screen(
        run_dir, lib, tmp_path / "div", chunk_size=500, top=20, diverse=True, progress=False
    )
    p = pd.read_csv(plain.top)
    d = pd.read_csv(diverse.top)
    assert len(d) == 20 and d["row"].is_unique
    assert d["row"].iloc[0] == p["row"].iloc[0]  # the best hit is always picked first
    table = parts(tmp_path / "plain")
    pool = table.sort_values(["score", "row"], ascending=[False, True], kind="mergesort")
    assert set(d["row"]) <= set(pool["row"].head(200))
    assert d["score"].is_monotonic_decreasing
    assert set(d["row"]) != set(p["row"])
    assert "canonical_smiles" not in d  # only with --dedupe smiles
    assert _mean_similarity(d["smiles"].tolist()) < _mean_similarity(p["smiles"].tolist())


def test_two_workers_give_the_same_parts(run_dir, tmp_path):
    lib = _library_with_duplicates(tmp_path, n=400)
    one = screen(run_dir, lib, tmp_path / "w1", chunk_size=60, dedupe=True, progress=False)
    two = screen(
        run_dir, lib, tmp_path / "w2", chunk_size=60, dedupe=True, workers=2, progress=False
    )
    assert one.n_parts == two.n_parts == 8
    pd.testing.assert_frame_equal(parts(tmp_path / "w1"), parts(tmp_path / "w2"))
    assert (tmp_path / "w1" / "top.csv").read_text() == (tmp_path / "w2" / "top.csv").read_text()


def test_moses_is_streamed_from_its_file():
    assert resolve_library("moses") == moses_file()
    first = next(iter_library("moses", 100))
    assert len(first) == 100 and first.rows[0] == 1
    assert first.smiles[:2] == moses_slice(2)
    assert not first.errors
