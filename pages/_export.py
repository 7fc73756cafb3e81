"""Downloads for a trained run: scores, embeddings, figures, weights + config, run card, or all in one ZIP.

The files are built by :mod:`adlab.export`; this module gathers what a page's stored run holds
(:func:`contrastive_files`, :func:`detector_files`, :func:`compare_files`) and draws the buttons
(:func:`section`). Heavy files (figures, the ZIP) are built only when their button is clicked.

The buttons, the notes and the run card are in the session's language (``common.export.*``,
``common.run_card.*``); ``lang=`` names another one (a test, a file built for another reader).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import streamlit as st

from adlab import export, i18n, registry
from adlab.data.split import goad_split_note
from adlab.detectors.base import DeepDetector

try:
    from pages import _data as pdata
    from pages import _i18n as i18n_ui
    from pages._page import figures_of
except ImportError:  # a page file run on its own
    import _data as pdata
    import _i18n as i18n_ui
    from _page import figures_of

Files = dict[str, bytes | str]
PROTOCOL_NOTE = ("the app's one-class split (a seeded half of the rows trains on the normal classes; at most "
                 f"{pdata.MAX_TEST} test rows)")  # common.export.protocol_loss in English


def _lang(lang: str | None) -> str:
    return lang if lang is not None else i18n_ui.lang()


def _t(key: str, lang: str, /, **fields: Any) -> str:
    """``common.export.<key>`` in ``lang``."""
    return i18n.text_or_english(f"common.export.{key}", lang, **fields)


def protocol_note(stored: dict[str, Any], lang: str | None = None) -> str:
    """The split a detector run used, with its cap on the anomalies' share of the test set."""
    lang = _lang(lang)
    share = stored.get("test_anomaly_share")
    cap = (_t("cap_none", lang) if share is None or share >= 1.0 else _t("cap_share", lang, share=share))
    return _t("protocol_detector", lang, cap=cap, max_test=pdata.MAX_TEST)


def _dataset_text(stored: dict[str, Any], lang: str | None = None) -> str:
    return (pdata.dataset_label(stored["dataset"], _lang(lang)) if stored["dataset"].startswith("upload:")
            else stored["dataset"])


def _common(page: str, stored: dict[str, Any], scores: np.ndarray, before: np.ndarray | None,
            after: np.ndarray, is_anomaly: np.ndarray) -> Files:
    split = stored["split"]
    names = pdata.class_names(stored)
    labels = [names[c] for c in split.y_test]
    ids = split.test_index if len(split.test_index) == len(scores) else None
    files: Files = {
        "scores.csv": export.scores_csv(scores, labels=labels, is_anomaly=is_anomaly, ids=ids, split="test"),
    }
    meta = {"class": labels, "anomalous": ["yes" if a else "no" for a in is_anomaly],
            "score": [f"{s:.6g}" for s in scores]}
    if ids is not None:
        meta = {"id": [int(i) for i in ids], **meta}
    files.update(export.embeddings_bundle(before, after, meta))
    return files


def contrastive_files(page: str, stored: dict[str, Any], lang: str | None = None) -> Files:
    """A loss page's run: kNN scores after training, encoder features before/after, model, config, card."""
    lang = _lang(lang)
    run, split = stored["run"], stored["split"]
    cfg = run.config
    files = _common(page, stored, run.scores_after, run.test_before, run.test_after, run.is_anomaly)
    files["weights.pt"] = export.weights_bytes(run.model)
    files["config.json"] = export.config_json(cfg.to_dict())
    files["run_card.md"] = export.run_card(
        title=_t("card_title", lang, method=registry.loss(cfg.loss_name).LABEL, dataset=_dataset_text(stored, lang)),
        dataset=_dataset_text(stored, lang),
        dataset_note=_classes_note(stored, lang), config=cfg.to_dict(), seed=cfg.train.seed,
        device=run.history.device, seconds=run.history.seconds, metrics=run.metrics_after,
        n_train=len(split.X_train), n_test=len(split.X_test), n_anomalies=int(run.is_anomaly.sum()),
        method=cfg.loss_name, protocol=None, lang=lang,
        extra={_t("row_score", lang): _t("knn_score", lang, k=cfg.knn_k),
               _t("row_split", lang): _t("protocol_loss", lang, max_test=pdata.MAX_TEST),
               _t("row_metrics_before", lang): json.dumps({k: round(v, 4) for k, v in run.metrics_before.items()})})
    return files


