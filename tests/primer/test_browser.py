"""The primer in headless Chromium: every slide, every demo driven, numbers checked against molfit.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and the ``playwright`` Python package;
Playwright's own browser downloads are never used. Screenshots land in ``test-artifacts/primer/``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from molfit.chem import ecfp
from molfit.primer import (
    PRIMER_LOSS,
    Network,
    PropertyModel,
    TinyNet,
    backprop_step,
    create_server,
    forward,
    gp_fit,
    gradient_descent,
    least_squares_line,
    neuron,
    polynomial_fit,
)
from molfit.primer._pinn import _pinn_fit_cached

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "primer"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


@pytest.fixture(scope="module")
def server(primer_cache):
    srv = create_server(0, cache=primer_cache, science=False)  # science: test_science_browser
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def session(server, browser):
    """One page for the module; every request outside the primer's origin is blocked and logged."""
    page = browser.new_page(viewport={"width": 1280, "height": 760})
    origin = urlsplit(server.url).netloc
    state = {"blocked": [], "errors": []}

    def guard(route):
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            state["blocked"].append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("pageerror", lambda exc: state["errors"].append(str(exc)))
    page.goto(server.url)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield page, server, state
    assert state["blocked"] == [], f"requests left 127.0.0.1: {state['blocked']}"
    assert state["errors"] == [], f"JavaScript errors: {state['errors']}"
    page.close()


def goto(page, server, n: int) -> None:
    page.goto(f"{server.url}#{n}")
    page.wait_for_selector(f"body[data-slide='{n}']")


def value(page, selector: str) -> float:
    return float(page.locator(selector).get_attribute("data-value"))


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def drag(page, locator, dx: float, dy: float) -> None:
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()


def test_every_slide_in_order_with_keyboard_navigation_and_tweaks(session):
    page, server, _ = session
    goto(page, server, 1)
    titles = page.locator(".slide").evaluate_all("s => s.map(x => x.dataset.title)")
    assert titles[0] == "Title" and titles[2] == "The data" and titles[-1] == "Wrap-up"
    assert len(titles) == 20
    page.locator("body").click(position={"x": 5, "y": 5})
    for n in range(2, 21):
        page.keyboard.press("ArrowRight")
        assert page.locator("body").get_attribute("data-slide") == str(n)
        assert page.locator(".slide.active").count() == 1
    page.keyboard.press("ArrowLeft")
    assert page.locator("#counter").inner_text() == "19 / 20"
    goto(page, server, 1)
    page.click("#tweaks-toggle")
    page.click("#tweak-accent button[data-value='#2f6fde']")
    page.select_option("#tweak-font", "sans")
    page.click("#tweak-bg button[data-value='dark']")
    accent = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--accent')"
    )
    assert accent.strip() == "#2f6fde"
    assert page.locator("body").get_attribute("data-bg") == "dark"
    assert page.locator("body").get_attribute("data-font") == "sans"
    shot(page, "01-title-tweaked")
    page.click("#tweak-accent button[data-value='#e4572e']")
    page.click("#tweak-bg button[data-value='paper']")
    page.select_option("#tweak-font", "serif")
    page.click("#tweaks-toggle")


def test_data_slide_draws_aspirin_from_its_smiles(session):
    page, server, _ = session
    goto(page, server, 3)
    on_bits = json.loads(page.locator("#data-bits").get_attribute("data-on-bits"))
    expected = np.flatnonzero(ecfp("CC(=O)OC1=CC=CC=C1C(=O)O", radius=2, n_bits=1024)).tolist()
    assert on_bits == expected
    assert page.locator("#data-bits rect.bit.on").count() == len(expected)
    assert page.locator("#data-graph circle").count() == 13
    assert page.locator("#data-structure svg").count() == 1
    shot(page, "03-data")


