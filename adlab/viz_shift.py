"""Plotly figures of the lesson "Which augmentation is a shift?" (:mod:`adlab.lessons.shift`; no streamlit).

:func:`views_figure` shows what each way of using a transformation trains on; :func:`auroc_figure`
the mean one-class AUROC of each way, one dot per normal class, beside the reference scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adlab import i18n
from adlab.viz import FONT_SIZE, _style

__all__ = ["MODE_COLOURS", "auroc_figure", "mosaic", "views_figure"]

MODE_COLOURS = {"unused": "#7f7f7f", "positive": "#1f77b4", "negative": "#d62728"}
_REFERENCE_DASH = ("dash", "dot", "dashdot")
CHANCE = 0.5  # the bars rise from the AUROC of a random ranking


def mosaic(images: np.ndarray, groups: int, gap: int = 1) -> np.ndarray:
    """Images (m, S, S) side by side in one row, a gap of ``gap`` NaN columns between images and
    ``3 * gap`` between consecutive groups of ``m // groups``: (S, m S + gaps) float."""
    images = np.asarray(images, dtype=float)
    if images.ndim != 3 or groups < 1 or len(images) % groups:
        raise ValueError(f"images must be (m, S, S) with m a multiple of groups, got {images.shape} and {groups}")
    size, per = images.shape[1], len(images) // groups
    parts: list[np.ndarray] = []
    for i, image in enumerate(images):
        if i:
            parts.append(np.full((size, 3 * gap if i % per == 0 else gap), np.nan))
        parts.append(image)
    return np.concatenate(parts, axis=1)


def views_figure(pairs: Mapping[str, np.ndarray], shifted: np.ndarray, names: Sequence[str],
                 titles: Mapping[str, str]) -> go.Figure:
    """Three rows of greyscale digits: ``pairs["unused"]`` and ``pairs["positive"]`` (n, 2, S, S),
    the two views of each of n images (a positive pair each); ``shifted`` (K, n, S, S), every shifted
    copy ``T_k x`` of each image, K instances per image. ``titles[mode]`` heads each row."""
    shifted = np.asarray(shifted, dtype=float)
    k, n = shifted.shape[:2]
    if len(names) != k:
        raise ValueError(f"names must hold one name per shift ({k}), got {len(names)}")
    rows = [("unused", mosaic(np.asarray(pairs["unused"]).reshape(-1, *shifted.shape[2:]), n)),
            ("positive", mosaic(np.asarray(pairs["positive"]).reshape(-1, *shifted.shape[2:]), n)),
            ("negative", mosaic(shifted.transpose(1, 0, 2, 3).reshape(-1, *shifted.shape[2:]), n))]
    fig = make_subplots(rows=3, cols=1, subplot_titles=[titles[m] for m, _ in rows], vertical_spacing=0.12)
    for r, (mode, image) in enumerate(rows, start=1):
        fig.add_trace(go.Heatmap(z=image, colorscale="gray_r", zmin=0.0, zmax=1.0, showscale=False,
                                 hovertemplate="%{z:.2f}<extra></extra>", name=mode, showlegend=False), row=r, col=1)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{r if r > 1 else ''}", visible=False, row=r, col=1)
        fig.update_xaxes(visible=False, row=r, col=1)
    size = shifted.shape[-1]
    step = k * size + (k - 1) + 3  # one image's K copies and the gap to the next image
    for i in range(n):
        for j, name in enumerate(names):
            fig.add_annotation(x=i * step + j * (size + 1) + (size - 1) / 2, y=size + 0.6, text=name, showarrow=False,
                               yanchor="top", font=dict(size=FONT_SIZE - 4), xref="x3", yref="y3")
    _style(fig, height=520)
    fig.update_annotations(font_size=FONT_SIZE - 1, selector=dict(xref="paper"))
    return fig.update_layout(margin=dict(l=10, r=10, t=40, b=40), plot_bgcolor="#ffffff")


def auroc_figure(mean: Mapping[str, float], per_class: Mapping[str, np.ndarray], classes: Sequence[int],
                 labels: Mapping[str, str], references: Mapping[str, float] | None = None,
                 title: str = "", *, lang: str = "en") -> go.Figure:
    """One bar per mode, rising from chance (0.5) to the mean one-class AUROC over ``classes`` (printed on
    it), and one dot per class (``per_class[mode]`` (C,), hover names the class). ``references`` (name -> mean AUROC)
    are drawn as horizontal lines across the chart, named in the legend below it. Texts in ``lang``."""
    mean_auroc = i18n.text("lessons.shift.fig.mean_auroc", lang)
    normal_digit = i18n.text("lessons.shift.fig.normal_digit", lang)
    modes = list(mean)
    x = [labels[m] for m in modes]
    values = [float(mean[m]) for m in modes]
    fig = go.Figure(go.Bar(x=x, y=[v - CHANCE for v in values], base=CHANCE, marker_color=[MODE_COLOURS[m] for m in modes],
                           name=mean_auroc, text=[f"{v:.3f}" for v in values], textposition="inside",
                           insidetextanchor="middle", textfont=dict(color="#ffffff", size=FONT_SIZE + 2),
                           customdata=values, showlegend=False,
                           hovertemplate=f"%{{x}}: {mean_auroc} %{{customdata:.3f}}<extra></extra>"))
    lows = list(values)
    for m in modes:
        dots = np.asarray(per_class[m], dtype=float)
        lows.append(float(dots.min()))
        fig.add_trace(go.Scatter(x=[labels[m]] * len(dots), y=dots, mode="markers", showlegend=False,
                                 marker=dict(color="#222222", size=7, opacity=0.6),
                                 customdata=list(classes),
                                 hovertemplate=f"{normal_digit} %{{customdata}}: %{{y:.3f}}<extra></extra>"))
    for dash, (name, value) in zip(_REFERENCE_DASH, (references or {}).items(), strict=False):
        lows.append(float(value))
        line = dict(color="#2ca02c", dash=dash, width=2)
        fig.add_hline(y=float(value), line=line)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=line, name=f"{name}: {value:.3f}"))  # legend
    bottom = min(CHANCE, min(lows) - 0.02)
    fig.update_yaxes(title=i18n.text("lessons.shift.fig.y_title", lang), range=[bottom, 1.03])
    _style(fig, title, height=480, legend=dict(orientation="h", x=0.0, y=-0.12, xanchor="left", yanchor="top"))
    return fig.update_layout(bargap=0.45)
