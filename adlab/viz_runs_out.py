"""Figures of the closing page, "Where augmentation runs out" (:mod:`adlab.lessons.runs_out`); no streamlit.

* :func:`auroc_bars_figure`: AUROC per method per data set as grouped bars, chance (0.5) dashed;
* :func:`strength_sweep_figure`: SimCLR's AUROC against the augmentation strength, one line per data
  set, with raw kNN's AUROC on the same data as a dotted line of the same colour.

Method colours: the contrastive methods in warm colours, GOAD purple, the raw-input baselines in
greys and blue-greys, so the two families read apart at a glance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from adlab import i18n
from adlab.viz import FONT_SIZE, _style

__all__ = ["METHOD_COLOURS", "auroc_bars_figure", "strength_sweep_figure"]

METHOD_COLOURS: dict[str, str] = {
    "simclr": "#d62728",
    "droc": "#ff7f0e",
    "csi": "#e6ab02",
    "goad": "#9467bd",
    "knn": "#1f4e79",
    "iforest": "#6b7b8c",
    "ocsvm": "#a6b4c2",
}
_DATA_PALETTE = ("#1f77b4", "#2ca02c", "#8c564b", "#e377c2", "#17becf")
_LEGEND_BELOW = dict(orientation="h", x=0.0, y=-0.2, xanchor="left", yanchor="top")


def auroc_bars_figure(scores: Mapping[str, Mapping[str, float]], labels: Mapping[str, str], *,
                      title: str | None = None, lang: str = "en") -> go.Figure:
    """Grouped bars: ``scores[data set title][method] = AUROC``; one trace per method (named by
    ``labels[method]``, coloured by :data:`METHOD_COLOURS`), data sets along x. A method missing on a
    data set (CSI on tables) leaves a gap. Chance level 0.5 is a dashed line. ``title`` defaults to "AUROC
    per method and data set (higher is better; 0.5 = chance)"; the texts are in ``lang``."""
    if not scores:
        raise ValueError("scores is empty: give at least one data set")
    if title is None:
        title = i18n.text("lessons.runs_out.fig.bars_title", lang)
    datasets = list(scores)
    methods: list[str] = []
    for per in scores.values():
        methods += [m for m in per if m not in methods]
    fig = go.Figure()
    for method in methods:
        ys = [scores[d].get(method) for d in datasets]
        fig.add_trace(go.Bar(
            x=datasets, y=ys, name=labels.get(method, method), marker_color=METHOD_COLOURS.get(method),
            text=[f"{y:.3f}" if y is not None else "" for y in ys], textposition="outside",
            textfont=dict(size=FONT_SIZE - 4), cliponaxis=False,
            hovertemplate="%{x}<br>" + labels.get(method, method) + ": AUROC %{y:.3f}<extra></extra>"))
    fig.add_hline(y=0.5, line=dict(color="#555555", dash="dash", width=1.5),
                  annotation_text=i18n.text("lessons.runs_out.fig.chance", lang), annotation_position="top left")
    fig.update_layout(barmode="group", bargap=0.18, bargroupgap=0.04)
    fig.update_yaxes(title="AUROC", range=[0, 1.09], dtick=0.1)
    return _style(fig, title, height=500, legend=_LEGEND_BELOW).update_layout(margin_b=130)


def strength_sweep_figure(sweeps: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                          knn: Mapping[str, float], *, chosen: float | None = None,
                          untrained: Mapping[str, float] | None = None, title: str | None = None,
                          lang: str = "en") -> go.Figure:
    """One line per data set: ``sweeps[title] = (strengths, AUROCs)``; ``knn[title]`` (raw kNN's AUROC)
    as a dotted line and ``untrained[title]`` (the encoder before training) as a dash-dot line of the
    same colour; ``chosen`` (the page's strength) as a vertical line. Strength 0: the views are the input.
    ``title`` defaults to "SimCLR + kNN against the augmentation strength"; the texts are in ``lang``."""
    if not sweeps:
        raise ValueError("sweeps is empty: give at least one data set")

    def say(key: str, **fields: object) -> str:
        return i18n.text(f"lessons.runs_out.fig.{key}", lang, **fields)

    if title is None:
        title = say("sweep_title")
    strength = say("strength")
    fig = go.Figure()
    lo, hi = 0.0, 2.0
    for i, (name, (xs, ys)) in enumerate(sweeps.items()):
        if len(xs) != len(ys):
            raise ValueError(f"{name}: strengths and AUROCs differ in length ({len(xs)} and {len(ys)})")
        colour = _DATA_PALETTE[i % len(_DATA_PALETTE)]
        lo, hi = min(lo, min(xs)), max(hi, max(xs))
        fig.add_trace(go.Scatter(x=list(xs), y=list(ys), mode="lines+markers", name=say("simclr", name=name),
                                 line=dict(color=colour, width=3), marker=dict(size=9),
                                 hovertemplate=f"{strength} %{{x:g}}: AUROC %{{y:.3f}}<extra>{name}</extra>"))
        for ref, what, dash in ((knn, say("raw_knn"), "dot"), (untrained or {}, say("untrained"), "dashdot")):
            if name in ref:
                fig.add_trace(go.Scatter(x=[lo, hi], y=[ref[name]] * 2, mode="lines",
                                         name=say("reference", name=name, what=what),
                                         line=dict(color=colour, dash=dash, width=2),
                                         hovertemplate=f"{what}: AUROC %{{y:.3f}}<extra>{name}</extra>"))
    if chosen is not None:
        fig.add_vline(x=float(chosen), line=dict(color="#555555", width=1.5),
                      annotation_text=say("chosen", strength=float(chosen)), annotation_position="top")
    fig.add_hline(y=0.5, line=dict(color="#999999", dash="dash", width=1))
    fig.update_xaxes(title=say("strength_axis"), range=[lo - 0.05, hi + 0.05])
    fig.update_yaxes(title="AUROC", range=[0, 1.05], dtick=0.1)
    return _style(fig, title, height=480, legend=_LEGEND_BELOW).update_layout(margin_b=130)
