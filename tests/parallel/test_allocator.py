"""tune_allocator: freed tensor-sized blocks are reused instead of page-faulted in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

from molfit.parallel._allocator import _user_tunes_allocator

CHURN = """
import resource, sys
import numpy as np
from molfit.parallel import tune_allocator
on = tune_allocator()
def churn():
    for _ in range(50):
        a = np.ones((3000, 300), dtype=np.float32)  # 3.6 MB: a D-MPNN batch's messages
        b = a * 2.0
        del a, b
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(on, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _churn(env_extra: dict[str, str]) -> tuple[bool, int]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "MOLFIT_MALLOC"}
    out = subprocess.run(
        [sys.executable, "-c", CHURN], env={**env, **env_extra}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    on, faults = out.stdout.split()
    return on == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuned_allocator_reuses_freed_blocks_without_page_faults() -> None:
    on, faults = _churn({})
    off, faults_off = _churn({"MOLFIT_MALLOC": "system"})
    assert on and not off
    # untuned: every 3.6 MB block is a fresh mmap, ~900 faults each; tuned: the heap reuses them
    assert faults_off > 20_000
    assert faults < faults_off / 10


def test_the_users_own_allocator_settings_win() -> None:
    assert _user_tunes_allocator({"MOLFIT_MALLOC": "system"})
    assert _user_tunes_allocator({"MALLOC_ARENA_MAX_": "2"})
    assert _user_tunes_allocator({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1000000"})
    assert _user_tunes_allocator({"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"})
    assert not _user_tunes_allocator({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F"})
    assert not _user_tunes_allocator({"PATH": "/usr/bin", "MOLFIT_MALLOC": "tuned"})
