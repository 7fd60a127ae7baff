"""``molfit screen`` and ``molfit data show moses`` through the real console entry point."""

from __future__ import annotations

import json

import pandas as pd

from molfit.cli import main

from .conftest import moses_slice


def run(args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["molfit", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_screen_cli_writes_parts_summary_and_top(run_dir, tmp_path, monkeypatch, capsys):
    lib = tmp_path / "lib.smi"
    lib.write_text("\n".join([*moses_slice(200), "C1CC", "CCO", "OCC"]) + "\n")
    out = tmp_path / "hits"
    args = ["screen", run_dir, lib, "-o", out, "--top", "7", "--diverse", "--filter",
            "pains,brenk", "--dedupe", "smiles", "--chunk-size", "64", "--no-progress"]  # fmt: skip
    code, stdout, stderr = run(
        args,
        monkeypatch,
        capsys,
    )
    assert code == 0, stderr
    assert "screened 203 rows, 202 predicted" in stdout
    assert "1 duplicate row(s)" in stdout
    assert "row 201: cannot parse SMILES 'C1CC'" in stderr
    assert sorted(p.name for p in out.glob("part-*.parquet")) == [
        f"part-0000{i}.parquet" for i in range(4)
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_rows"] == 203 and summary["n_failed"] == 1
    top = pd.read_csv(out / "top.csv")
    assert len(top) == 7 and top["passes_filters"].all()
    # the same command again: nothing left to do, same answer
    code, stdout, _ = run(
        args,
        monkeypatch,
        capsys,
    )
    assert code == 0 and "resumed after 4 part(s)" in stdout
    assert pd.read_csv(out / "top.csv").equals(top)


def test_screen_cli_errors_are_one_line_with_exit_code_2(run_dir, tmp_path, monkeypatch, capsys):
    lib = tmp_path / "lib.csv"
    lib.write_text("structure\nCCO\n")
    cases = [
        ([run_dir, tmp_path / "none.smi"], "none.smi: no such file"),
        ([run_dir, lib], "lib.csv: no SMILES column found"),
        ([tmp_path / "norun", lib], "no such run directory"),
    ]
    for args, message in cases:
        code, _, stderr = run(["screen", *args, "-o", tmp_path / "o"], monkeypatch, capsys)
        lines = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert code == 2 and len(lines) == 1 and message in lines[0], stderr
        assert "Traceback" not in stderr
    code, _, stderr = run(
        ["screen", run_dir, lib, "-o", tmp_path / "o", "--filter", "pains,reos"],
        monkeypatch,
        capsys,
    )
    assert code == 2 and "error: --filter: unknown filter 'reos'" in stderr


def test_data_show_moses(monkeypatch, capsys):
    code, stdout, stderr = run(["data", "show", "moses", "-n", "2"], monkeypatch, capsys)
    assert code == 0, stderr
    assert "1,584,663 molecules, task: unlabelled" in stdout and "targets:  none" in stdout
    assert "regression" not in stdout and "label statistics" not in stdout
    assert moses_slice(1)[0] in stdout


def test_a_library_with_no_valid_molecule_says_so(run_dir, tmp_path, monkeypatch, capsys):
    lib = tmp_path / "junk.smi"
    lib.write_text("C1CC\nnot-a-molecule\n\n")
    code, stdout, stderr = run(
        ["screen", run_dir, lib, "-o", tmp_path / "o", "--no-progress"], monkeypatch, capsys
    )
    assert code == 0 and "screened 3 rows, 0 predicted" in stdout
    assert "no row of" in stderr and "row 3: empty line" in stderr
    assert "Traceback" not in stderr
