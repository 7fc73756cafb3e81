"""Plotly figures for the distance-axioms page (no streamlit here).

- :func:`points_figure`: the user's 2-D points with labels ``x0, x1, ...``, optionally the
  triangle that breaks the triangle inequality and a pair of distinct points at distance 0;
- :func:`distance_field_figure`: two heatmaps side by side, ``d(reference, p)`` for every ``p`` of
  a grid in the input plane, e.g. a learned distance before and after training.

Both take ``lang`` (``"en"`` or ``"ko"``) for their legend names and axis titles (the catalogue's
``distances.viz.*``); the CLI and the tests get English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adlab import i18n
from adlab.viz import template

__all__ = ["BREAK", "DETOUR", "ZERO_PAIR", "distance_field_figure", "points_figure"]

FONT_SIZE = 16
POINT = "#1f77b4"
BREAK = "#d62728"  # the long side of a violated triangle
DETOUR = "#2ca02c"  # the two short sides
ZERO_PAIR = "#ff7f0e"  # distinct points at distance 0


def _style(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        template=template(),
        title=dict(text=title, font=dict(size=FONT_SIZE + 2)) if title else None,
        font=dict(size=FONT_SIZE),
        height=height,
        margin=dict(l=50, r=20, t=60 if title else 30, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return fig


def _say(key: str, lang: str, **fields: object) -> str:
    return i18n.text(f"distances.viz.{key}", lang, **fields)


def _coordinate(n: int, lang: str) -> str:
    return i18n.text("distances.coordinate", lang, n=n)


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def _check_points(points: np.ndarray, arg: str = "points") -> np.ndarray:
    P = np.asarray(points, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != 2:
        raise ValueError(f"{arg} must have shape (n, 2), got {P.shape}")
    return P


def _segment(fig: go.Figure, a: np.ndarray, b: np.ndarray, *, name: str, color: str, dash: str,
             text: str, below: bool = False, showlegend: bool = True) -> None:
    """A line from ``a`` to ``b`` labelled at its midpoint, above it (or ``below``)."""
    mid = (a + b) / 2
    fig.add_trace(
        go.Scatter(
            x=[a[0], mid[0], b[0]], y=[a[1], mid[1], b[1]], mode="lines+text", name=name,
            line=dict(color=color, width=3, dash=dash), text=["", text, ""],
            textposition="bottom center" if below else "top center",
            textfont=dict(color=color, size=FONT_SIZE - 2), hoverinfo="name", showlegend=showlegend,
        )
    )


def points_figure(
    points: np.ndarray,
    *,
    distances: np.ndarray | None = None,
    triangle: tuple[int, int, int] | None = None,
    zero_pair: tuple[int, int] | None = None,
    title: str = "",
    height: int = 420,
    lang: str = "en",
) -> go.Figure:
    """Scatter of ``points`` ``(n, 2)`` labelled ``x0 .. x{n-1}`` with equal axis scales.

    ``triangle = (i, j, k)`` draws a violated triangle inequality ``d(x_i, x_k) > d(x_i, x_j) +
    d(x_j, x_k)``: the long side ``x_i - x_k`` in red, the detour through ``x_j`` in dashed green,
    each side labelled with its value from ``distances`` ``(n, n)`` when given. ``zero_pair =
    (i, j)`` draws two distinct points at distance 0 (identity of indiscernibles broken).
    Trace order: the segments, then ``points`` last (so the markers sit on top).
    """
    P = _check_points(points)
    n = len(P)
    D = None if distances is None else np.asarray(distances, dtype=np.float64)
    if D is not None and D.shape != (n, n):
        raise ValueError(f"distances must have shape ({n}, {n}), got {D.shape}")
    for arg, idx in (("triangle", triangle), ("zero_pair", zero_pair)):
        if idx is not None and not all(0 <= int(i) < n for i in idx):
            raise ValueError(f"{arg} must hold row indices below {n}, got {idx}")

    def label(i: int, j: int) -> str:
        return f"d(x{i},x{j}) = {_fmt(D[i, j])}" if D is not None else ""

    fig = go.Figure()
    if triangle is not None:
        i, j, k = (int(t) for t in triangle)
        _segment(fig, P[i], P[k], name=_say("long_side", lang, i=i, k=k), color=BREAK, dash="solid", text=label(i, k))
        # detour labels below the sides, the long side's above: they never overlap, even when collinear
        detour = _say("detour", lang, j=j)
        _segment(fig, P[i], P[j], name=detour, color=DETOUR, dash="dash", text=label(i, j), below=True)
        _segment(fig, P[j], P[k], name=detour, color=DETOUR, dash="dash", text=label(j, k),
                 below=True, showlegend=False)
    if zero_pair is not None:
        i, j = (int(t) for t in zero_pair)
        _segment(fig, P[i], P[j], name=_say("zero_pair", lang, i=i, j=j), color=ZERO_PAIR, dash="dot",
                 text=label(i, j), below=True)
    fig.add_trace(
        go.Scatter(
            x=P[:, 0], y=P[:, 1], mode="markers+text", name=_say("points", lang),
            text=[f"x{i}" for i in range(n)], textposition="bottom right",
            marker=dict(size=14, color=POINT, line=dict(color="white", width=1.5)),
            hovertemplate="%{text}<br>(%{x:.3f}, %{y:.3f})<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=_coordinate(1, lang), zeroline=True)
    fig.update_yaxes(title_text=_coordinate(2, lang), zeroline=True, scaleanchor="x", scaleratio=1)
    return _style(fig, title, height)


def distance_field_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    fields: Sequence[np.ndarray],
    *,
    reference: np.ndarray,
    points: np.ndarray | None = None,
    data: np.ndarray | None = None,
    pairs: Sequence[tuple[np.ndarray, np.ndarray] | None] | None = None,
    titles: Sequence[str] | None = None,
    title: str = "",
    height: int = 460,
    lang: str = "en",
) -> go.Figure:
    """Heatmaps of ``d(reference, (x, y))`` side by side, one per entry of ``fields``.

    Shapes: ``xs`` ``(C,)``, ``ys`` ``(R,)``, each field ``(R, C)`` (row = y); ``reference`` ``(2,)``;
    ``points`` ``(n, 2)`` the user's points (labelled), ``data`` ``(m, 2)`` a training set (small
    white dots). ``pairs[p]`` is an optional ``(a, b)`` segment drawn on panel ``p`` (two distant
    points the distance can hardly tell apart). The legend sits below the panels. All panels share one colour scale from 0.
    Traces per panel: ``heatmap``, then ``training data``, ``your points``, ``reference``, pair.
    ``titles`` (one per field) default to before / after training, in ``lang``.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    fields = [np.asarray(f, dtype=np.float64) for f in fields]
    if not fields:
        raise ValueError("fields must hold at least one (R, C) array")
    for f in fields:
        if f.shape != (len(ys), len(xs)):
            raise ValueError(f"each field must have shape ({len(ys)}, {len(xs)}), got {f.shape}")
    if titles is None:
        titles = (_say("before", lang), _say("after", lang))
    if len(titles) != len(fields):
        raise ValueError(f"titles must have one entry per field ({len(fields)}), got {len(titles)}")
    if pairs is not None and len(pairs) != len(fields):
        raise ValueError(f"pairs must have one entry per field ({len(fields)}), got {len(pairs)}")
    ref = np.asarray(reference, dtype=np.float64).reshape(2)
    zmax = max(float(np.nanmax(f)) for f in fields) or 1.0
    fig = make_subplots(rows=1, cols=len(fields), subplot_titles=list(titles), horizontal_spacing=0.08)
    for c, field in enumerate(fields, start=1):
        first = c == 1
        fig.add_trace(
            go.Heatmap(
                x=xs, y=ys, z=field, coloraxis="coloraxis", name=_say("heatmap", lang),
                hovertemplate="(%{x:.2f}, %{y:.2f})<br>d = %{z:.3f}<extra></extra>",
            ),
            row=1, col=c,
        )
        if data is not None:
            Dt = _check_points(data, "data")
            fig.add_trace(
                go.Scatter(
                    x=Dt[:, 0], y=Dt[:, 1], mode="markers", name=_say("training_data", lang), legendgroup="data",
                    showlegend=first, hoverinfo="skip",
                    marker=dict(size=5, color="white", opacity=0.6, line=dict(color="#444", width=0.5)),
                ),
                row=1, col=c,
            )
        if points is not None:
            P = _check_points(points)
            fig.add_trace(
                go.Scatter(
                    x=P[:, 0], y=P[:, 1], mode="markers+text", name=_say("your_points", lang), legendgroup="points",
                    showlegend=first, text=[f"x{i}" for i in range(len(P))], textposition="top right",
                    textfont=dict(color="white"),
                    marker=dict(size=10, color=POINT, line=dict(color="white", width=1.5)),
                ),
                row=1, col=c,
            )
        fig.add_trace(
            go.Scatter(
                x=[ref[0]], y=[ref[1]], mode="markers", name=_say("reference", lang), legendgroup="reference",
                showlegend=first, marker=dict(size=18, symbol="star", color=BREAK, line=dict(color="white", width=1)),
            ),
            row=1, col=c,
        )
        pair = pairs[c - 1] if pairs is not None else None
        if pair is not None:
            a, b = (np.asarray(p, dtype=np.float64).reshape(2) for p in pair)
            fig.add_trace(
                go.Scatter(
                    x=[a[0], b[0]], y=[a[1], b[1]], mode="lines+markers", name=_say("pair", lang),
                    legendgroup="pair", showlegend=first,
                    line=dict(color=ZERO_PAIR, width=3, dash="dot"), marker=dict(size=9, color=ZERO_PAIR),
                ),
                row=1, col=c,
            )
        fig.update_xaxes(range=[xs[0], xs[-1]], title_text=_coordinate(1, lang), row=1, col=c)
        fig.update_yaxes(range=[ys[0], ys[-1]], row=1, col=c)
    fig.update_yaxes(title_text=_coordinate(2, lang), row=1, col=1)
    fig.update_layout(coloraxis=dict(colorscale="Viridis", cmin=0.0, cmax=zmax, colorbar=dict(title="d")))
    _style(fig, title, height)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, x=0), margin=dict(b=90))
    return fig
