"""Plotly figures of the lesson "Why contrastive features help" (:mod:`adlab.lessons.why_contrastive`; no
streamlit here): accuracy per epoch under label noise, CE against CE + lambda * contrastive (curves and UMAP
maps coloured by digit), and pre-training against supervised training (bars). Styling follows
:mod:`adlab.viz` (projector-sized fonts); every figure takes plain numbers, so a test can build it alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from adlab import i18n
from adlab.viz import FONT_SIZE, _style

__all__ = ["METHOD_COLOURS", "accuracy_curves_figure", "bars_figure", "class_maps_figure"]

#: one colour per method, the same in every figure of the lesson
METHOD_COLOURS: dict[str, str] = {
    "ce": "#d62728",  # cross-entropy: red
    "supcon": "#1f77b4",  # SupCon: blue
    "simclr": "#2ca02c",  # SimCLR: green
    "mix": "#9467bd",  # CE + lambda * contrastive: purple
    "untrained": "#9e9e9e",  # the untrained encoder: grey
    "memorised": "#ff7f0e",  # the noise CE learnt by heart: orange
}
_DIGIT_PALETTE = qualitative.T10  # ten distinguishable colours, one per digit


def accuracy_curves_figure(epochs: np.ndarray, curves: Mapping[str, np.ndarray], *, colours: Mapping[str, str],
                           dashed: Sequence[str] = (), title: str = "", y_title: str | None = None,
                           height: int = 440, lang: str = "en") -> go.Figure:
    """One line per entry ``name -> (E + 1,)`` values after each epoch (epoch 0 = before training), on a
    0-1 axis; ``colours[name]`` its colour, names in ``dashed`` drawn dashed (e.g. a share rather than an
    accuracy). Legend below the plot, in the order of ``curves``. ``y_title`` defaults to "test accuracy";
    the axis texts are in ``lang``."""
    epochs = np.asarray(epochs)
    epoch = i18n.text("lessons.why.fig.epoch_hover", lang)
    fig = go.Figure()
    for name, values in curves.items():
        values = np.asarray(values, dtype=float)
        if values.shape != epochs.shape:
            raise ValueError(f"curve {name!r} must have shape {epochs.shape}, got {values.shape}")
        fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=name,
                                 line=dict(color=colours[name], width=3, dash="dot" if name in dashed else "solid"),
                                 marker=dict(size=6), hovertemplate=f"{epoch} %{{x}}: %{{y:.3f}}<extra>{name}</extra>"))
    fig.update_xaxes(title=i18n.text("lessons.why.fig.epoch_axis", lang), dtick=max(1, len(epochs) // 10))
    fig.update_yaxes(title=i18n.text("lessons.why.fig.accuracy", lang) if y_title is None else y_title, range=[0, 1.02])
    return _style(fig, title, height=height, legend=dict(orientation="h", x=0.0, y=-0.18, xanchor="left",
                                                          yanchor="top"))


def class_maps_figure(maps: Mapping[str, np.ndarray], classes: np.ndarray, *, class_names: Sequence[str] | None = None,
                      height: int = 460, lang: str = "en") -> go.Figure:
    """Side-by-side 2-D maps of the same points, one panel per entry ``title -> (n, 2)``, coloured by
    ``classes`` ``(n,)`` (integers); one trace per class and panel, the legend once (titled "digit" in
    ``lang``)."""
    if not maps:
        raise ValueError("maps must hold at least one panel")
    classes = np.asarray(classes)
    labels = np.unique(classes)
    names = list(class_names) if class_names is not None else [str(c) for c in labels]
    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=list(maps), horizontal_spacing=0.05)
    for col, xy in enumerate(maps.values(), start=1):
        xy = np.asarray(xy, dtype=float)
        if xy.shape != (len(classes), 2):
            raise ValueError(f"every map must be ({len(classes)}, 2), got {xy.shape}")
        for i, c in enumerate(labels):
            mask = classes == c
            name = names[int(c)] if class_names is not None else names[i]
            fig.add_trace(go.Scatter(x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=name, legendgroup=name,
                                     showlegend=col == 1, hoverinfo="name",
                                     marker=dict(color=_DIGIT_PALETTE[i % len(_DIGIT_PALETTE)], size=5, opacity=0.75)),
                          row=1, col=col)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_annotations(font_size=FONT_SIZE + 2)
    return _style(fig, height=height, legend=dict(title=i18n.text("lessons.why.fig.digit", lang), itemsizing="constant"))


def bars_figure(groups: Sequence[str], bars: Mapping[str, np.ndarray], *, colours: Mapping[str, str],
                title: str = "", y_title: str | None = None, height: int = 440, lang: str = "en") -> go.Figure:
    """Grouped bars: one group per entry of ``groups`` (e.g. label budgets), one bar per entry ``name ->
    (len(groups),)`` values, printed on the bar to three decimals. The value axis starts at the lowest bar
    minus a margin (the differences are a few hundredths), never below 0. ``y_title`` defaults to "test
    accuracy" in ``lang``."""
    fig = go.Figure()
    lowest = 1.0
    for name, values in bars.items():
        values = np.asarray(values, dtype=float)
        if values.shape != (len(groups),):
            raise ValueError(f"bars {name!r} must have shape ({len(groups)},), got {values.shape}")
        lowest = min(lowest, float(values.min()))
        fig.add_trace(go.Bar(x=list(groups), y=values, name=name, marker_color=colours[name],
                             text=[f"{v:.3f}" for v in values], textposition="outside",
                             hovertemplate="%{x}: %{y:.3f}<extra>" + name + "</extra>"))
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_yaxes(title=i18n.text("lessons.why.fig.accuracy", lang) if y_title is None else y_title,
                     range=[max(0.0, lowest - 0.1), 1.02])
    return _style(fig, title, height=height, legend=dict(orientation="h", x=0.0, y=-0.15, xanchor="left",
                                                          yanchor="top"))
