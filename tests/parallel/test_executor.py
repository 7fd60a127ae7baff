"""molfit.parallel: serial, forked processes and Dask give the same results, in input order,
errors name the global row, and chunks() streams a generator without reading ahead."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

from molfit.chem import ECFP, RDKitDescriptors
from molfit.data import load
from molfit.errors import InputError, InvalidMoleculeError
from molfit.parallel import Executor, chunks, parallel_map


@pytest.fixture(scope="module")
def smiles() -> list[str]:
    """600 real B3DB molecules that RDKit parses."""
    return load("b3db", validate=True).smiles[:600]


def test_chunks_streams_a_generator_without_reading_ahead():
    consumed = []

    def source():
        for i in itertools.count():
            consumed.append(i)
            yield i

    it = chunks(source(), 4)
    assert next(it) == [0, 1, 2, 3]
    assert len(consumed) == 4  # an endless generator: only the first chunk was read
    assert next(it) == [4, 5, 6, 7]
    assert len(consumed) == 8
    assert list(chunks(range(10), 4)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert list(chunks([], 3)) == []
    with pytest.raises(InputError, match="chunk size"):
        chunks(range(3), 0)


def test_processes_equal_serial_in_input_order(smiles):
    ecfp = ECFP()
    serial = np.concatenate(Executor("serial", chunk_size=50).map(ecfp._chunk, smiles))
    with Executor("processes", n_workers=2, chunk_size=50, max_in_flight=3) as ex:
        from_generator = np.concatenate(ex.map(ecfp._chunk, (s for s in smiles)))
        from_list = np.concatenate(ex.map(ecfp._chunk, smiles))
    assert serial.shape == (600, 1024)
    assert np.array_equal(serial, from_generator) and np.array_equal(serial, from_list)
    # each row is that molecule's own fingerprint (order kept across chunks and workers)
    assert np.array_equal(from_list[437], ecfp._chunk([smiles[437]])[0])
    assert np.array_equal(
        parallel_map(ecfp._chunk, smiles, n_jobs=2, chunk_size=64, combine=np.concatenate), serial
    )


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_error_names_the_global_row(backend, smiles):
    bad = list(smiles[:300])
    bad[212] = "C1CC"  # row 213, in the fifth chunk of 50
    bad[280] = "not a smiles"
    ex = Executor(backend, n_workers=2, chunk_size=50)
    with pytest.raises(InvalidMoleculeError, match=r"^row 213: .*'C1CC'") as info:
        ex.map(ECFP()._chunk, bad)
    assert info.value.issue.row == 213


def test_bad_settings_are_input_errors():
    with pytest.raises(InputError, match="unknown parallel backend 'threads'"):
        Executor("threads")
    with pytest.raises(InputError, match="apply to the 'dask' backend"):
        Executor("processes", address="tcp://127.0.0.1:8786")
    with pytest.raises(InputError, match="n_jobs must be"):
        Executor("processes", n_workers=0)


def test_dask_equals_serial_on_a_two_worker_cluster(smiles):
    distributed = pytest.importorskip(
        "dask.distributed", reason="dask[distributed] is not installed (pip install 'molfit[dask]')"
    )
    ecfp = ECFP()
    descriptors = RDKitDescriptors()
    serial_fp = np.concatenate(Executor("serial", chunk_size=100).map(ecfp._chunk, smiles))
    serial_desc = descriptors(smiles[:60])
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp://",  # real sockets on 127.0.0.1, workers as threads here
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Executor("dask", address=cluster.scheduler_address, chunk_size=100) as ex,
    ):
        assert len(ex.client.scheduler_info()["workers"]) == 2
        fp = np.concatenate(ex.map(ecfp._chunk, (s for s in smiles)))
        assert np.array_equal(fp, serial_fp)
        dask_desc = parallel_map(
            descriptors._chunk, smiles[:60], chunk_size=15, executor=ex, combine=np.concatenate
        )
        np.testing.assert_array_equal(dask_desc, serial_desc)  # NaN where serial has NaN
        bad = list(smiles[:250])
        bad[161] = "C1CC"
        with pytest.raises(InvalidMoleculeError, match=r"^row 162: "):
            ex.map(ecfp._chunk, bad)


_FORK_AFTER_PARALLEL = """
import os
import torch
from molfit.parallel import Executor

def _torch_threads(chunk):
    x = torch.randn(600, 300)
    torch.mm(x, x.T)  # a parallel region, were the worker on several threads
    return [(torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS"))] * len(chunk)

torch.set_num_threads(2)
x = torch.randn(1500, 1500)
torch.mm(x, x)  # the parent runs an OpenMP parallel region on two threads before forking
with Executor("processes", n_workers=2, chunk_size=2) as ex:
    seen = {pair for part in ex.map(_torch_threads, list(range(8))) for pair in part}
print(sorted(seen))
"""


def test_forked_workers_run_one_thread_and_do_not_hang_after_a_parallel_parent():
    import subprocess
    import sys

    from molfit.parallel import worker_threads

    assert worker_threads(1) == worker_threads(2) == 1  # forked (Linux): one thread each
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    try:
        # in its own process: a hang (the bug: children inherited the parent's two threads and
        # GNU OpenMP deadlocked in their first parallel region) ends at the timeout, not in CI's
        done = subprocess.run([sys.executable, "-c", _FORK_AFTER_PARALLEL], env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("forked workers hung after the parent had run torch on two threads")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[(1, '1')]"
