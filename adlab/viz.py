"""Plotly figure builders for the app (no streamlit here).

Every builder takes numpy arrays and returns a ``plotly.graph_objects.Figure`` with fonts large
enough to read on a projector. A builder that writes words (titles, axes, legends, annotations) takes
``lang`` (``"en"``, the default and the CLI's, or ``"ko"``) and says them from :mod:`adlab.i18n`'s
catalogue (``common.viz.*``); the texts a caller passes in (``title=``, ``titles=``) it shows as given.
Colours are fixed across the app: normal = blue, anomaly = orange, positive = green, negative = red;
triplet categories easy / semi-hard / hard = grey / orange / red.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots
from sklearn.metrics import roc_auc_score, roc_curve

from adlab import i18n

__all__ = [
    "COLOURS",
    "breakdown_bar_figure",
    "circle_batch_figure",
    "group_name",
    "loss_curve_figure",
    "roc_figure",
    "score_histogram_figure",
    "triplet_counts_figure",
    "template",
    "umap_pair_figure",
]

COLOURS: dict[str, str] = {
    "normal": "#1f77b4",
    "anomaly": "#ff7f0e",
    "anchor": "#111111",
    "positive": "#2ca02c",
    "negative": "#d62728",
    "easy": "#9e9e9e",
    "semi-hard": "#ff9f1c",
    "hard": "#d62728",
    "other": "#c7c7c7",
}
FONT_SIZE = 16
#: Latin faces first (plotly_white's), then Korean ones: a browser and kaleido's Chromium take each glyph
#: from the first face that has it, so Hangul never falls back to boxes where a CJK font is installed
FONT_FAMILY = ('"Open Sans", verdana, arial, "Noto Sans CJK KR", "Noto Sans KR", "Apple SD Gothic Neo", '
               '"Malgun Gothic", "NanumGothic", sans-serif')
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


_LEGEND_BELOW = dict(orientation="h", x=0.0, y=-0.12, xanchor="left", yanchor="top")
_LEGEND_INSIDE = dict(x=0.98, y=0.02, xanchor="right", yanchor="bottom", bgcolor="rgba(255,255,255,0.8)")


#: the trace types adlab draws: their plotly_white defaults are kept in :func:`template`
TRACE_TYPES = ("bar", "contour", "heatmap", "histogram", "scatter", "scattergl")


@functools.cache
def template() -> go.layout.Template:
    """plotly_white as adlab uses it: its layout and the trace defaults of :data:`TRACE_TYPES`, built once.

    Naming ``"plotly_white"`` in a layout makes plotly validate and copy the defaults of all 24 trace
    types for every figure (about 50 ms each, most of a page's render on a busy server); this object
    draws the same figures for the types adlab uses at a quarter of that. Its font family ends in Korean
    faces (:data:`FONT_FAMILY`), so Korean texts render on screen and in PNG exports. Never mutated.
    """
    white = pio.templates["plotly_white"]
    layout = go.Layout(white.layout)
    layout.font.family = FONT_FAMILY
    return go.layout.Template(layout=layout, data={kind: white.data[kind] for kind in TRACE_TYPES})


def _t(key: str, lang: str, **fields) -> str:
    """The figure text ``common.viz.<key>`` in ``lang``."""
    return i18n.text(f"common.viz.{key}", lang, **fields)


def group_name(group: str, lang: str = "en") -> str:
    """A legend name for one of :data:`COLOURS`' groups (``"anchor"``, ``"semi-hard"``, ``"normal"``, ...) in
    ``lang``; any other name as it is."""
    key = f"common.viz.group.{group}"
    return i18n.text(key, lang) if key in i18n.catalogue(lang) else str(group)


def _style(fig: go.Figure, title: str = "", height: int = 420, legend: dict | None = None) -> go.Figure:
    fig.update_layout(
        template=template(),
        title=dict(text=title, font=dict(size=FONT_SIZE + 4)) if title else None,
        font=dict(size=FONT_SIZE),
        height=height,
        margin=dict(l=60, r=20, t=70 if title else 40, b=60),
        legend=dict(font=dict(size=FONT_SIZE), **(legend or {})),
    )
    return fig


def umap_pair_figure(
    before2d: np.ndarray,
    after2d: np.ndarray,
    is_anomaly: np.ndarray,
    hover: Sequence[str] | None = None,
    titles: tuple[str, str] | None = None,
    *,
    lang: str = "en",
) -> go.Figure:
    """Two scatter panels of the same points, normal in blue and anomalies in orange.

    Shapes: ``before2d``, ``after2d`` ``(n, 2)``; ``is_anomaly`` ``(n,)`` bool; ``hover`` ``n``
    strings (e.g. class names) shown on mouse-over. Traces: per panel ``normal`` then ``anomaly``
    (their legend names in ``lang``). ``titles``: the panels' titles, by default "Before training
    (random encoder)" and "After training" in ``lang``.
    """
    before2d, after2d = np.asarray(before2d), np.asarray(after2d)
    is_anomaly = np.asarray(is_anomaly, dtype=bool)
    if before2d.shape != after2d.shape or before2d.ndim != 2 or before2d.shape[1] != 2:
        raise ValueError(f"before2d and after2d must both be (n, 2), got {before2d.shape} and {after2d.shape}")
    if is_anomaly.shape != (len(before2d),):
        raise ValueError(f"is_anomaly must have shape ({len(before2d)},), got {is_anomaly.shape}")
    text = np.asarray(hover if hover is not None else [""] * len(before2d), dtype=object)
    if titles is None:
        titles = (_t("before_random", lang), _t("after", lang))
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.06)
    for col, xy in enumerate((before2d, after2d), start=1):
        for name, mask in (("normal", ~is_anomaly), ("anomaly", is_anomaly)):
            fig.add_trace(
                go.Scatter(
                    x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=group_name(name, lang), legendgroup=name,
                    showlegend=col == 1, hovertext=text[mask], hoverinfo="text+name",
                    marker=dict(color=COLOURS[name], size=8 if name == "anomaly" else 6,
                                opacity=0.9 if name == "anomaly" else 0.6,
                                symbol="diamond" if name == "anomaly" else "circle"),
                ),
                row=1, col=col,
            )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_annotations(font_size=FONT_SIZE + 2)
    return _style(fig, height=460)


def loss_curve_figure(step_losses: Sequence[float], epoch_losses: Sequence[float], *, lang: str = "en") -> go.Figure:
    """Loss per optimisation step (thin line) and the mean of each epoch (markers at the epoch end)."""
    steps = np.arange(1, len(step_losses) + 1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=steps, y=np.asarray(step_losses, dtype=float), mode="lines",
                             name=_t("per_step", lang), line=dict(width=1, color="#9ecae1")))
    if len(epoch_losses):
        per_epoch = len(step_losses) / len(epoch_losses)
        x = per_epoch * np.arange(1, len(epoch_losses) + 1)
        fig.add_trace(go.Scatter(x=x, y=np.asarray(epoch_losses, dtype=float), mode="lines+markers",
                                 name=_t("epoch_mean", lang), line=dict(width=3, color=COLOURS["normal"])))
    fig.update_xaxes(title=_t("step", lang))
    fig.update_yaxes(title=_t("loss", lang))
    return _style(fig, _t("training_loss", lang), height=360, legend=dict(x=0.98, y=0.98, xanchor="right", yanchor="top"))


def roc_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], *, lang: str = "en") -> go.Figure:
    """ROC curves, one per entry ``name -> (is_anomaly (n,), scores (n,))``; AUROC in the legend.

    The names are shown as given (the caller says them in ``lang``); the axes and the chance line in ``lang``.

    Scores follow the project convention (higher = more anomalous). A dashed diagonal marks chance.
    """
    fig = go.Figure()
    for i, (name, (is_anomaly, scores)) in enumerate(curves.items()):
        y = np.asarray(is_anomaly, dtype=bool)
        s = np.asarray(scores, dtype=float)
        fpr, tpr, _ = roc_curve(y, s)
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=_t("auroc_name", lang, name=name, auroc=roc_auc_score(y, s)),
                                 line=dict(width=3, color=_PALETTE[i % len(_PALETTE)])))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=_t("chance", lang),
                             line=dict(dash="dash", color="#999999", width=1)))
    fig.update_xaxes(title=_t("fpr", lang), range=[0, 1])
    fig.update_yaxes(title=_t("tpr", lang), range=[0, 1.02])
    return _style(fig, _t("roc_title", lang), height=420, legend=_LEGEND_INSIDE)


def _score_bins(scores: np.ndarray, n_bins: int = 40) -> tuple[float, float, float, np.ndarray, bool]:
    """``(lo, hi, size, shown, clipped)``: ``n_bins`` bins from the minimum to the 99th percentile;
    ``shown`` has the larger scores moved into the last bin (``clipped`` says whether any were)."""
    lo, hi = float(scores.min()), float(np.quantile(scores, 0.99))
    clipped = bool(scores.max() > hi) and hi > lo
    if not hi > lo:
        hi = lo + 1e-9 if scores.max() <= lo else float(scores.max())
    size = (hi - lo) / n_bins
    shown = np.minimum(scores, hi - size / 2) if clipped else scores
    return lo, hi, size, shown, clipped


def _score_axis(hi: float, clipped: bool, lang: str = "en") -> str:
    """The x-axis title of a score histogram, short enough for a half-width chart."""
    return _t("score_axis", lang) + (_t("last_bin", lang, hi=hi) if clipped else "")


def score_histogram_figure(scores: np.ndarray, is_anomaly: np.ndarray, title: str | None = None, *,
                           lang: str = "en") -> go.Figure:
    """Overlaid histograms of the scores of normal (blue) and anomalous (orange) test points.

    ``title`` defaults to "Anomaly scores" in ``lang``; legend and axes are in ``lang``.

    Both groups share the same 40 bins, so their shapes compare; bins span the scores up to their
    99th percentile and the rare larger scores are counted in the last bin (said on the axis), so
    one far outlier cannot squeeze everything else into a single bar.
    """
    scores = np.asarray(scores, dtype=float)
    is_anomaly = np.asarray(is_anomaly, dtype=bool)
    lo, hi, size, shown, clipped = _score_bins(scores)
    fig = go.Figure()
    for name, mask in (("normal", ~is_anomaly), ("anomaly", is_anomaly)):
        fig.add_trace(go.Histogram(x=shown[mask], name=group_name(name, lang), marker_color=COLOURS[name], opacity=0.6,
                                   xbins=dict(start=lo, end=hi, size=size), histnorm="probability"))
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title=_score_axis(hi, clipped, lang))
    fig.update_yaxes(title=_t("fraction", lang))
    return _style(fig, _t("anomaly_scores", lang) if title is None else title, height=360, legend=dict(x=0.98, y=0.98, xanchor="right", yanchor="top"))


def score_distribution_figure(scores: np.ndarray, flag_fraction: float = 0.05,
                              title: str | None = None, *, lang: str = "en") -> go.Figure:
    """One histogram of unlabelled scores with the threshold that flags the top ``flag_fraction``.

    ``title`` defaults to "Anomaly scores of every row" in ``lang``; legend, axes and the threshold's label
    are in ``lang``.

    Bins as :func:`score_histogram_figure` (up to the 99th percentile, larger scores in the last bin).
    """
    scores = np.asarray(scores, dtype=float)
    threshold = float(np.quantile(scores, 1.0 - flag_fraction))
    lo, hi, size, shown, clipped = _score_bins(scores)
    fig = go.Figure(go.Histogram(x=shown, name=_t("rows", lang), marker_color=COLOURS["normal"], opacity=0.7,
                                 xbins=dict(start=lo, end=hi, size=size)))
    fig.add_vline(x=min(threshold, hi), line=dict(color=COLOURS["anomaly"], dash="dash", width=2),
                  annotation_text=_t("top", lang, fraction=flag_fraction), annotation_position="top right")
    fig.update_xaxes(title=_score_axis(hi, clipped, lang))
    fig.update_yaxes(title=_t("rows_axis", lang))
    return _style(fig, _t("score_distribution", lang) if title is None else title, height=360)


def embedding_by_score_figure(points: np.ndarray, scores: np.ndarray, hover: Sequence[str] | None = None,
                              title: str | None = None, *, lang: str = "en") -> go.Figure:
    """A 2-D map (``points`` (n, 2)) coloured by anomaly score, the highest drawn on top.

    ``title`` defaults to "UMAP of the detector's features, coloured by score" in ``lang``."""
    points = np.asarray(points, dtype=float)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(scores, kind="stable")
    fig = go.Figure(go.Scattergl(
        x=points[order, 0], y=points[order, 1], mode="markers",
        marker=dict(size=8, color=scores[order], colorscale="Viridis", showscale=True,
                    colorbar=dict(title=_t("score", lang))),
        text=None if hover is None else [hover[i] for i in order], hoverinfo="text" if hover is not None else None,
    ))
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    return _style(fig, _t("umap_by_score", lang) if title is None else title, height=460)


LABEL_FONT_SIZE = 14  # px, text printed on the markers of the circle figure
LABELLED_MARKER_MIN = 28  # px: a two-character label at LABEL_FONT_SIZE fits inside the marker
ANCHOR_MARKER_SIZE = 40  # px: the star's inner pentagon holds the anchor's label
ARROW_LENGTH = 0.5  # data units: the anchor's descent direction is drawn with this length
_CIRCLE_HALF_WIDTH = 1.6  # the axes never show less than [-1.6, 1.6] (the unit circle with room around it)
_CIRCLE_HEIGHT = 600  # px


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour, in ``[0, 1]``."""
    rgb = np.array([int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]) / 255.0
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(lin @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours, from 1 (none) to 21 (black on white)."""
    hi, lo = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_colour_on(colour: str) -> str:
    """Black or white, whichever reads better on a marker of ``colour``."""
    return max(("#111111", "#ffffff"), key=lambda fg: contrast_ratio(fg, colour))


def _square_range(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], pad: float = 0.06) -> tuple[list[float], list[float]]:
    """Equal-length x and y ranges that hold every given coordinate with ``pad`` of the span to
    spare on each side, and never less than ``[-1.6, 1.6]`` (so a small figure does not zoom in)."""
    x, y = np.concatenate([np.ravel(v) for v in xs]), np.concatenate([np.ravel(v) for v in ys])
    lo = np.minimum([x.min(), y.min()], -_CIRCLE_HALF_WIDTH)
    hi = np.maximum([x.max(), y.max()], _CIRCLE_HALF_WIDTH)
    centre, half = (lo + hi) / 2.0, float((hi - lo).max()) / 2.0
    if half > _CIRCLE_HALF_WIDTH:  # something reaches past the default box: zoom out, with room to spare
        half *= 1.0 + pad
    return [float(centre[0] - half), float(centre[0] + half)], [float(centre[1] - half), float(centre[1] + half)]


def circle_batch_figure(
    points: np.ndarray,
    anchor: int,
    groups: Sequence[str],
    sizes: np.ndarray,
    *,
    hover: Sequence[str] | None = None,
    text: Sequence[str] | None = None,
    rings: Sequence[tuple[float, str]] = (),
    step: np.ndarray | None = None,
    title: str = "",
    lang: str = "en",
) -> go.Figure:
    """A small batch on the unit circle seen from one anchor.

    ``points`` ``(n, 2)``; ``groups`` ``n`` legend names (``"anchor"``, ``"positive"``,
    ``"negative"``, ``"easy"``, ``"semi-hard"``, ``"hard"``, ``"other"``), one trace each, coloured
    by :data:`COLOURS`; ``sizes`` ``(n,)`` in ``[0, 1]`` scale the markers (the term's weight);
    ``text`` is printed on the markers (e.g. the class) in black or white, whichever contrasts more
    with the marker, and a labelled marker is never smaller than :data:`LABELLED_MARKER_MIN` pixels;
    ``rings`` are ``(radius, name)`` circles around the anchor (Euclidean radius); ``step`` ``(2,)``
    draws the anchor's gradient-descent direction as an arrow of length :data:`ARROW_LENGTH`.
    The axes are square and hold every ring, point and the arrow (never less than ``[-1.6, 1.6]``).
    Trace order: unit circle, rings, the groups in order of appearance, the anchor last (on top).
    The unit circle's and the groups' legend names are in ``lang`` (:func:`group_name`); ``title`` and the
    rings' names are shown as given.
    """
    points = np.asarray(points, dtype=float)
    groups = np.asarray(groups, dtype=object)
    sizes = np.clip(np.asarray(sizes, dtype=float), 0.0, 1.0)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (n, 2), got {points.shape}")
    if len(groups) != len(points) or len(sizes) != len(points):
        raise ValueError("groups and sizes must have one entry per point")
    if not 0 <= anchor < len(points):
        raise ValueError(f"anchor must be a row of points (0..{len(points) - 1}), got {anchor!r}")
    hover_arr = np.asarray(hover if hover is not None else [""] * len(points), dtype=object)
    text_arr = np.asarray(text if text is not None else [""] * len(points), dtype=object)
    labelled = np.array([bool(str(t)) for t in text_arr])
    # marker diameter in pixels: the term's weight on top of a floor that keeps a label readable
    px = np.where(labelled, LABELLED_MARKER_MIN + 26 * sizes, 10 + 30 * sizes)
    px[anchor] = ANCHOR_MARKER_SIZE
    t = np.linspace(0.0, 2.0 * np.pi, 181)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.cos(t), y=np.sin(t), mode="lines", name=_t("unit_circle", lang),
                             line=dict(color="#dddddd", width=1), hoverinfo="skip"))
    a = points[anchor]
    xs, ys = [np.cos(t), points[:, 0]], [np.sin(t), points[:, 1]]
    for (radius, name), dash in zip(rings, ("dot", "dash", "dashdot"), strict=False):
        rx, ry = a[0] + radius * np.cos(t), a[1] + radius * np.sin(t)
        xs.append(rx)
        ys.append(ry)
        fig.add_trace(go.Scatter(x=rx, y=ry, mode="lines", name=name,
                                 line=dict(color="#555555", width=2, dash=dash), hoverinfo="skip"))
    order = [g for g in dict.fromkeys(groups) if g != "anchor"] + (["anchor"] if "anchor" in groups else [])
    for group in order:  # order of first appearance, the anchor last so that it is drawn on top
        mask = groups == group
        colour = COLOURS.get(str(group), "#7f7f7f")
        fig.add_trace(go.Scatter(
            x=points[mask, 0], y=points[mask, 1], mode="markers+text", name=group_name(str(group), lang),
            text=text_arr[mask], textposition="middle center",
            textfont=dict(color=text_colour_on(colour), size=LABEL_FONT_SIZE),
            hovertext=hover_arr[mask], hoverinfo="text",
            marker=dict(color=colour, size=px[mask], line=dict(color="white", width=1),
                        symbol="star" if group == "anchor" else "circle"),
        ))
    if step is not None and float(np.linalg.norm(step)) > 1e-9:
        tip = a + ARROW_LENGTH * np.asarray(step, dtype=float) / float(np.linalg.norm(step))
        xs.append(tip[:1])
        ys.append(tip[1:])
        fig.add_annotation(x=tip[0], y=tip[1], ax=a[0], ay=a[1], xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=3, arrowwidth=3, arrowcolor=COLOURS["anchor"], text="")
    xr, yr = _square_range(xs, ys)
    fig.update_xaxes(range=xr, showgrid=False, zeroline=False, showticklabels=False, constrain="domain")
    fig.update_yaxes(range=yr, showgrid=False, zeroline=False, showticklabels=False,
                     scaleanchor="x", scaleratio=1, constrain="domain")
    return _style(fig, title, height=_CIRCLE_HEIGHT, legend=_LEGEND_BELOW)


def breakdown_bar_figure(
    labels: Sequence[str],
    share: np.ndarray,
    grad_weight: np.ndarray,
    roles: Sequence[str],
    *,
    share_title: str | None = None,
    lang: str = "en",
) -> go.Figure:
    """Per-term bars for one anchor: its share of the loss (top) and its gradient weight (bottom).

    ``labels``, ``roles`` (``"positive"``/``"negative"``), ``share`` and ``grad_weight`` have one
    entry per term. A negative gradient weight pulls the anchor toward the point, a positive one
    pushes it away. Traces: one per role in each row (legend names in ``lang``). ``share_title`` (the top
    row's title) defaults to "share of the denominator" in ``lang``.
    """
    labels = np.asarray(labels, dtype=object)
    roles = np.asarray(roles, dtype=object)
    share, grad_weight = np.asarray(share, dtype=float), np.asarray(grad_weight, dtype=float)
    if not (len(labels) == len(roles) == len(share) == len(grad_weight)):
        raise ValueError("labels, share, grad_weight and roles must have the same length")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=(_t("share", lang) if share_title is None else share_title,
                                        _t("gradient_weight", lang)))
    for row, values in ((1, share), (2, grad_weight)):
        for role in ("positive", "negative"):
            mask = roles == role
            if mask.any():
                fig.add_trace(go.Bar(x=labels[mask], y=values[mask], name=group_name(role, lang), legendgroup=role,
                                     showlegend=row == 1, marker_color=COLOURS[role]), row=row, col=1)
    fig.update_xaxes(categoryorder="array", categoryarray=list(labels), type="category")
    fig.update_xaxes(tickangle=-45, row=2, col=1)
    fig.update_annotations(font_size=FONT_SIZE)
    return _style(fig, height=500, legend=dict(orientation="h", x=1.0, y=1.08, xanchor="right", yanchor="bottom"))


def triplet_counts_figure(counts: Sequence[Mapping[str, int]], *, lang: str = "en") -> go.Figure:
    """Stacked bars, per epoch, of the percentage of the batches' valid triplets that were easy,
    semi-hard or hard (FaceNet's categories); the raw counts show on hover."""
    epochs = np.arange(1, len(counts) + 1)
    keys = (("easy", "easy"), ("semi_hard", "semi-hard"), ("hard", "hard"))
    raw = np.array([[int(c.get(k, 0)) for k, _ in keys] for c in counts], dtype=float).reshape(-1, 3)
    total = np.maximum(raw.sum(1, keepdims=True), 1.0)
    fig = go.Figure()
    for j, (_, name) in enumerate(keys):
        fig.add_trace(go.Bar(x=epochs, y=100.0 * raw[:, j] / total[:, 0], name=group_name(name, lang),
                             marker_color=COLOURS[name], customdata=raw[:, j],
                             hovertemplate=_t("triplets_hover", lang)))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title=_t("epoch", lang), dtick=1)
    fig.update_yaxes(title=_t("valid_triplets", lang), range=[0, 100])
    return _style(fig, _t("triplet_categories", lang), height=360)
