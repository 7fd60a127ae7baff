"""The HTML report shows every hyper-parameter whole."""

from __future__ import annotations

import html
import json

from molfit.evaluate._report import write_report


def test_hyper_parameters_are_rendered_in_full(tmp_path) -> None:
    params = {f"parameter_number_{i}": f"value_{i}_" + "x" * 20 for i in range(30)}
    params["cutoff"] = 5.0
    path = write_report(
        tmp_path / "r.html", title="3D run", summary={"params": params}, metrics={}, figures={}
    )
    text = html.unescape(path.read_text())
    for key, value in params.items():
        assert json.dumps(key) in text
        assert str(value) in text
    assert len(json.dumps(params)) > 300  # the old renderer cut here, mid-key