def test_linear_regression_refits_while_dragging(session):
    page, server, _ = session
    goto(page, server, 4)
    before = value(page, "#linreg-slope")
    drag(page, page.locator("#linreg-plot circle[data-index='6']"), 0, 160)
    points = json.loads(page.locator("#linreg-plot").get_attribute("data-points"))
    fit = least_squares_line([tuple(p) for p in points])
    assert value(page, "#linreg-slope") == pytest.approx(fit.slope, abs=1e-12)
    assert value(page, "#linreg-intercept") == pytest.approx(fit.intercept, abs=1e-12)
    assert value(page, "#linreg-loss") == pytest.approx(fit.loss, abs=1e-12)
    assert page.locator("#linreg-slope").inner_text() == f"{fit.slope:.2f}"
    assert value(page, "#linreg-slope") < before - 0.1  # the last point went down: flatter line
    shot(page, "04-linear-regression")


@pytest.mark.parametrize(("log_lr", "state"), [("-1", "converged"), ("0.8", "diverged")])
def test_gradient_descent_follows_the_reference(session, log_lr, state):
    page, server, _ = session
    goto(page, server, 5)
    page.locator("#gd-lr").fill(log_lr)
    box = page.locator("#gd-plot .bg-click").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.5)
    page.wait_for_selector("#gd-plot[data-done='true']", timeout=10_000)
    theta0 = float(page.locator("#gd-plot").get_attribute("data-theta0"))
    lr = float(page.locator("#gd-plot").get_attribute("data-lr"))
    assert lr == pytest.approx(10 ** float(log_lr))
    thetas, diverged = gradient_descent(PRIMER_LOSS, theta0, lr, 50)
    assert page.locator("#gd-status").get_attribute("data-state") == state
    assert diverged == (state == "diverged")
    assert value(page, "#gd-step") == len(thetas) - 1
    assert value(page, "#gd-theta") == pytest.approx(thetas[-1], rel=1e-9)
    shot(page, f"05-gradient-descent-{state}")


def test_neuron_activation_toggles(session):
    page, server, _ = session
    goto(page, server, 6)
    page.locator("#neuron-x1").fill("1.5")
    page.locator("#neuron-w1").fill("0.9")
    seen = set()
    for act in ("relu", "sigmoid", "tanh", "gelu"):
        page.click(f"#neuron-acts button[data-act='{act}']")
        inputs = json.loads(page.locator("#neuron-plot").get_attribute("data-inputs"))
        assert inputs["activation"] == act
        z, h = neuron(inputs["x"], inputs["w"], inputs["b"], act)
        assert value(page, "#neuron-z") == pytest.approx(z, abs=1e-12)
        assert value(page, "#neuron-h") == pytest.approx(h, abs=1e-12)
        seen.add(round(h, 6))
    assert len(seen) == 4  # four different squishes of the same z
    shot(page, "06-neuron")


def test_network_output_follows_a_dragged_weight(session):
    page, server, _ = session
    goto(page, server, 7)
    before = value(page, "#forward-out")
    edge = page.locator("#forward-plot line.weight-hit[data-edge='w2-1']")
    w_before = float(edge.get_attribute("data-w"))
    drag(page, edge, 0, -70)  # upward = larger weight
    w_after = float(edge.get_attribute("data-w"))
    assert w_after > w_before + 0.5
    net = Network(**json.loads(page.locator("#forward-plot").get_attribute("data-net")))
    x = json.loads(page.locator("#forward-plot").get_attribute("data-x"))
    _, out = forward(net, x)
    assert value(page, "#forward-out") == pytest.approx(out, abs=1e-12)
    assert value(page, "#forward-out") != pytest.approx(before)
    shot(page, "07-network-forward")


