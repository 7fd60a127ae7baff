"""The primer's Python side: reference demos, fits behind the API, the case-study model."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from molfit.chem import ecfp
from molfit.errors import InputError, InvalidMoleculeError
from molfit.primer import (
    ASPIRIN,
    PRIMER_LOSS,
    Network,
    PropertyModel,
    TinyNet,
    activation,
    backprop_step,
    forward,
    gp_fit,
    gradient_descent,
    least_squares_line,
    molecule_panel,
    neuron,
    pinn_fit,
    polynomial_fit,
)
from molfit.primer._pinn import _pinn_fit_cached

# --- reference implementations of the in-page demos ---------------------------------------------


def test_least_squares_line_matches_numpy_polyfit():
    pts = [(1.0, 2.1), (2.0, 2.9), (3.0, 4.2), (4.5, 4.4), (6.0, 6.3), (7.5, 6.9), (9.0, 8.6)]
    fit = least_squares_line(pts)
    x, y = np.array(pts).T
    slope, intercept = np.polyfit(x, y, 1)
    assert fit.slope == pytest.approx(slope, rel=1e-12)
    assert fit.intercept == pytest.approx(intercept, rel=1e-12)
    assert fit.loss == pytest.approx(np.mean((slope * x + intercept - y) ** 2), rel=1e-12)


def test_least_squares_line_with_one_distinct_x_is_flat():
    fit = least_squares_line([(2.0, 1.0), (2.0, 3.0)])
    assert (fit.slope, fit.intercept, fit.loss) == (0.0, 2.0, 1.0)


def test_gradient_descent_small_lr_finds_a_local_minimum_large_lr_diverges():
    thetas, diverged = gradient_descent(PRIMER_LOSS, 1.0, lr=0.1, steps=200)
    assert not diverged
    assert abs(PRIMER_LOSS.grad(thetas[-1])) < 1e-6
    assert PRIMER_LOSS.value(thetas[-1]) < PRIMER_LOSS.value(1.0)
    # Started right of the barrier at θ≈1.3 it stays in that basin: a local minimum, not the global.
    assert thetas[-1] == pytest.approx(2.082, abs=1e-3)
    crawl, _ = gradient_descent(PRIMER_LOSS, 1.0, lr=0.001, steps=50)
    assert abs(crawl[-1] - 1.0) < 0.5 * abs(thetas[-1] - 1.0)
    _, exploded = gradient_descent(PRIMER_LOSS, 1.0, lr=5.0, steps=200)
    assert exploded


def test_activations_equal_torch():
    z = torch.linspace(-4, 4, 41, dtype=torch.float64)
    torch_fns = {
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": torch.nn.functional.gelu,
    }
    for name, fn in torch_fns.items():
        ours = torch.tensor([activation(name)(float(v)) for v in z], dtype=torch.float64)
        torch.testing.assert_close(ours, fn(z), rtol=1e-12, atol=1e-14)
    assert neuron([1.0, 0.5], [0.8, -0.6], -0.5, "relu") == pytest.approx((0.0, 0.0))
    with pytest.raises(ValueError, match="unknown activation"):
        activation("swish")


def test_forward_equals_torch_mlp():
    net = Network(
        w1=[[0.8, -0.5], [-0.6, 1.1], [0.4, 0.9]], b1=[0.1, -0.2, 0.0], w2=[1.2, -0.7, 0.5]
    )
    hidden, out = forward(net, [1.0, -0.5])
    h_t = torch.tanh(torch.tensor(net.w1) @ torch.tensor([1.0, -0.5]) + torch.tensor(net.b1))
    assert hidden == pytest.approx(h_t.tolist(), rel=1e-6)
    assert out == pytest.approx(float(torch.tensor(net.w2) @ h_t), rel=1e-6)


def test_backprop_step_gradients_equal_autograd_and_the_update_lowers_the_loss():
    net = TinyNet()
    step = backprop_step(net, x=1.5, y=0.8, lr=0.1)
    params = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in vars(net).items()
    }
    h = torch.tanh(params["w1"] * 1.5 + params["b1"])
    y_hat = params["w2"] @ h + params["b2"]
    loss = (y_hat - 0.8) ** 2
    loss.backward()
    assert step.loss == pytest.approx(loss.item(), rel=1e-12)
    assert step.d_w1 == pytest.approx(params["w1"].grad.tolist(), rel=1e-12)
    assert step.d_b1 == pytest.approx(params["b1"].grad.tolist(), rel=1e-12)
    assert step.d_w2 == pytest.approx(params["w2"].grad.tolist(), rel=1e-12)
    assert step.d_b2 == pytest.approx(params["b2"].grad.item(), rel=1e-12)
    assert step.updated.w2[0] == pytest.approx(net.w2[0] - 0.1 * step.d_w2[0])
    assert step.loss_after < step.loss


# --- fits behind the API ------------------------------------------------------------------------


def test_polynomial_train_loss_falls_with_degree_and_test_loss_turns_up():
    sweep = polynomial_fit(3)["sweep"]
    train = [s["train_loss"] for s in sweep]
    test = [s["test_loss"] for s in sweep]
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(train))
    assert train[-1] < 0.2 * train[0]
    best = int(np.argmin(test))
    assert 2 <= best <= 9  # underfit at degree 0-1, overfit at the top
    assert test[-1] > 2 * test[best]
    assert test[0] > 2 * test[best]


def test_polynomial_fit_rejects_bad_degree():
    with pytest.raises(InputError, match="degree"):
        polynomial_fit(13)


def test_polynomial_fit_curve_is_the_least_squares_polynomial():
    r = polynomial_fit(4)
    coef = np.polyfit(r["train"]["x"], r["train"]["y"], 4)
    np.testing.assert_allclose(r["fit"], np.polyval(coef, r["x"]), atol=1e-8)


def test_gp_fit_equals_an_independent_exact_posterior():
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF

    x, y = [-2.0, 0.5, 1.5], [1.0, -0.5, 0.3]
    r = gp_fit(x, y, length_scale=0.8, noise=0.01)
    ref = GaussianProcessRegressor(RBF(0.8, "fixed"), alpha=0.01, optimizer=None).fit(
        np.array(x)[:, None], y
    )
    mean, std = ref.predict(np.array(r["x"])[:, None], return_std=True)
    np.testing.assert_allclose(r["mean"], mean, atol=1e-6)
    np.testing.assert_allclose(r["std"], std, atol=1e-6)
    grid = np.array(r["x"])
    assert np.array(r["std"])[np.argmin(abs(grid - 0.5))] < 0.15  # sure near the data
    assert r["std"][0] > 0.95  # back to the prior far from it


def test_gp_fit_matches_molfit_models_gp():
    from molfit import models

    x, y = np.array([-1.0, 0.0, 2.0]), np.array([0.5, -0.2, 1.0])
    gp = models.ExactGP(
        kernel="rbf",
        length_scale=1.3,
        noise=0.01,
        optimize=False,
        normalize_y=False,
        include_noise=False,
    )
    mean, std = gp.fit(x[:, None], y).predict(np.linspace(-5, 5, 200)[:, None], return_std=True)
    r = gp_fit(x, y, length_scale=1.3, noise=0.01)
    assert r["engine"] == "molfit.models"
    np.testing.assert_allclose(r["mean"], np.ravel(mean), atol=1e-8)
    np.testing.assert_allclose(r["std"], np.ravel(std), atol=1e-8)


def test_gp_fit_with_one_observation_is_the_exact_posterior():
    r = gp_fit([1.0], [2.0], length_scale=1.0, noise=0.01)
    k = np.exp(-((np.array(r["x"]) - 1.0) ** 2) / 2.0)
    np.testing.assert_allclose(r["mean"], k * 2.0 / 1.01, atol=1e-12)
    np.testing.assert_allclose(r["std"], np.sqrt(1.0 - k**2 / 1.01), atol=1e-12)


def test_gp_fit_rejects_bad_input():
    with pytest.raises(InputError, match="length_scale"):
        gp_fit([0.0], [1.0], length_scale=0.0)
    with pytest.raises(InputError, match="differ in length"):
        gp_fit([0.0, 1.0], [1.0], length_scale=1.0)


def test_pinn_mixing_data_and_physics_recovers_sin_where_data_alone_cannot():
    mixed = _pinn_fit_cached.__wrapped__(0.5, 400, 0)
    history = np.array(mixed["history"])
    total = 0.5 * history[:, 1] + 0.5 * history[:, 2]
    assert total[-1] < 0.01 * total[0]
    assert mixed["max_error"] < 0.05
    data_only = pinn_fit(0.0)
    assert data_only["data_loss"] < 1e-3  # it fits its six points...
    assert data_only["max_error"] > 0.3  # ...but not sin(x) beyond them
    assert data_only["physics_loss"] > 100 * mixed["physics_loss"]
    with pytest.raises(InputError, match="physics_weight"):
        pinn_fit(1.5)


# --- molecules ----------------------------------------------------------------------------------


def test_molecule_panel_of_aspirin():
    panel = molecule_panel(ASPIRIN)
    bits = ecfp(ASPIRIN, radius=2, n_bits=1024)
    assert panel["on_bits"] == list(np.flatnonzero(bits))
    assert len(panel["graph"]["nodes"]) == 13
    assert len(panel["graph"]["edges"]) == 13
    assert sorted({n["element"] for n in panel["graph"]["nodes"]}) == ["C", "O"]
    assert panel["svg"].startswith("<svg")
    with pytest.raises(InvalidMoleculeError, match="unclosed ring"):
        molecule_panel("C1CC")


@pytest.fixture(scope="module")
def property_model(primer_cache):
    return PropertyModel(primer_cache)


def test_property_model_predicts_with_uncertainty_and_caches(property_model, primer_cache):
    assert (primer_cache / "primer").is_dir()
    ethanol = property_model.predict("CCO")  # FreeSolv: −5.00 kcal/mol
    assert ethanol["mean"] == pytest.approx(-5.0, abs=1.0)
    assert ethanol["lower"] < -5.0 < ethanol["upper"]
    assert ethanol["in_training_set"]
    far = property_model.predict("[Fe+2].[Cl-].[Cl-]")
    assert far["std"] > 2 * ethanol["std"]
    assert far["nearest"]["similarity"] < 0.3
    info = property_model.describe()
    assert info["n_train"] == 642
    assert 0.5 < info["held_out_rmse"] < 2.5
    assert 0.8 < info["held_out_coverage95"] <= 1.0
    again = PropertyModel(primer_cache)
    assert again.from_cache
    assert again.predict("CCO")["mean"] == pytest.approx(ethanol["mean"], rel=1e-12)


def test_property_model_bad_smiles_is_a_clear_error(property_model):
    with pytest.raises(InvalidMoleculeError, match="cannot parse SMILES 'CC\\(C'"):
        property_model.predict("CC(C")
    assert math.isfinite(property_model.predict("c1ccccc1O")["std"])