def detector_files(page: str, stored: dict[str, Any], lang: str | None = None) -> Files:
    """A detector page's run: its scores, `embed` features before/after, weights (deep ones), config, card."""
    lang = _lang(lang)
    run, split = stored["run"], stored["split"]
    files = _common(page, stored, run.scores, run.test_before, run.test_after, run.is_anomaly)
    params = run.spec.kwargs
    if isinstance(run.detector, DeepDetector):
        files["weights.pt"] = export.weights_bytes(run.detector)
        files["config.json"] = export.config_json(run.detector)
    else:
        files["config.json"] = export.config_json(run.spec)
    device = run.history.device if run.history is not None else "cpu"
    files["run_card.md"] = export.run_card(
        title=_t("card_title", lang, method=run.spec.label, dataset=_dataset_text(stored, lang)),
        dataset=_dataset_text(stored, lang),
        dataset_note=_classes_note(stored, lang), config=params, seed=int(params.get("seed", 0)), device=device,
        seconds=run.fit_seconds, metrics=run.metrics, n_train=len(split.X_train), n_test=len(split.X_test),
        n_anomalies=int(run.is_anomaly.sum()), method=run.method, protocol=stored.get("paper_protocol"), lang=lang,
        extra={_t("row_split", lang): goad_split_note(stored.get("goad_split") or "official")
               if stored.get("protocol") == "goad" else protocol_note(stored, lang),
               _t("row_scoring_time", lang): f"{run.score_seconds:.2f}"})
    return files


def distance_files(run: Any, lang: str | None = None) -> Files:
    """The distance page's learned f: weights, config, and a card (no anomaly scores: f is not a detector)."""
    lang = _lang(lang)
    h, cfg = run.history, run.config
    return {
        "weights.pt": export.weights_bytes(run.encoder_after),
        "config.json": export.config_json(cfg),
        "run_card.md": export.run_card(
            title=_t("distance_title", lang, encoder=cfg.encoder, loss=cfg.loss, toy=cfg.toy), dataset=f"toy:{cfg.toy}",
            dataset_note=_t("distance_note", lang), config=dataclasses.asdict(cfg),
            seed=cfg.seed, device=h.device, seconds=h.seconds,
            metrics={_t("loss_first", lang): h.epoch_losses[0], _t("loss_last", lang): h.epoch_losses[-1]},
            n_train=int((run.y != len(run.class_names) - 1).sum()), n_test=0, n_anomalies=0,
            method=cfg.loss, protocol=None, lang=lang),
    }


def compare_files(stored: dict[str, Any], lang: str | None = None) -> Files:
    """Compare: every method's scores side by side, one card, every config; per-method embeddings and weights."""
    lang = _lang(lang)
    split = stored["split"]
    names = pdata.class_names(stored)
    first = next(iter(stored["runs"].values()))
    ids = split.test_index if len(split.test_index) == len(first.scores) else np.arange(len(first.scores))
    header = ["id", "label", "is_anomaly", "split", *(f"score_{m}" for m in stored["runs"])]
    lines = [",".join(header)]
    for i in range(len(first.scores)):
        row = [str(int(ids[i])), _csv_cell(names[split.y_test[i]]), str(int(first.is_anomaly[i])), "test"]
        row += [repr(float(run.scores[i])) for run in stored["runs"].values()]
        lines.append(",".join(row))
    files: Files = {"scores.csv": "\n".join(lines) + "\n"}
    cards, configs = [], {}
    for method, run in stored["runs"].items():
        single = detector_files("compare", {**stored, "run": run}, lang)
        cards.append(single.pop("run_card.md"))
        configs[method] = json.loads(single.pop("config.json"))
        for name, data in single.items():
            if name != "scores.csv":
                files[f"{method}/{name}"] = data
    files["run_card.md"] = "\n\n---\n\n".join(cards)
    files["config.json"] = json.dumps(configs, indent=2)
    return files


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def _classes_note(stored: dict[str, Any], lang: str = "en") -> str:
    split = stored["split"]
    names = pdata.class_names(stored)
    normal = ", ".join(names[c] for c in split.normal_classes)
    anomalous = ", ".join(names[c] for c in split.anomaly_classes)
    return _t("classes_note", lang, normal=normal, anomalous=anomalous)