def test_backprop_stepper_shows_the_reference_numbers(session):
    page, server, _ = session
    goto(page, server, 8)
    page.click("#backprop-reset")
    net, losses = TinyNet(), []
    for _ in range(2):
        ref = backprop_step(net, 1.5, 0.8, 0.1)
        assert page.locator("#backprop-phase").text_content() == "forward"
        cell = lambda key: float(page.locator(f"td[data-key='{key}']").get_attribute("data-value"))  # noqa: E731
        assert cell("y_hat") == pytest.approx(ref.y_hat, abs=1e-12)
        assert cell("loss") == pytest.approx(ref.loss, abs=1e-12)
        page.click("#backprop-step")
        assert page.locator("#backprop-phase").text_content() == "backward"
        assert cell("d_y_hat") == pytest.approx(ref.d_y_hat, abs=1e-12)
        assert cell("d_w1.1") == pytest.approx(ref.d_w1[1], abs=1e-12)
        assert cell("d_w2.0") == pytest.approx(ref.d_w2[0], abs=1e-12)
        if not losses:
            shot(page, "08-backprop-backward")
        page.click("#backprop-step")
        assert page.locator("#backprop-phase").text_content() == "update"
        assert cell("new_w1.0") == pytest.approx(ref.updated.w1[0], abs=1e-12)
        assert cell("new_b2") == pytest.approx(ref.updated.b2, abs=1e-12)
        assert cell("loss_after") == pytest.approx(ref.loss_after, abs=1e-12)
        losses.append(value(page, "#backprop-loss"))
        page.click("#backprop-step")
        net = ref.updated
    assert losses[1] < losses[0] < 0.3395
    assert value(page, "#backprop-iter") == 2


def test_polynomial_degree_slider_shows_molfit_losses(session):
    page, server, _ = session
    goto(page, server, 9)
    shown = {}
    for degree in (1, 4, 12):
        page.locator("#poly-degree").fill(str(degree))
        page.wait_for_selector(f"#poly-plot[data-degree='{degree}'][data-done='true']")
        ref = polynomial_fit(degree)
        assert value(page, "#poly-train") == pytest.approx(ref["train_loss"], rel=1e-12)
        assert value(page, "#poly-test") == pytest.approx(ref["test_loss"], rel=1e-12)
        shown[degree] = (value(page, "#poly-train"), value(page, "#poly-test"))
        if degree == 12:
            shot(page, "09-overfitting")
    assert shown[12][0] < shown[4][0] < shown[1][0]  # train loss falls
    assert shown[12][1] > shown[4][1]  # test loss rises again
    assert page.locator("#poly-plot path.truth").count() == 1


def test_gaussian_process_clicks_add_observations(session):
    page, server, _ = session
    goto(page, server, 10)
    page.click("#gp-clear")
    page.wait_for_selector("#gp-plot[data-done='true']")
    assert value(page, "#gp-maxstd") == pytest.approx(1.0)
    box = page.locator("#gp-plot .bg-click").bounding_box()
    for fx, fy in ((0.2, 0.3), (0.45, 0.7), (0.6, 0.5)):
        with page.expect_response("**/api/gp") as info:
            page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        response = info.value.json()
    page.wait_for_selector("#gp-plot[data-done='true']")
    points = json.loads(page.locator("#gp-plot").get_attribute("data-points"))
    assert len(points) == 3 and value(page, "#gp-n") == 3
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    ref = gp_fit(xs, ys, length_scale=1.0, noise=0.01)
    np.testing.assert_allclose(response["mean"], ref["mean"], atol=1e-12)
    np.testing.assert_allclose(response["std"], ref["std"], atol=1e-12)
    grid = np.array(ref["x"])
    near = int(np.argmin(abs(grid - xs[1])))
    assert ref["std"][near] < 0.2 < ref["std"][0]  # confident near data, unsure far away
    assert page.locator("#gp-plot path.band").count() == 1
    with page.expect_response("**/api/gp"):
        page.locator("#gp-ls").fill("0.3")
    page.wait_for_selector("#gp-plot[data-done='true'][data-length-scale='0.3']")
    assert (
        value(page, "#gp-maxstd") > 0.9
    )  # short length-scale: gaps between points go back to prior
    shot(page, "10-gaussian-process")


