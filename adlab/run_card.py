"""The Markdown run card: what ran, on what, with which settings, how well, and the paper's number.

Method names are shown with the label the registry gives them (:mod:`adlab.registry`, asked at call
time); the papers' numbers come from :mod:`adlab.papers`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import torch

import adlab
from adlab import papers
from adlab.config_json import jsonable

__all__ = ["NO_PAPER_NUMBER", "run_card"]

_METRIC_NAMES = {"auroc": "AUROC", "auprc": "AUPRC", "f1": "F1"}
NO_PAPER_NUMBER = "No paper number: the papers did not use this dataset/protocol."


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


def _config_section(config: Mapping[str, Any]) -> list[str]:
    plain = jsonable(config)
    if not isinstance(plain, Mapping):
        raise ValueError(f"config must be a mapping (or a dataclass), got {type(config).__name__}")
    flat = _flatten(plain)
    cells = {k: v if isinstance(v, str) else json.dumps(v) for k, v in flat.items()}
    if not cells:
        return ["(no settings)"]
    if all(len(v) <= 60 for v in cells.values()):
        return ["| setting | value |", "|---|---|", *(f"| {_md(k)} | {_md(v)} |" for k, v in cells.items())]
    return ["```json", json.dumps(plain, indent=2, ensure_ascii=False), "```"]


def _metric_text(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _md(value)
    return f"{number:.4f}" if math.isfinite(number) else str(number)


def _metrics_section(metrics: Mapping[str, float], refs: list[papers.PaperNumber]) -> list[str]:
    keys = [k for k in _METRIC_NAMES if k in metrics] + [k for k in metrics if k not in _METRIC_NAMES]
    names = [_METRIC_NAMES.get(k, k) for k in keys]
    lines = [
        "| | " + " | ".join(_md(n) for n in names) + " |",
        "|---|" + "---|" * len(names),
        "| This run | " + " | ".join(_metric_text(metrics[k]) for k in keys) + " |",
    ]
    for ref in refs:
        row = []
        for name in names:
            cell = ref.fraction_text if name == ref.metric else "–"
            if name == ref.metric and ref.unverified:
                cell += " (unverified)"
            row.append(cell)
        label = f"Paper: {ref.paper}"
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
    everything else depends only on the arguments.
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
        ("Method", _method_label(method)),
        ("Dataset", f"{dataset} ({dataset_note})" if dataset_note else dataset),
        ("Protocol", protocol or "–"),
        ("Training rows", n_train),
        ("Test rows", f"{n_test}, of which {n_anomalies} anomalous{share}"),
        ("Seed", seed),
        ("Device", device),
        ("Time", f"{seconds:.1f} s"),
        ("adlab", adlab.__version__),
        ("torch", torch.__version__),
        ("Created", created),
    ]
    rows += [(str(k), jsonable(v)) for k, v in (extra or {}).items()]
    lines = [f"# {title}", "", "| | |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v if isinstance(v, str) else json.dumps(v))} |" for k, v in rows]
    lines += ["", "## Configuration", "", *_config_section(config)]
    lines += ["", "## Metrics", "", *_metrics_section(metrics, refs), ""]
    lines.append("Higher scores mean more anomalous; F1 is taken at the threshold that flags as many test rows "
                 "as there are anomalies.")
    lines.append("")
    if refs:
        lines.append("Paper numbers (in the table as fractions), with their sources:")
        lines.append("")
        lines += [f"- {ref.describe()}" for ref in refs]
        if any(ref.unverified for ref in refs):
            lines += ["", "(unverified): taken from a secondary listing, not checked against the paper's PDF."]
    else:
        lines.append(NO_PAPER_NUMBER)
        key = papers.paper_key(method)
        if not any(key and p.method == key for p in papers.PAPER_NUMBERS):
            lines.append(f"(The papers this app follows report no anomaly-detection number for {method}.)")
    return "\n".join(lines) + "\n"
