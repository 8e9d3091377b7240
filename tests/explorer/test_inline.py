"""``aekit.explore()`` and ``AutoEncoder.explore()``: the explorer as a notebook cell's HTML output.

The output is one ``<iframe srcdoc>`` holding the standalone page (weights embedded, decoded in
the page's JavaScript), so it needs no server, makes no request and never shares an element id
with another explorer in the same notebook. The browser half is tests/e2e/test_explorer_notebook.py.
"""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest

import aekit
from aekit.errors import ConfigError
from aekit.explorer.export import STATIC_DIR
from aekit.explorer.inline import InlineExplorer, explore


def _payload(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="aekit-data">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def _srcdoc(output: str) -> str:
    found = re.search(r'srcdoc="([^"]*)"', output)
    assert found is not None
    return html.unescape(found.group(1))


@pytest.fixture(scope="module")
def wide(shapes):
    """A 3-D plain model on the module's shapes (300 images)."""
    return aekit.AutoEncoder(code_dim=3, hidden=(16,), epochs=1, batch_size=64, random_state=0).fit(shapes)


def test_the_output_is_one_iframe_holding_the_whole_page(wide, shapes):
    view = wide.explore(shapes, dims=(0, 2))
    out = view._repr_html_()
    assert isinstance(view, InlineExplorer) and out.isascii()
    assert len(re.findall(r"<iframe\b", out)) == 1 and _srcdoc(out) == view.page
    assert (STATIC_DIR / "inline.js").read_text(encoding="utf-8").strip()[:80] in view.page
    payload = _payload(view.page)
    assert payload["meta"]["view"] == {"dims": [0, 2]} and list(payload["models"]) == ["model"]
    assert len(payload["points"]["indices"]) == 300 and [p["name"] for p in payload["presets"]][:1] == ["bar"]
    assert "dims 0 and 2" in view.title and "MB" in repr(view)


def test_the_page_fetches_nothing(wide, shapes):
    page = wide.explore(shapes).page
    refs = re.findall(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*\"([^\"]*)\"", page)
    assert refs == ["data:,"]  # the favicon, inline
    assert "@import" not in page and "url(" not in page.split('id="aekit-data"')[0]


def test_two_explorers_never_share_an_element_id(wide, shapes):
    outputs = [wide.explore(shapes)._repr_html_() for _ in range(2)]
    ids = [re.findall(r'\bid="([^"]+)"', out) for out in outputs]  # the cell's own ids, outside the iframe
    assert all(len(i) == 2 for i in ids) and not set(ids[0]) & set(ids[1])
    # Each listener resizes its own iframe only: it names that iframe's id.
    for out, (box, frame) in zip(outputs, ids):
        assert box == f"{frame}-box" and f"getElementById('{frame}')" in out


def test_labels_from_an_array_colour_the_scatter_and_make_presets(wide, shapes):
    payload = _payload(explore(wide, shapes.x.reshape(len(shapes), -1), y=shapes.y).page)
    assert payload["meta"]["dataset"]["name"] == "X" and payload["points"]["labels"] is not None
    assert [p["name"] for p in payload["presets"]][:2] == ["0 #1", "0 #2"]
    unlabelled = _payload(explore(wide, shapes.x).page)
    assert unlabelled["points"]["labels"] is None and unlabelled["presets"][0]["name"] == "sample 0"


def test_bad_requests_are_refused_by_name(wide, shapes, tmp_path):
    with pytest.raises(ConfigError, match=r"dims=\(0, 3\) must be two different code dimensions in \[0, 2\]"):
        explore(wide, shapes, dims=(0, 3))
    with pytest.raises(ConfigError, match=r"dims=\(1, 1\) must be two different"):
        wide.explore(shapes, dims=(1, 1))
    with pytest.raises(ConfigError, match=r"X has shape \(300, 10\); the model takes samples of shape \(1, 12, 12\)"):
        explore(wide, np.zeros((300, 10), np.float32))
    with pytest.raises(ConfigError, match="y has 3 labels for 300 samples"):
        explore(wide, shapes.x, y=[0, 1, 2])
    with pytest.raises(ConfigError, match="records no data set: pass the data to show"):
        wide.explore()
    one = aekit.AutoEncoder(code_dim=1, hidden=(8,), epochs=1).fit(shapes)
    with pytest.raises(ConfigError, match="has a 1-D code; the explorer's plane needs code_dim >= 2"):
        one.explore(shapes)
    conv = aekit.AutoEncoder(code_dim=2, arch="conv", channels=(4,), epochs=1).fit(shapes)
    with pytest.raises(ConfigError, match="arch='conv' cannot be mirrored in JavaScript"):
        conv.explore(shapes)
    with pytest.raises(ConfigError, match="X is for your own model"):
        aekit.explore(None, shapes)
    with pytest.raises(ConfigError, match="is not a fitted AutoEncoder"):
        explore(42, shapes)


def test_a_saved_model_explores_with_the_data_it_records(wide, tmp_path):
    path = wide.save(tmp_path / "m", data={"spec": "builtin:shapes12?n=60"})
    view = aekit.explore(path)
    payload = _payload(view.page)
    assert payload["meta"]["dataset"]["n"] == 60 and view.save(tmp_path / "page.html").read_text() == view.page


def test_default_models_embed_well_under_a_megabyte(tmp_path_factory, monkeypatch):
    """``aekit.explore()`` loads the defaults the lesson tests cached (test_lesson.py), else trains them."""
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path_factory.getbasetemp() / "aekit-cache"))
    view = aekit.explore()
    payload = _payload(view.page)
    assert set(payload["models"]) == {"ae", "vae"}
    weights = len(json.dumps(payload["models"], separators=(",", ":")))
    assert weights < 700_000, weights  # both models' specs, base64 float32
    assert view.nbytes < 1_500_000 and len(payload["points"]["indices"]) == 400
