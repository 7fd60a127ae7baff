"""The live science slides in headless Chromium: each renders, responds to mouse, keyboard and
touch-style input, shows the numbers molfit's Python API gives for the same input, answers bad
input with a message, fits 1280×720 and 1920×1080, and never leaves 127.0.0.1.

Screenshots go to ``docs/img/primer-*.png`` (the primer doc shows them).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from molfit.primer import create_server
from molfit.primer._potential import point
from molfit.primer._properties3d import predict_properties
from molfit.primer._symmetry import symmetry_view
from molfit.primer._worry import leakage_study, shift_point

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
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
SLIDES = {"props": 13, "md": 14, "shift": 16, "leakage": 17, "symmetry": 18, "rashomon": 19}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


@pytest.fixture(scope="module")
def server(zoo_models, primer_cache):
    srv = create_server(0, model=False, cache=primer_cache, models=zoo_models)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
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
    page = browser.new_page(viewport={"width": 1280, "height": 720})
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
    page.wait_for_selector("body[data-science=ready]", timeout=300_000)
    IMG.mkdir(parents=True, exist_ok=True)
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
    page.screenshot(path=str(IMG / f"primer-{name}.png"))


def until(condition, timeout_s: float = 120.0) -> None:
    """Poll ``condition`` (the page's CSP forbids wait_for_function's eval)."""
    import time

    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)


def first_atom_x(page, svg: str) -> float:
    return float(page.locator(f"{svg} circle.atom3d").first.get_attribute("cx"))


def test_md_runs_with_temperature_sigma_keyboard_rotation_and_timing(session):
    page, server, _ = session
    goto(page, server, SLIDES["md"])
    until(lambda: int(page.locator("#md-view").get_attribute("data-step") or 0) >= 20)
    # the temperature slider reaches the server with the next chunk
    with page.expect_request(
        lambda r: r.url.endswith("/api/md/step") and json.loads(r.post_data)["temperature"] == 600
    ):
        page.locator("#md-temp").focus()
        for _ in range(30):
            page.keyboard.press("ArrowRight")  # 300 K + 30 × 10 K, by keyboard
    assert value(page, "#md-temp-value") == 600
    page.click("#md-play")  # pause: the numbers stop where they are
    page.wait_for_timeout(800)
    svg = page.locator("#md-view")
    shown = page.evaluate(  # one read: the frame drawn and the numbers shown with it
        """() => ({ positions: JSON.parse(document.getElementById('md-view').dataset.positions),
                    sigma: JSON.parse(document.getElementById('md-view').dataset.sigma),
                    e: ['md-epot', 'md-ekin', 'md-etot'].map(
                      (id) => Number(document.getElementById(id).dataset.value)) })"""
    )
    positions, sigma = np.array(shown["positions"]), shown["sigma"]
    e_pot, e_kin, e_tot = shown["e"]
    pot = server.science.slots["potential"].get()
    atoms = pot["atoms"].copy()
    atoms.positions = positions
    ref = point(pot["calculator"], atoms)
    assert e_pot == pytest.approx(ref["energy"], rel=1e-6)
    np.testing.assert_allclose(sigma, ref["sigma"], atol=1e-5)
    assert e_tot == pytest.approx(e_kin + e_pot, abs=1e-9)
    assert page.locator("#md-view circle.halo").count() == 9  # σ halo on every atom
    assert page.locator("#md-trace path").count() >= 3  # kinetic, potential, total
    # rotate the drawing with the keyboard: the deck stays on this slide
    before = first_atom_x(page, "#md-view")
    svg.focus()
    page.keyboard.press("ArrowLeft")
    assert page.locator("body").get_attribute("data-slide") == str(SLIDES["md"])
    assert first_atom_x(page, "#md-view") != pytest.approx(before, abs=1e-6)
    # and with a drag (mouse or finger: pointer events)
    box = svg.bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 150)
    page.mouse.down()
    page.mouse.move(box["x"] + 260, box["y"] + 170, steps=5)
    page.mouse.up()
    page.click("#md-time-xtb")
    page.wait_for_selector("#md-timing[data-state='ok'], #md-timing[data-state='error']")
    if page.locator("#md-timing").get_attribute("data-state") == "ok":
        ms = float(page.locator("#md-timing [data-key='oracle_ms']").get_attribute("data-value"))
        assert ms > 0
        assert "shared" in page.locator("#md-timing .caveat").inner_text()
    else:
        assert "tblite" in page.locator("#md-timing .error").inner_text()
    shot(page, "potential-md")
    # an element the potential never saw: a message in the page
    page.locator("#md-form input").fill("CCS")
    page.click("#md-form button[type=submit]")
    page.wait_for_selector("#md-form-result[data-state='error']")
    assert "never occur" in page.locator("#md-form-result .error").inner_text()
    page.click("#md-play")


def test_properties3d_draws_the_conformer_and_shows_molfit_predictions(session):
    page, server, _ = session
    goto(page, server, SLIDES["props"])
    page.locator("#props-form input").fill("OCC1=CC=CO1")
    page.click("#props-form button[type=submit]")
    page.wait_for_selector("#props-result[data-state='ok']")
    ref = predict_properties(server.science.slots["qm9"].get(), "OCC1=CC=CO1")
    for p in ref["predictions"]:
        assert value(page, f"#props-result [data-key='{p['name']}-mean']") == pytest.approx(
            p["mean"], rel=1e-9
        )
    shown = np.array(json.loads(page.locator("#props-view").get_attribute("data-positions")))
    np.testing.assert_allclose(shown, ref["positions"], atol=1e-12)
    assert page.locator("#props-view circle.atom3d").count() == 13
    assert "ETKDGv3" in page.locator("#props-result").inner_text()
    shot(page, "properties-3d")
    page.locator("#props-form input").fill("C1CC(")
    page.press("#props-form input", "Enter")  # keyboard submit
    page.wait_for_selector("#props-result[data-state='error']")
    assert "cannot parse SMILES" in page.locator("#props-result .error").inner_text()


def test_shift_plots_sigma_and_domain_on_a_similarity_axis(session):
    page, server, _ = session
    goto(page, server, SLIDES["shift"])
    page.wait_for_selector("#shift-plot[data-points='2']")
    model, _ = server.science.slots["shift"].get()
    organic = shift_point(model, "CCCCCC(C)O")
    metal = shift_point(model, "[Fe+2].c1cc[cH-]c1.c1cc[cH-]c1")
    stds = [float(v) for v in page.locator("#shift-list [data-key='std']").evaluate_all(
        "ns => ns.map(n => n.dataset.value)")]  # fmt: skip
    assert stds == pytest.approx([organic["std"], metal["std"]], rel=1e-9)
    assert metal["std"] > organic["std"] and not metal["in_domain"]
    assert page.locator("#shift-plot circle.out-domain").count() == 1
    shot(page, "distribution-shift")
    page.locator("#shift-form input").fill("not a molecule")
    page.click("#shift-form button[type=submit]")
    page.wait_for_selector("#shift-status[data-state='error']")
    assert "cannot parse SMILES" in page.locator("#shift-status").inner_text()


def test_leakage_shows_both_splits_and_their_similarity_histograms(session):
    page, server, _ = session
    goto(page, server, SLIDES["leakage"])
    page.wait_for_selector("#slide-leakage[data-done='true']")
    ref = leakage_study()  # the same seeded subset and trees: the same numbers
    for method in ("random", "scaffold"):
        assert value(page, f"#leak-{method}-auc") == pytest.approx(ref[method]["roc_auc"])
        assert value(page, f"#leak-{method}-acc") == pytest.approx(ref[method]["accuracy"])
        hist = json.loads(page.locator(f"#leak-{method}-hist").get_attribute("data-hist"))
        assert hist == pytest.approx(ref[method]["hist"])
    assert ref["random"]["similarity_median"] > ref["scaffold"]["similarity_median"]
    assert page.locator("#leak-random-hist rect.bar").count() == 20
    shot(page, "data-leakage")


# the first symmetry request trains the slide's toy coordinate MLP on the server (under its
# compute lock, behind any other slide's study): a loaded CI machine needs more than 30 s
SYM_WAIT_MS = 120_000


def test_symmetry_sliders_keyboard_and_shuffle(session):
    page, server, _ = session
    goto(page, server, SLIDES["symmetry"])
    page.wait_for_selector("#sym-view[data-done='true']", timeout=SYM_WAIT_MS)
    with page.expect_response("**/api/symmetry"):
        page.locator("#sym-yaw").fill("90")
    page.wait_for_selector("#sym-view[data-done='true']", timeout=SYM_WAIT_MS)
    page.locator("#sym-view").focus()
    with page.expect_response("**/api/symmetry"):
        page.keyboard.press("ArrowDown")  # pitch +10° by keyboard
    page.wait_for_selector("#sym-view[data-done='true']", timeout=SYM_WAIT_MS)
    with page.expect_response("**/api/symmetry"):
        page.click("#sym-shuffle")
    page.wait_for_selector("#sym-view[data-done='true']", timeout=SYM_WAIT_MS)
    request = json.loads(page.locator("#sym-view").get_attribute("data-request"))
    assert request == {"yaw": 90, "pitch": 10, "roll": 0, "shuffle": 1}
    pot = server.science.slots["potential"].get()
    toy = server.science.slots["toy"].get()
    ref = symmetry_view(pot["calculator"], toy, pot["atoms"], yaw=90, pitch=10, shuffle=1)
    assert value(page, "#sym-pot") == pytest.approx(ref["potential"]["energy"], rel=1e-9)
    assert value(page, "#sym-toy") == pytest.approx(ref["toy"]["energy"], rel=1e-12)
    assert abs(value(page, "#sym-pot-delta")) < 1.0  # meV
    assert abs(value(page, "#sym-toy-delta")) > 10.0  # meV
    assert page.locator("#sym-view line.force").count() >= 5
    shot(page, "symmetries")


def test_rashomon_shows_two_equally_good_models_disagreeing(session):
    page, server, _ = session
    goto(page, server, SLIDES["rashomon"])
    page.wait_for_selector("#slide-rashomon[data-done='true']")
    pair = server.science.slots["rashomon"].get()
    labels = list(pair.models)
    for i, label in enumerate(labels):
        assert value(page, f"#rash-table [data-key='rmse-{i}']") == pytest.approx(
            pair.comparison[label]["rmse"]
        )
    assert page.locator("#rash-plot circle.model-a").count() == 6
    page.locator("#rash-form input").fill("O=C(O)c1ccccc1O")
    page.click("#rash-form button[type=submit]")
    page.wait_for_selector("#rash-status [data-key='difference']")
    ref = pair.predict(["O=C(O)c1ccccc1O"])
    assert value(page, "#rash-status [data-key='difference']") == pytest.approx(
        ref["difference"][0], rel=1e-9
    )
    shot(page, "rashomon")


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_science_slides_fit_the_window(session, browser, size):
    _, server, _ = session
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    try:
        page.goto(server.url)
        page.wait_for_selector("body[data-science=ready]", timeout=300_000)
        for n in [*SLIDES.values(), 15]:
            goto(page, server, n)
            page.wait_for_timeout(300)
            overflow = page.evaluate(
                """() => {
                const deck = document.getElementById('deck').getBoundingClientRect();
                const out = [];
                for (const e of document.querySelectorAll('.slide.active *')) {
                  const r = e.getBoundingClientRect();
                  const outside = r.right > deck.right + 1 || r.bottom > deck.bottom + 1 ||
                    r.left < deck.left - 1 || r.top < deck.top - 1;
                  if (r.width && outside) out.push(e.id || e.className);
                }
                const s = document.documentElement;
                const scrolls = s.scrollWidth > innerWidth || s.scrollHeight > innerHeight;
                if (scrolls) out.push('page scrolls');
                return out;
              }"""
            )
            assert overflow == [], f"slide {n} at {size}: {overflow[:5]}"
        if size == (1920, 1080):
            goto(page, server, SLIDES["md"])
            page.wait_for_timeout(1500)
            shot(page, "potential-md-1920")
    finally:
        page.close()
