"""Plotly figure builders for the anomaly-detector pages (no streamlit here).

The general figures (UMAP pair, ROC, score histogram, loss curve) live in :mod:`adlab.viz`; these
draw what one detector shows about itself: Deep SVDD's hypersphere, GOAD's transformation centres
and per-point softmax, CSI's score terms, and the Compare page's small multiples. Colours follow
:data:`adlab.viz.COLOURS` (normal = blue, anomaly = orange). Every figure takes ``lang`` (``"en"`` or
``"ko"``) for its titles, axes and legend (:mod:`adlab.i18n`: the ``detectors.fig.`` texts, and
:func:`adlab.viz.group_name` for normal / anomaly); a ``title`` given explicitly is used as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from adlab import i18n
from adlab.viz import COLOURS, FONT_SIZE, _style, group_name

__all__ = [
    "csi_terms_figure",
    "distance_histogram_figure",
    "goad_centres_figure",
    "loss_curves_figure",
    "per_transform_bar_figure",
    "sphere_figure",
    "transform_softmax_figure",
    "umap_grid_figure",
]

_TRANSFORM_PALETTE = qualitative.Dark24


def _labels(is_anomaly: np.ndarray, n: int) -> np.ndarray:
    labels = np.asarray(is_anomaly, dtype=bool)
    if labels.shape != (n,):
        raise ValueError(f"is_anomaly must have shape ({n},), got {labels.shape}")
    return labels


def _say(key: str, lang: str, **fields) -> str:
    return i18n.text(f"detectors.fig.{key}", lang, **fields)


def _marker(name: str) -> dict:
    anomaly = name == "anomaly"
    return dict(color=COLOURS[name], size=8 if anomaly else 6, opacity=0.85 if anomaly else 0.6,
                symbol="diamond" if anomaly else "circle")


# ----------------------------------------------------------------------------- Deep SVDD
def sphere_figure(
    r: np.ndarray,
    theta: np.ndarray,
    is_anomaly: np.ndarray,
    radius: float,
    *,
    title: str | None = None,
    hover: Sequence[str] | None = None,
    lang: str = "en",
) -> go.Figure:
    """Test points at their true distance ``r = ||phi(x) - c||`` from the centre, direction ``theta``.

    ``r``, ``theta``, ``is_anomaly`` (n,); the dashed circle is the radius ``R``, the cross the
    centre ``c``. Axes are in feature units, so a collapsed map shows up as a tiny scale.
    Traces: sphere, normal, anomaly, centre.
    """
    r, theta = np.asarray(r, dtype=float), np.asarray(theta, dtype=float)
    if r.shape != theta.shape or r.ndim != 1:
        raise ValueError(f"r and theta must be 1-D of the same length, got {r.shape} and {theta.shape}")
    labels = _labels(is_anomaly, len(r))
    text = np.asarray(hover if hover is not None else [""] * len(r), dtype=object)
    x, y = r * np.cos(theta), r * np.sin(theta)
    t = np.linspace(0.0, 2.0 * np.pi, 181)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=radius * np.cos(t), y=radius * np.sin(t), mode="lines",
                             name=_say("sphere", lang, radius=radius), hoverinfo="skip",
                             line=dict(color="#333333", width=2, dash="dash")))
    for name, mask in (("normal", ~labels), ("anomaly", labels)):
        fig.add_trace(go.Scatter(x=x[mask], y=y[mask], mode="markers", name=group_name(name, lang), marker=_marker(name),
                                 customdata=r[mask], hovertext=text[mask],
                                 hovertemplate="%{hovertext}<br>‖φ(x) − c‖ = %{customdata:.4g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0.0], y=[0.0], mode="markers", name=_say("centre", lang),
                             marker=dict(symbol="x", size=14, color=COLOURS["anchor"])))
    extent = 1.08 * max(float(r.max()) if len(r) else 0.0, float(radius), 1e-12)
    fig.update_xaxes(range=[-extent, extent], zeroline=False, title=_say("direction_1", lang))
    fig.update_yaxes(range=[-extent, extent], zeroline=False, scaleanchor="x", scaleratio=1,
                     title=_say("direction_2", lang))
    return _style(fig, title if title is not None else _say("sphere_title", lang), height=480, legend=dict(orientation="h", x=0.0, y=-0.18, xanchor="left",
                                                       yanchor="top"))


def distance_histogram_figure(
    dist: np.ndarray,
    is_anomaly: np.ndarray,
    radius: float,
    *,
    title: str | None = None,
    lang: str = "en",
) -> go.Figure:
    """Histograms of ``||phi(x) - c||`` for normal and anomalous test points; a line marks ``R``.

    Points right of the line lie outside the sphere (flagged as anomalies at that radius).
    """
    dist = np.asarray(dist, dtype=float)
    labels = _labels(is_anomaly, len(dist))
    fig = go.Figure()
    for name, mask in (("normal", ~labels), ("anomaly", labels)):
        fig.add_trace(go.Histogram(x=dist[mask], name=group_name(name, lang), marker_color=COLOURS[name], opacity=0.6,
                                   nbinsx=40, histnorm="probability density"))
    fig.add_vline(x=float(radius), line=dict(color="#333333", width=2, dash="dash"),
                  annotation_text=f"R = {radius:.3g}", annotation_position="top right")
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title=_say("distance_axis", lang))
    fig.update_yaxes(title=_say("density", lang))
    return _style(fig, title if title is not None else _say("distance_title", lang), height=360, legend=dict(x=0.98, y=0.98, xanchor="right", yanchor="top"))


def loss_curves_figure(curves: Mapping[str, Sequence[float]], *, log_y: bool = True,
                       title: str | None = None, lang: str = "en") -> go.Figure:
    """One line per run ``name -> epoch losses``; a log axis shows a loss that keeps falling."""
    fig = go.Figure()
    palette = (COLOURS["normal"], COLOURS["negative"], COLOURS["positive"], "#9467bd")
    for i, (name, losses) in enumerate(curves.items()):
        y = np.asarray(losses, dtype=float)
        fig.add_trace(go.Scatter(x=np.arange(1, len(y) + 1), y=y, mode="lines+markers", name=name,
                                 line=dict(width=3, color=palette[i % len(palette)])))
    fig.update_xaxes(title=_say("epoch", lang))
    fig.update_yaxes(title=_say("loss", lang), type="log" if log_y else "linear")
    return _style(fig, title if title is not None else _say("loss_title", lang), height=360, legend=dict(x=0.98, y=0.98, xanchor="right", yanchor="top"))


# ----------------------------------------------------------------------------- GOAD
def goad_centres_figure(
    points: np.ndarray,
    transform: np.ndarray,
    centres: np.ndarray,
    names: Sequence[str],
    point_is_anomaly: np.ndarray,
    *,
    focus: np.ndarray | None = None,
    means: np.ndarray | None = None,
    title: str | None = None,
    lang: str = "en",
) -> go.Figure:
    """Test features ``f(T(x, m))`` in 2-D coloured by transformation m, with the M centres.

    ``points`` (k, 2), ``transform`` (k,) ints in [0, M), ``centres`` (M, 2), ``names`` M labels,
    ``point_is_anomaly`` (k,) bool: anomalous test points are drawn as open diamonds. ``focus``
    (k,) bool: the axes are fitted to these points and the centres (others may lie outside the
    view); None = all points. ``means`` (M, 2): the normal training copies' mean per transformation
    (large open circles). One trace per transformation, then the means (when given), then the
    centres (large crosses).
    """
    points, centres = np.asarray(points, dtype=float), np.asarray(centres, dtype=float)
    transform = np.asarray(transform, dtype=int)
    m = len(names)
    if centres.shape != (m, 2):
        raise ValueError(f"centres must be ({m}, 2) for {m} names, got {centres.shape}")
    if points.ndim != 2 or points.shape[1] != 2 or transform.shape != (len(points),):
        raise ValueError(f"points must be (k, 2) and transform (k,), got {points.shape} and {transform.shape}")
    labels = _labels(point_is_anomaly, len(points))
    fig = go.Figure()
    for j in range(m):
        mask = transform == j
        colour = _TRANSFORM_PALETTE[j % len(_TRANSFORM_PALETTE)]
        fig.add_trace(go.Scatter(
            x=points[mask, 0], y=points[mask, 1], mode="markers", name=str(names[j]), legendgroup=str(j),
            marker=dict(color=colour, size=7, opacity=0.55,
                        symbol=np.where(labels[mask], "diamond-open", "circle")),
            hovertext=np.where(labels[mask], _say("anomalous_point", lang), _say("normal_point", lang)),
            hoverinfo="text+name",
        ))
    colours = [_TRANSFORM_PALETTE[j % len(_TRANSFORM_PALETTE)] for j in range(m)]
    if means is not None:
        means = np.asarray(means, dtype=float)
        if means.shape != (m, 2):
            raise ValueError(f"means must be ({m}, 2) for {m} names, got {means.shape}")
        fig.add_trace(go.Scatter(
            x=means[:, 0], y=means[:, 1], mode="markers", name=_say("training_mean", lang),
            marker=dict(symbol="circle-open", size=22, color=colours, line=dict(width=3)),
            hovertext=[_say("training_mean_hover", lang, name=n) for n in names], hoverinfo="text",
        ))
        centres_shown = np.concatenate([centres, means])
    else:
        centres_shown = centres
    fig.add_trace(go.Scatter(
        x=centres[:, 0], y=centres[:, 1], mode="markers+text", name=_say("centres", lang),
        text=[str(n) for n in names], textposition="top center", textfont=dict(size=FONT_SIZE - 2),
        marker=dict(symbol="x", size=16, color=[_TRANSFORM_PALETTE[j % len(_TRANSFORM_PALETTE)] for j in range(m)],
                    line=dict(color="black", width=2)),
    ))
    if focus is not None:
        focus = np.asarray(focus, dtype=bool)
        if focus.shape != (len(points),):
            raise ValueError(f"focus must have shape ({len(points)},), got {focus.shape}")
        shown = np.concatenate([points[focus], centres_shown])
        lo, hi = shown.min(axis=0), shown.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-9)
        fig.update_xaxes(range=[lo[0] - pad[0], hi[0] + pad[0]])
        fig.update_yaxes(range=[lo[1] - pad[1], hi[1] + pad[1]])
    fig.update_xaxes(title=_say("centres_axis_1", lang), zeroline=False)
    fig.update_yaxes(title=_say("centres_axis_2", lang), zeroline=False)
    return _style(fig, title if title is not None else _say("centres_title", lang), height=560)


def transform_softmax_figure(probs: np.ndarray, names: Sequence[str], *,
                             title: str | None = None, lang: str = "en") -> go.Figure:
    """Heatmap of one point's softmax over the centres: row m = copy T(x, m), column m' = centre.

    ``probs`` (M, M). A normal point puts its mass on the diagonal (each copy finds its own
    centre); values are printed in the cells when M <= 8.
    """
    probs = np.asarray(probs, dtype=float)
    m = len(names)
    if probs.shape != (m, m):
        raise ValueError(f"probs must be ({m}, {m}) for {m} names, got {probs.shape}")
    labels = [str(n) for n in names]
    fig = go.Figure(go.Heatmap(
        z=probs, x=labels, y=labels, zmin=0.0, zmax=1.0, colorscale="Blues",
        colorbar=dict(title="P"), texttemplate="%{z:.2f}" if m <= 8 else None,
        hovertemplate=_say("softmax_hover", lang) + "<extra></extra>",
    ))
    fig.update_xaxes(title=_say("centre_axis", lang), type="category", tickangle=-45 if m > 8 else 0)
    fig.update_yaxes(title=_say("copy_axis", lang), type="category", autorange="reversed")
    return _style(fig, title if title is not None else _say("softmax_title", lang), height=max(380, 26 * m + 160))


def per_transform_bar_figure(values: np.ndarray, names: Sequence[str], *,
                             title: str | None = None, y_title: str | None = None, lang: str = "en") -> go.Figure:
    """One bar per transformation; GOAD's score is the sum of the bars."""
    values = np.asarray(values, dtype=float)
    if values.shape != (len(names),):
        raise ValueError(f"values must have one entry per name ({len(names)}), got {values.shape}")
    colours = [_TRANSFORM_PALETTE[j % len(_TRANSFORM_PALETTE)] for j in range(len(names))]
    fig = go.Figure(go.Bar(x=[str(n) for n in names], y=values, marker_color=colours,
                           hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    fig.update_xaxes(type="category", tickangle=-45 if len(names) > 8 else 0)
    fig.update_yaxes(title=y_title if y_title is not None else _say("score_term", lang))
    return _style(fig, title if title is not None else _say("terms_title", lang), height=360)


# ----------------------------------------------------------------------------- CSI
def csi_terms_figure(con_parts: np.ndarray, cls_parts: np.ndarray, rotations: Sequence[str], *,
                     reference: float | None = None, title: str | None = None, lang: str = "en") -> go.Figure:
    """A waterfall of the anomaly score ``-s_CSI``: the four ``-lambda_y s_con(T_y x)`` steps, the four
    ``-lambda'_y l_y(x)_y`` steps, and the total ``-s_CSI``.

    ``con_parts``, ``cls_parts`` (4,) for one test point are the paper's terms (normality, higher =
    more normal); the figure draws them negated, in this project's direction (higher = more
    anomalous). ``rotations`` the four labels; ``reference``: a dashed line at this anomaly-score
    value (e.g. the training images' mean ``-s_CSI``).
    """
    con_parts, cls_parts = np.asarray(con_parts, dtype=float), np.asarray(cls_parts, dtype=float)
    if con_parts.shape != (len(rotations),) or cls_parts.shape != (len(rotations),):
        raise ValueError("con_parts and cls_parts must have one entry per rotation")
    x = [f"−con {r}" for r in rotations] + [f"−cls {r}" for r in rotations] + ["−s_CSI"]
    y = [*(-con_parts), *(-cls_parts), -float(con_parts.sum() + cls_parts.sum())]
    fig = go.Figure(go.Waterfall(
        x=x, y=y, measure=["relative"] * (2 * len(rotations)) + ["total"],
        text=[f"{v:.3f}" for v in y], textposition="outside",
        increasing=dict(marker=dict(color=COLOURS["anomaly"])),
        decreasing=dict(marker=dict(color=COLOURS["normal"])),
        totals=dict(marker=dict(color=COLOURS["anchor"])),
        connector=dict(line=dict(color="#999999", width=1)),
    ))
    if reference is not None:
        fig.add_hline(y=float(reference), line=dict(color="#333333", width=2, dash="dash"),
                      annotation_text=_say("training_mean_line", lang, value=reference),
                      annotation_position="bottom left")
    fig.update_xaxes(type="category")
    fig.update_yaxes(title=_say("contribution", lang))
    return _style(fig, title if title is not None else _say("csi_title", lang), height=400)


# ----------------------------------------------------------------------------- Compare
def umap_grid_figure(
    maps: Mapping[str, np.ndarray],
    is_anomaly: np.ndarray,
    *,
    cols: int = 4,
    hover: Sequence[str] | None = None,
    lang: str = "en",
) -> go.Figure:
    """Small multiples: one 2-D map per name, the same test points, normal blue / anomaly orange.

    ``maps`` ``name -> (n, 2)``; traces per panel: normal then anomaly (legend once).
    """
    if not maps:
        raise ValueError("maps must hold at least one panel")
    if not isinstance(cols, int) or cols < 1:
        raise ValueError(f"cols must be a positive integer, got {cols!r}")
    n = len(next(iter(maps.values())))
    labels = _labels(is_anomaly, n)
    text = np.asarray(hover if hover is not None else [""] * n, dtype=object)
    cols = min(cols, len(maps))
    rows = -(-len(maps) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(maps), horizontal_spacing=0.03,
                        vertical_spacing=0.12 if rows > 1 else 0.0)
    for k, (_, xy) in enumerate(maps.items()):
        xy = np.asarray(xy, dtype=float)
        if xy.shape != (n, 2):
            raise ValueError(f"every map must be ({n}, 2), got {xy.shape}")
        for name, mask in (("normal", ~labels), ("anomaly", labels)):
            fig.add_trace(go.Scatter(x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=group_name(name, lang),
                                     legendgroup=name,
                                     showlegend=k == 0, marker={**_marker(name), "size": 5},
                                     hovertext=text[mask], hoverinfo="text+name"),
                          row=k // cols + 1, col=k % cols + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_annotations(font_size=FONT_SIZE)
    return _style(fig, height=320 * rows + 80, legend=dict(orientation="h", x=0.0, y=1.0 + 0.12 / rows,
                                                            xanchor="left", yanchor="bottom"))
