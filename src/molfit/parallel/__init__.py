"""One place for parallel work: worker processes over chunks, results in input order."""

from molfit.parallel._executor import n_cpus, parallel_map, resolve_n_jobs

__all__ = ["n_cpus", "parallel_map", "resolve_n_jobs"]
