"""The Markdown run card: what ran, on what, with which settings, how well, and the paper's number.

Method names are shown with the label the registry gives them (:mod:`adlab.registry`, asked at call
time); the papers' numbers come from :mod:`adlab.papers`. The card's own words are in ``lang``
(:mod:`adlab.i18n`, ``common.run_card.*``; English by default, as the CLI writes it); the titles, notes and
``extra`` rows a caller passes in are written as given, and the papers' sources stay as the papers name them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import torch

import adlab
from adlab import i18n, papers
from adlab.config_json import jsonable

__all__ = ["NO_PAPER_NUMBER", "run_card"]

_METRIC_NAMES = {"auroc": "AUROC", "auprc": "AUPRC", "f1": "F1"}
NO_PAPER_NUMBER = "No paper number: the papers did not use this dataset/protocol."  # common.run_card.no_paper


def _t(key: str, lang: str, **fields: Any) -> str:
    return i18n.text(f"common.run_card.{key}", lang, **fields)


def _method_label(method: str) -> str:
    """``"GOAD (`goad`)"``: the registered detector's ``label`` or loss module's ``LABEL`` with its name."""
    from adlab import registry  # asked at call time: a method registered later is found too

    if method in registry.detector_names():
        label = registry.detector(method).label
    else:
        try:
            label = registry.loss(method).LABEL
        except ValueError:
            label = ""
    return f"{label} (`{method}`)" if label else method


def _md(text: Any) -> str:
    """One Markdown table cell: pipes escaped, line breaks flattened."""
    return str(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _config_section(config: Mapping[str, Any], lang: str = "en") -> list[str]:
    plain = jsonable(config)
    if not isinstance(plain, Mapping):
        raise ValueError(f"config must be a mapping (or a dataclass), got {type(config).__name__}")
    flat = _flatten(plain)
    cells = {k: v if isinstance(v, str) else json.dumps(v) for k, v in flat.items()}
    if not cells:
        return [_t("no_settings", lang)]
    if all(len(v) <= 60 for v in cells.values()):
        return [f"| {_t('setting', lang)} | {_t('value', lang)} |", "|---|---|", *(f"| {_md(k)} | {_md(v)} |" for k, v in cells.items())]
    return ["```json", json.dumps(plain, indent=2, ensure_ascii=False), "```"]


def _metric_text(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _md(value)
    return f"{number:.4f}" if math.isfinite(number) else str(number)


def _describe(ref: papers.PaperNumber, lang: str) -> str:
    """:meth:`papers.PaperNumber.describe` in ``lang`` (the source as the paper names it)."""
    return ref.describe(lang)


def _metrics_section(metrics: Mapping[str, float], refs: list[papers.PaperNumber], lang: str = "en") -> list[str]:
    keys = [k for k in _METRIC_NAMES if k in metrics] + [k for k in metrics if k not in _METRIC_NAMES]
    names = [_METRIC_NAMES.get(k, k) for k in keys]
    lines = [
        "| | " + " | ".join(_md(n) for n in names) + " |",
        "|---|" + "---|" * len(names),
        f"| {_md(_t('this_run', lang))} | " + " | ".join(_metric_text(metrics[k]) for k in keys) + " |",
    ]
    for ref in refs:
        row = []
        for name in names:
            cell = ref.fraction_text if name == ref.metric else "–"
            if name == ref.metric and ref.unverified:
                cell += f" {_t('unverified', lang)}"
            row.append(cell)
        label = _t("paper_row", lang, paper=ref.paper)
        if ref.variant:
            label += f", {ref.variant}"
        lines.append(f"| {_md(label)} | " + " | ".join(row) + " |")
    return lines


def run_card(
    *,
    title: str,
    dataset: str,
    dataset_note: str = "",
    config: Mapping[str, Any],
    seed: int,
    device: str,
    seconds: float,
    metrics: Mapping[str, float],
    n_train: int,
    n_test: int,
    n_anomalies: int,
    method: str,
    protocol: str | None = None,
    extra: Mapping[str, Any] | None = None,
    created: str | None = None,
    lang: str = "en",
) -> str:
    """A Markdown run card: what ran, on what, with which settings, and how well.

    Sections: a heading; a table of method, dataset (+ ``dataset_note``), protocol, split sizes
    (``n_train`` training rows; ``n_test`` test rows of which ``n_anomalies`` anomalous), seed,
    device, time (``seconds``), the adlab and torch versions, creation time and ``extra`` rows; the
    configuration (``config``, a mapping or dataclass; a table of dotted keys, or fenced JSON when
    values are long); the metrics (AUROC, AUPRC, F1 first, 4 decimals) with the paper's numbers for
    ``method`` under ``protocol`` (:func:`adlab.papers.reference`) as extra rows in the same units
    (fractions), each with its source listed below and METHODS.md's "(unverified)" marks kept.
    Without such a number the card says so. ``created`` (text) defaults to now, UTC, ISO 8601;
    everything else depends only on the arguments. ``lang``: the language of the card's own words
    (headings, row names, notes); English by default.
    """
    refs = papers.reference(method, protocol)
    if min(n_train, n_test, n_anomalies) < 0 or n_anomalies > n_test:
        raise ValueError(
            f"split sizes must satisfy 0 <= n_anomalies <= n_test and n_train >= 0, got n_train={n_train}, "
            f"n_test={n_test}, n_anomalies={n_anomalies}"
        )
    if created is None:
        created = datetime.now(UTC).replace(microsecond=0).isoformat()
    share = f" ({100.0 * n_anomalies / n_test:.1f}%)" if n_test else ""
    rows: list[tuple[str, Any]] = [
        (_t("method", lang), _method_label(method)),
        (_t("dataset", lang), f"{dataset} ({dataset_note})" if dataset_note else dataset),
        (_t("protocol", lang), protocol or "–"),
        (_t("training_rows", lang), n_train),
        (_t("test_rows", lang), _t("test_rows_value", lang, n_test=n_test, n_anomalies=n_anomalies, share=share)),
        (_t("seed", lang), seed),
        (_t("device", lang), device),
        (_t("time", lang), _t("time_value", lang, seconds=seconds)),
        ("adlab", adlab.__version__),
        ("torch", torch.__version__),
        (_t("created", lang), created),
    ]
    rows += [(str(k), jsonable(v)) for k, v in (extra or {}).items()]
    lines = [f"# {title}", "", "| | |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v if isinstance(v, str) else json.dumps(v))} |" for k, v in rows]
    lines += ["", f"## {_t('configuration', lang)}", "", *_config_section(config, lang)]
    lines += ["", f"## {_t('metrics', lang)}", "", *_metrics_section(metrics, refs, lang), ""]
    lines.append(_t("score_note", lang))
    lines.append("")
    if refs:
        lines.append(_t("paper_numbers", lang))
        lines.append("")
        lines += [f"- {_describe(ref, lang)}" for ref in refs]
        if any(ref.unverified for ref in refs):
            lines += ["", _t("unverified_note", lang)]
    else:
        lines.append(_t("no_paper", lang))
        key = papers.paper_key(method)
        if not any(key and p.method == key for p in papers.PAPER_NUMBERS):
            lines.append(_t("no_number", lang, method=method))
    return "\n".join(lines) + "\n"
