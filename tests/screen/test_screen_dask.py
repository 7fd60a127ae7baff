"""``screen`` on Dask: a LocalCluster and a scheduler address, both on 127.0.0.1, give the
same parts as the local run."""

from __future__ import annotations

import pandas as pd
import pytest

from molfit.screen import screen

from .test_screen import _library_with_duplicates, parts

distributed = pytest.importorskip("distributed")


@pytest.mark.slow
def test_dask_local_cluster_and_scheduler_equal_the_local_run(run_dir, tmp_path):
    lib = _library_with_duplicates(tmp_path, n=300)
    options = dict(chunk_size=50, top=10, dedupe=True, filters="brenk", progress=False)
    screen(run_dir, lib, tmp_path / "local", **options)
    screen(run_dir, lib, tmp_path / "dask", dask=True, workers=2, **options)
    pd.testing.assert_frame_equal(parts(tmp_path / "dask"), parts(tmp_path / "local"))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        screen(run_dir, lib, tmp_path / "sched", scheduler=cluster.scheduler_address, **options)
    pd.testing.assert_frame_equal(parts(tmp_path / "sched"), parts(tmp_path / "local"))
    for name in ("dask", "sched"):
        top = (tmp_path / name / "top.csv").read_text()
        assert top == (tmp_path / "local" / "top.csv").read_text()
