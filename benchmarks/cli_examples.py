"""Run every example of every verb's ``--help``, in order, as a new user would (issue 12).

    python benchmarks/cli_examples.py [--dir DIR] [--keep-going]

The examples (``molfit.cli.EXAMPLES``, printed at the end of each ``molfit VERB --help``) form one
tour: later ones read files that earlier ones write. Each runs as its own ``molfit`` process
in DIR (default: a new temporary folder), with the console script a ``pip install`` put on
PATH. Recorded per command: exit code, wall time, whether its output holds a Python traceback,
and the last lines of its output; ``molfit primer --no-browser`` is started, its page fetched
from the printed URL, and stopped. Results: ``DIR/cli_examples.json``, and a table on stdout.
Exit code 1 when any command failed or printed a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _machine import cpu_model

from molfit.cli import EXAMPLES


def run_primer(cwd: Path, timeout: float = 120.0) -> dict:
    """Start ``molfit primer --no-browser``, fetch the URL it prints, stop it."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        ["molfit", "primer", "--no-browser"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    status = None
    try:
        assert proc.stdout is not None
        while time.perf_counter() - t0 < timeout:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            match = re.search(r"http://127\.0\.0\.1:\d+/?\S*", line)
            if match:
                with urllib.request.urlopen(match.group(0), timeout=30) as response:
                    status = response.status
                break
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"rc": 0 if status == 200 else 1, "http_status": status, "tail": lines[-5:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a new one)")
    ap.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="molfit-examples-"))
    work.mkdir(parents=True, exist_ok=True)
    helps: dict[str, str] = {}
    rows = []
    for verb, command in EXAMPLES:
        if verb not in helps:
            cmd = ["molfit", *verb.split(), "--help"]
            done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
            helps[verb] = done.stdout
        in_help = command in helps[verb]
        t0 = time.perf_counter()
        if verb == "primer":
            res = run_primer(work)
            output = "\n".join(res.pop("tail"))
        else:
            proc = subprocess.run(shlex.split(command), cwd=work, capture_output=True,
                                  text=True, check=False, env={**os.environ})  # fmt: skip
            output = proc.stdout + proc.stderr
            res = {"rc": proc.returncode}
        row = {"command": command, "in_help": in_help, **res,
               "wall_s": round(time.perf_counter() - t0, 2),
               "traceback": "Traceback (most recent call last)" in output,
               "tail": output.strip().splitlines()[-3:]}  # fmt: skip
        rows.append(row)
        mark = "ok" if row["rc"] == 0 and not row["traceback"] and in_help else "FAILED"
        print(f"{mark:6} {row['wall_s']:7.1f} s  {command}", flush=True)
        if mark != "ok":
            print("       " + "\n       ".join(row["tail"]), flush=True)
            if not args.keep_going:
                break
    result = {"dir": str(work), "cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"),
              "python": sys.version.split()[0], "rows": rows}  # fmt: skip
    (work / "cli_examples.json").write_text(json.dumps(result, indent=1))
    failed = [r for r in rows if r["rc"] or r["traceback"] or not r["in_help"]]
    ran_all = len(rows) == len(EXAMPLES)
    tracebacks = sum(r["traceback"] for r in rows)
    print(
        f"{len(rows) - len(failed)} of {len(EXAMPLES)} examples ran cleanly; "
        f"tracebacks: {tracebacks}; results: {work}/cli_examples.json"
    )
    sys.exit(1 if failed or not ran_all else 0)


if __name__ == "__main__":
    main()
