"""Datasets and data loaders for deep models: featurized items plus targets, batched by a collate.

Items (e.g. :class:`molfit.chem.MolGraph`) are featurized once, before training; each batch
is collated from them on the fly. A batch is ``(inputs, targets)`` where ``inputs`` is the tuple
of model arguments ``(collate_inputs(items),)`` or ``(collate_inputs(items), extras)`` and
``targets`` is ``(n, n_tasks)`` float32 with ``NaN`` for missing labels (or ``None``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class ItemDataset(Dataset):
    """Featurized items with optional targets ``(n, n_tasks)`` and extras ``(n, d)``."""

    def __init__(
        self,
        items: Sequence[Any],
        targets: np.ndarray | None = None,
        extras: np.ndarray | None = None,
    ) -> None:
        n = len(items)
        for name, arr in (("targets", targets), ("extras", extras)):
            if arr is not None and len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} rows but there are {n} items")
        self.items = list(items)
        self.targets = None if targets is None else np.asarray(targets, dtype=np.float32)
        self.extras = None if extras is None else np.asarray(extras, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> int:
        return i  # the collate gathers rows by index: one numpy fancy-index per batch


class Collate:
    """Turn a list of dataset indices into ``(inputs, targets)`` (picklable for DDP spawn)."""

    def __init__(self, dataset: ItemDataset, collate_inputs: Callable[[list[Any]], Any]) -> None:
        self.dataset = dataset
        self.collate_inputs = collate_inputs

    def __call__(self, indices: list[int]) -> tuple[tuple, torch.Tensor | None]:
        ds = self.dataset
        idx = np.asarray(indices, dtype=np.int64)
        inputs: tuple = (self.collate_inputs([ds.items[i] for i in idx]),)
        if ds.extras is not None:
            inputs = (*inputs, torch.from_numpy(ds.extras[idx]))
        targets = None if ds.targets is None else torch.from_numpy(ds.targets[idx])
        return inputs, targets


def make_loader(
    items: Sequence[Any],
    collate_inputs: Callable[[list[Any]], Any],
    targets: np.ndarray | None = None,
    extras: np.ndarray | None = None,
    *,
    batch_size: int = 50,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A :class:`~torch.utils.data.DataLoader` of ``(inputs, targets)`` batches.

    Shuffling draws from a generator seeded with ``seed``, so the batch order is reproducible.
    Collation runs in the main process: the items are already featurized and a batch is a few
    numpy concatenations, cheaper than shipping it from a worker.
    """
    dataset = ItemDataset(items, targets, extras)
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=Collate(dataset, collate_inputs),
        generator=generator,
        drop_last=drop_last,
    )