def test_pinn_trains_on_demand_and_shows_molfit_losses(session):
    page, server, _ = session
    goto(page, server, 11)
    page.locator("#pinn-mix").fill("0.5")
    page.click("#pinn-train")
    page.wait_for_selector("#pinn-plot[data-done='true']", timeout=30_000)
    fresh = _pinn_fit_cached.__wrapped__(0.5, 400, 0)
    assert value(page, "#pinn-dloss") == pytest.approx(fresh["data_loss"], rel=1e-6)
    assert value(page, "#pinn-ploss") == pytest.approx(fresh["physics_loss"], rel=1e-6)
    assert value(page, "#pinn-err") < 0.05
    assert page.locator("#pinn-plot circle.pt").count() == 6
    shot(page, "11-pinn")


def test_case_study_predicts_typed_smiles_and_explains_bad_ones(session, primer_cache):
    page, server, _ = session
    goto(page, server, 12)
    page.wait_for_function("document.getElementById('case1-model').textContent.includes('RMSE')")
    page.locator("#slide-case1 .smiles-input").fill("c1ccccc1O")
    page.click("#slide-case1 button[type=submit]")
    page.wait_for_selector("#case1-result[data-state='ok']")
    ref = PropertyModel(primer_cache).predict("c1ccccc1O")
    mean = float(page.locator("#case1-result [data-key='mean']").get_attribute("data-value"))
    std = float(page.locator("#case1-result [data-key='std']").get_attribute("data-value"))
    assert mean == pytest.approx(ref["mean"], rel=1e-9)
    assert std == pytest.approx(ref["std"], rel=1e-9)
    assert page.locator("#case1-result .mol svg").count() == 1
    shot(page, "12-case-study")
    page.locator("#slide-case1 .smiles-input").fill("C1CC(")
    page.click("#slide-case1 button[type=submit]")
    page.wait_for_selector("#case1-result[data-state='error']")
    assert "cannot parse SMILES" in page.locator("#case1-result .error").inner_text()
    page.locator("#slide-case1 .smiles-input").fill("[Fe+2].[Cl-].[Cl-]")
    page.click("#slide-case1 button[type=submit]")
    page.wait_for_selector("#case1-result[data-state='ok']")
    far = float(page.locator("#case1-result [data-key='std']").get_attribute("data-value"))
    assert far > 2 * std


def test_points_and_weights_move_with_the_keyboard(session):
    page, server, _ = session
    goto(page, server, 4)
    point = page.locator("#linreg-plot circle[data-index='2']")
    before = json.loads(page.locator("#linreg-plot").get_attribute("data-points"))[2]
    point.focus()
    for _ in range(4):
        page.keyboard.press("ArrowUp")  # 4 × 0.25 up
    page.keyboard.press("Shift+ArrowRight")  # 1 right
    assert page.locator("body").get_attribute("data-slide") == "4"  # the deck stayed
    points = json.loads(page.locator("#linreg-plot").get_attribute("data-points"))
    assert points[2] == pytest.approx([before[0] + 1.0, before[1] + 1.0])
    fit = least_squares_line([tuple(p) for p in points])
    assert value(page, "#linreg-slope") == pytest.approx(fit.slope, abs=1e-12)
    goto(page, server, 7)
    edge = page.locator("#forward-plot line.weight-hit[data-edge='w1-0-1']")
    w0 = float(edge.get_attribute("data-w"))
    edge.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert float(edge.get_attribute("data-w")) == pytest.approx(w0 + 0.2)
    net = Network(**json.loads(page.locator("#forward-plot").get_attribute("data-net")))
    _, out = forward(net, json.loads(page.locator("#forward-plot").get_attribute("data-x")))
    assert value(page, "#forward-out") == pytest.approx(out, abs=1e-12)
