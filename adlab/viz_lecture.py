"""Figures of the lecture's own steps: who is anchor, positive and negative (:func:`roles_figure`), and why
anomaly detection is hard (:func:`hard_figure`). Every text comes from the catalogues in ``lang``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from adlab import i18n
from adlab.lessons.ad_hard import KINDS, SEEN, HardResult
from adlab.lessons.roles import Roles
from adlab.viz import COLOURS, _style

__all__ = ["hard_figure", "roles_figure"]

_SYMBOL = {"anchor": "star", "positive": "circle", "negative": "x", "negative_same": "x"}
_SIZE = {"anchor": 30, "positive": 20, "negative": 16, "negative_same": 16}
_COLOUR = {**COLOURS, "negative_same": "#ff9f1c"}  # a negative of the anchor's own class (instance mode)


def roles_figure(r: Roles, mode: str, *, lang: str = "en") -> go.Figure:
    """The batch on the unit circle, each point drawn by its role for the anchor (star: anchor, green
    circle: positive, red cross: negative; in instance mode an orange cross: a negative of the anchor's own
    class) and labelled with its sample (and class, in class mode)."""
    fig = go.Figure()
    t = np.linspace(0, 2 * np.pi, 200)
    fig.add_trace(go.Scatter(x=np.cos(t), y=np.sin(t), mode="lines", line=dict(color="#dddddd"),
                             hoverinfo="skip", showlegend=False))
    anchor_label = r.labels[r.role == "anchor"][0]
    same = (r.role == "negative") & (r.labels == anchor_label) if mode == "instance" else np.zeros(len(r.role), bool)
    for role in ("negative", "negative_same", "positive", "anchor"):
        keep = same if role == "negative_same" else (r.role == role) & ~same
        if not keep.any():
            continue
        if mode == "class":
            tags = [i18n.text("lecture.roles.tag_class", lang, sample=int(s), label=int(c))
                    for s, c in zip(r.sample[keep], r.labels[keep], strict=True)]
        else:
            tags = [i18n.text("lecture.roles.tag_view", lang, sample=int(s)) for s in r.sample[keep]]
        fig.add_trace(go.Scatter(
            x=r.points[keep, 0], y=r.points[keep, 1], mode="markers+text", text=tags, textposition="top center",
            name=i18n.text(f"lecture.roles.{role}", lang, n=int(keep.sum())),
            marker=dict(symbol=_SYMBOL[role], size=_SIZE[role], color=_COLOUR[role],
                        line=dict(width=1, color="#333333")),
            hovertemplate="%{text}<extra></extra>"))
    fig.update_xaxes(range=[-1.5, 1.5], visible=False, scaleanchor="y")
    fig.update_yaxes(range=[-1.4, 1.5], visible=False)
    return _style(fig, i18n.text(f"lecture.roles.figure_{mode}", lang), height=520,
                  legend=dict(orientation="h", x=0.0, y=-0.05, xanchor="left", yanchor="top"))


def hard_figure(result: HardResult, detector: str, *, lang: str = "en") -> go.Figure:
    """The toy's training set over the ``detector``'s score ("supervised" or "one_class") as a contour,
    with the test anomalies of the unseen kind: where each detector looks for anomalies."""
    xs, ys, g_sup, g_one = result.grid
    grid = g_sup if detector == "supervised" else g_one
    fig = go.Figure(go.Contour(
        x=xs, y=ys, z=grid, colorscale="Greys", opacity=0.55, showscale=True, ncontours=14,
        colorbar=dict(title=dict(text=i18n.text("lecture.hard.score", lang)), thickness=12),
        hoverinfo="skip", contours=dict(coloring="heatmap")))
    normal = result.train_kind == -1
    fig.add_trace(go.Scatter(x=result.train[normal, 0], y=result.train[normal, 1], mode="markers",
                             name=i18n.text("lecture.hard.normal_train", lang),
                             marker=dict(size=5, color=COLOURS["normal"], opacity=0.7)))
    seen = result.train_kind >= 0
    fig.add_trace(go.Scatter(x=result.train[seen, 0], y=result.train[seen, 1], mode="markers",
                             name=i18n.text("lecture.hard.seen_train", lang, n=int(seen.sum())),
                             marker=dict(size=11, symbol="diamond", color=COLOURS["anomaly"],
                                         line=dict(width=1, color="#333333"))))
    unseen = result.test_kind == len(KINDS) - 1
    fig.add_trace(go.Scatter(x=result.test[unseen, 0], y=result.test[unseen, 1], mode="markers",
                             name=i18n.text("lecture.hard.unseen_test", lang),
                             marker=dict(size=9, symbol="x", color=COLOURS["negative"])))
    for kind in SEEN:
        (cx, cy), _ = KINDS[kind]
        fig.add_annotation(x=cx, y=cy + 1.2, text=i18n.text("lecture.hard.seen_kind", lang), showarrow=False)
    (cx, cy), _ = KINDS[-1]
    fig.add_annotation(x=cx, y=cy + 1.3, text=i18n.text("lecture.hard.unseen_kind", lang), showarrow=False)
    fig.update_xaxes(title=None, range=[xs[0], xs[-1]], zeroline=False)
    fig.update_yaxes(title=None, range=[ys[0], ys[-1]], zeroline=False, scaleanchor="x")
    return _style(fig, i18n.text(f"lecture.hard.figure_{detector}", lang), height=480,
                  legend=dict(orientation="h", x=0.0, y=-0.08, xanchor="left", yanchor="top"))