def figure_files(figs: Mapping[str, Any], *, png: bool) -> Files:
    """Figures (key -> plotly figure) as interactive HTML, and PNG when asked (needs a Chromium)."""
    figs = dict(figs)
    files: Files = {f"figures/{k}.html": export.figure_html(f) for k, f in figs.items()}
    if png:
        files.update({f"figures/{k}.png": v for k, v in export.figures_png(figs).items()})
    return files


def section(page: str, build: Callable[[], Files], *, stem: str) -> None:
    """The download buttons (in an expander) for a run whose files ``build()`` returns."""
    lang = i18n_ui.lang()
    with st.expander(_t("title", lang), expanded=False, icon=":material/download:"):
        try:
            files = build()
        except (ValueError, RuntimeError) as err:  # nothing to export is a message, not a traceback
            st.warning(_t("failed", lang, error=i18n.message(err, lang)))
            return
        st.caption(_t("caption", lang))
        buttons = []  # (label, data, file name, mime, key suffix)
        if "scores.csv" in files:
            buttons.append((_t("scores", lang), files["scores.csv"], "scores.csv", "text/csv", "scores"))
        emb = {k: v for k, v in files.items() if k.endswith(".tsv")}
        if emb:
            buttons.append((_t("embeddings", lang), lambda: export.bundle_zip(emb), "embeddings.zip",
                            "application/zip", "embeddings"))
        buttons.append((_t("card", lang), files["run_card.md"], "run_card.md", "text/markdown", "card"))
        weights = {k: v for k, v in files.items() if k.endswith(("weights.pt", "config.json"))}
        if any(k.endswith("weights.pt") for k in files):
            buttons.append((_t("weights", lang), lambda: export.bundle_zip(weights), "weights.zip",
                            "application/zip", "weights"))
        else:
            buttons.append((_t("config", lang), files["config.json"], "config.json", "application/json", "config"))
        figs = figures_of(page)  # filled as the page draws; read when a button is clicked
        buttons.append((_t("figures_html", lang), lambda: export.bundle_zip(figure_files(figs, png=False)),
                        "figures_html.zip", "application/zip", "html"))
        if export.png_available():
            buttons.append((_t("figures_png", lang), lambda: export.bundle_zip(figure_files(figs, png=True)),
                            "figures.zip", "application/zip", "png"))
        buttons.append((_t("everything", lang), lambda: export.bundle_zip({**files, **figure_files(figs, png=False)}),
                        "all.zip", "application/zip", "all"))
        cols = st.columns(4)
        for i, (label, data, name, mime, key) in enumerate(buttons):
            _button(cols[i % 4], label, data, f"{stem}_{name}", mime, f"{page}_dl_{key}", primary=key == "all")
        if not export.png_available():
            st.caption(_t("no_png", lang))


def _button(col, label: str, data: Any, file_name: str, mime: str, key: str, *, primary: bool = False) -> None:
    col.download_button(label, data, file_name=file_name, mime=mime, key=key, on_click="ignore",
                        type="primary" if primary else "secondary", icon=":material/download:", width="stretch")


def files_as_dict(files: Mapping[str, bytes | str]) -> dict[str, bytes]:
    """The files as bytes (tests read them back)."""
    return {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
