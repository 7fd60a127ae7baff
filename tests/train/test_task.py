"""AtomisticTask: weighted named outputs, masked missing labels, per-atom energies, configs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molfit.keys import ENERGY, FORCES
from molfit.nn.atomistic import AtomisticModel, ScalarFeatures, SchNet
from molfit.structures import conformer_geometry, structure_items
from molfit.train import (
    AtomisticTask,
    Output,
    Runtime,
    TrainingConfig,
    make_structure_loader,
    output_loss,
)


def test_output_loss_masks_missing_labels_and_normalises_per_atom():
    pred = torch.tensor([1.0, 2.0, 4.0])
    label = torch.tensor([0.0, float("nan"), 2.0])
    assert float(output_loss(Output(ENERGY), pred, label)) == pytest.approx((1 + 4) / 2)
    n_atoms = torch.tensor([2, 5, 4])
    per_atom = output_loss(Output(ENERGY, per_atom=True), pred, label, n_atoms)
    assert float(per_atom) == pytest.approx(((1 / 2) ** 2 + (2 / 4) ** 2) / 2)
    assert float(output_loss(Output(ENERGY, loss="mae"), pred, label)) == pytest.approx(1.5)
    forces = torch.ones(3, 3, requires_grad=True)
    empty = output_loss(Output(FORCES), forces, torch.full((3, 3), float("nan")))
    assert float(empty.detach()) == 0.0 and empty.requires_grad  # connected, contributes nothing


def test_outputs_and_config_are_checked():
    with pytest.raises(ValueError, match="already per atom"):
        Output(FORCES, per_atom=True)
    with pytest.raises(ValueError, match="loss"):
        Output(ENERGY, loss="l3")
    config = TrainingConfig.from_params({"epochs": 7, "lr": 1e-3, "n_features": 64})
    assert config.epochs == 7 and config.lr == 1e-3 and config.batch_size == 100
    assert "devices" not in TrainingConfig.__dataclass_fields__
    assert "devices" in Runtime.__dataclass_fields__


def _frames(n: int = 12):
    numbers, positions = conformer_geometry("CCO")
    rng = np.random.default_rng(0)
    out = [(numbers, positions + rng.normal(scale=0.05, size=positions.shape)) for _ in range(n)]
    return out, len(numbers)


def test_frames_without_forces_still_teach_the_energy_and_force_grads_flow():
    frames, n_atoms = _frames()
    items = structure_items(frames, 4.0)
    energy = np.linspace(-1.0, 1.0, len(frames))
    forces = np.full((len(frames) * n_atoms, 3), np.nan)  # no frame has forces
    loader = make_structure_loader(items, {ENERGY: energy, FORCES: forces}, batch_size=4)
    torch.manual_seed(0)
    net = SchNet(n_features=8, n_interactions=1, n_rbf=4, cutoff=4.0)
    task = AtomisticTask(
        AtomisticModel(ScalarFeatures(net), 8, cutoff=4.0), [Output(ENERGY), Output(FORCES)]
    )
    batch, labels = next(iter(loader))
    assert labels[ENERGY].dtype == torch.float64 and labels[FORCES].shape == (4 * n_atoms, 3)
    task.train()
    loss = task._loss(task(batch), labels, batch)
    loss.backward()
    grads = [p.grad for p in task.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    # with forces labelled, the force term backpropagates through -dE/dr (double backward)
    task.zero_grad()
    labels[FORCES] = torch.zeros_like(labels[FORCES])
    only_forces = AtomisticTask(task.model, [Output(FORCES)])
    only_forces.train()
    only_forces._loss(only_forces(batch), labels, batch).backward()
    assert any(
        p.grad is not None and float(p.grad.abs().sum()) > 0 for p in task.model.parameters()
    )
