"""AppTest of the page "Why contrastive features help" (pages/why_contrastive.py): it opens with nothing trained,
each section's Train button shows what that section promises (metrics, the chart, the caption with the run's
numbers), and a copied link brings the settings back."""

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "why_contrastive.py"


def _decode(values) -> np.ndarray:
    """A plotly array: a plain list, or plotly 7's base64 ``{"bdata", "dtype"}``."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def _trace_names(at: AppTest) -> list[list[str]]:
    return [[t.get("name") for t in json.loads(c.proto.spec)["data"]] for c in at.get("plotly_chart")]


def _metrics(at: AppTest) -> dict[str, object]:
    return {m.label: m for m in at.metric}


def _train(at: AppTest, section: str, epochs: int = 2) -> AppTest:
    at.number_input(key=f"why_{section}_epochs").set_value(epochs)
    at.button(key=f"why_{section}_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_the_page_opens_with_three_sections_and_nothing_trained():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Why contrastive features help"
    assert [h.value.split(" · ")[0] for h in at.header] == ["1", "2", "3"]
    assert at.latex, "section 2 states its loss"
    assert sum("Press **Train**" in i.value for i in at.info) == 3
    assert not at.get("plotly_chart"), "nothing is drawn before a run"
    assert at.slider(key="why_noise_level").value == 0.4 and at.radio(key="why_noise_readout").value == "knn"
    assert at.slider(key="why_mix_lam").value == 2.0 and at.radio(key="why_mix_loss").value == "simclr"
    assert at.radio(key="why_pre_loss").value == "supcon" and at.select_slider(key="why_pre_fraction").value == 0.1


def test_label_noise_section_shows_the_three_curves_and_the_memorised_share():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.slider(key="why_noise_level").set_value(0.3)
    _train(at, "noise")
    run = at.session_state["why_noise_results"]
    assert run.config.noise == 0.3 and run.config.epochs == 2
    assert run.ce.shape == run.supcon.shape == run.simclr.shape == run.memorised.shape == (3,)
    assert run.n_flipped == round(0.3 * run.n_train)
    metrics = _metrics(at)
    assert metrics["CE, last epoch"].value == f"{run.ce[-1]:.3f}"
    assert metrics["SupCon + kNN vote"].value == f"{run.supcon[-1]:.3f}"
    assert metrics["SimCLR + kNN vote"].proto.delta == f"{run.simclr[-1] - run.ce[-1]:+.3f} vs CE"
    assert ["CE", "SupCon + kNN vote, k = 10", "SimCLR + kNN vote, k = 10",
            "flipped labels CE has learnt by heart"] in _trace_names(at)
    captions = " ".join(c.value for c in at.caption)
    assert f"{run.n_test} clean test labels" in captions and f"{run.memorised[-1]:.0%}" in captions
    assert any("Read it honestly" in m.value for m in at.markdown)
    link = dict(at.query_params)  # the run's settings are in the address, the button and the result are not
    assert link["why_noise_level"] == "0.3" and link["why_noise_epochs"] == "2"
    assert not any(key.endswith(("_train", "_results")) for key in link)


def test_mixed_loss_section_shows_both_accuracies_the_curves_and_the_class_maps():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.radio(key="why_mix_loss").set_value("supcon")
    _train(at, "mix")
    run = at.session_state["why_mix_results"]
    assert run.config.loss == "supcon" and run.config.lam == 2.0
    metrics = _metrics(at)
    assert metrics["CE alone: test accuracy"].value == f"{run.accuracy_ce:.3f}"
    mixed = metrics["CE + 2·SupCon: test accuracy"]
    assert mixed.value == f"{run.accuracy_mix:.3f}"
    assert mixed.proto.delta == f"{run.accuracy_mix - run.accuracy_ce:+.3f} vs CE alone"
    names = _trace_names(at)
    assert ["CE alone", "CE + 2·SupCon"] in names
    digits = [str(d) for d in range(10)]
    assert any(n[:10] == digits for n in names), "the UMAP maps have one trace per digit"
    maps = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if [t.get("name") for t in json.loads(c.proto.spec)["data"]][:10] == digits)
    n_points = sum(len(_decode(t["x"])) for t in maps["data"])
    assert n_points == 2 * len(run.y_test), "both panels show every test image"
    assert np.isfinite(run.map_ce).all() and run.map_mix.shape == (len(run.y_test), 2)
    assert any(f"UMAP of the {len(run.y_test)} test images" in c.value for c in at.caption)


def test_pretraining_section_shows_the_bars_for_both_label_budgets():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    _train(at, "pre")
    run = at.session_state["why_pre_results"]
    assert run.n_labels[1] > run.n_labels[0] > 0
    metrics = _metrics(at)
    few = metrics[f"SupCon → linear probe, 10% of the labels ({run.n_labels[0]})"]
    assert few.value == f"{run.pretrained[0]:.3f}"
    assert few.proto.delta == f"{run.pretrained[0] - run.ce[0]:+.3f} vs CE ({run.ce[0]:.3f})"
    assert ["CE on the views", "SupCon → linear probe", "untrained encoder → linear probe"] in _trace_names(at)
    assert any("The axis starts at" in c.value for c in at.caption)


def test_a_link_reopens_the_settings():
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    link = {"why_noise_level": "0.6", "why_noise_readout": "ridge", "why_mix_lam": "3.5", "why_pre_fraction": "0.02",
            "why_pre_ce_views": "false", "why_pre_seed": "3"}
    for key, value in link.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    assert not at.warning, [w.value for w in at.warning]
    assert at.slider(key="why_noise_level").value == 0.6
    assert at.radio(key="why_noise_readout").value == "ridge"
    assert at.slider(key="why_mix_lam").value == 3.5
    assert at.select_slider(key="why_pre_fraction").value == 0.02
    assert at.checkbox(key="why_pre_ce_views").value is False and at.number_input(key="why_pre_seed").value == 3
    assert {k: at.query_params[k] for k in link} == link, "the address keeps what it was opened with"
