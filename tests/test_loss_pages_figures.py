"""The instant views' circle figure fits: at every slider extreme each ring, arrow and point lies inside
the (square) axes, and the labels on the points are large enough and contrast with their markers."""

import itertools

import numpy as np
import pytest

from adlab import instant, viz
from adlab.losses import NPairConfig, SimCLRConfig, SupConConfig, TripletConfig
from pages import _ui as ui

MIN_FONT = 12  # px: the smallest label text we call readable
MIN_LABELLED_MARKER = 24  # px: a marker that holds a two-character label at MIN_FONT
MIN_CONTRAST = 4.5  # WCAG AA for normal text


def _views():
    """Every view at the extremes of its page's controls (the sliders' min and max)."""
    cb, pb, vb = instant.class_batch(), instant.pair_batch(), instant.view_batch()
    for margin, squared, anchor in itertools.product((0.0, 1.0), (True, False), range(len(cb.points))):
        distance = "squared_euclidean" if squared else "euclidean"
        yield f"triplet m={margin} squared={squared} a={anchor}", instant.view(
            "triplet", cb, anchor, TripletConfig(margin=margin, distance=distance))
    for norm, normalize, l2, anchor in itertools.product((0.25, 4.0), (False, True), (0.0, 0.05), range(5)):
        if l2 == 0.0 and (normalize or norm < 1):  # the penalty only turns the arrow when unnormalised
            continue
        yield f"npair norm={norm} normalize={normalize} l2={l2} a={anchor}", instant.view(
            "npair", pb, anchor, NPairConfig(normalize=normalize, l2_reg=l2), norm=norm)
    for tau, variant, anchor in itertools.product((0.02, 1.0), ("out", "in"), range(0, 12, 3)):
        yield f"supcon tau={tau} {variant} a={anchor}", instant.view(
            "supcon", cb, anchor, SupConConfig(temperature=tau, variant=variant))
    for tau, decoupled, anchor in itertools.product((0.02, 1.0), (False, True), range(0, 12, 3)):
        yield f"simclr tau={tau} decoupled={decoupled} a={anchor}", instant.view(
            "simclr", vb, anchor, SimCLRConfig(temperature=tau, decoupled=decoupled))


@pytest.fixture(scope="module")
def figures():
    """``(name, view, figure)`` for every extreme, the figure as the pages draw it."""
    return [(name, view, ui.instant_figure(view, "title")) for name, view in _views()]


def _inside(values, lo, hi, pad=0.0) -> bool:
    values = np.asarray(values, dtype=float)
    return bool(((values - pad >= lo) & (values + pad <= hi)).all())


def test_every_ring_arrow_and_point_lies_inside_the_axes(figures):
    failures = []
    for name, _, fig in figures:
        (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
        assert x1 - x0 == pytest.approx(y1 - y0), f"{name}: the axes must be square"
        assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
        # the plot area is a square at most this many pixels high: data units per pixel
        units_per_px = (y1 - y0) / (fig.layout.height - fig.layout.margin.t - fig.layout.margin.b)
        for trace in fig.data:
            radius = 0.0
            if trace.mode and "markers" in trace.mode:
                radius = float(np.max(trace.marker.size)) / 2 * units_per_px  # the whole marker, not its centre
            if not (_inside(trace.x, x0, x1, radius) and _inside(trace.y, y0, y1, radius)):
                failures.append(f"{name}: trace {trace.name!r} leaves the axes")
        for arrow in fig.layout.annotations:
            if not (_inside([arrow.x, arrow.ax], x0, x1) and _inside([arrow.y, arrow.ay], y0, y1)):
                failures.append(f"{name}: the arrow leaves the axes")
        assert {"unit circle"} <= {t.name for t in fig.data}
    assert not failures, failures[:10]


def test_rings_and_arrow_are_drawn_where_the_view_puts_them():
    view = instant.view("triplet", instant.class_batch(), 0, TripletConfig(margin=1.0))
    fig = ui.instant_figure(view)
    a = view.batch.points[0]
    for (radius, name), trace in zip(view.rings, fig.data[1:3], strict=True):
        assert trace.name == name
        r = np.hypot(np.asarray(trace.x) - a[0], np.asarray(trace.y) - a[1])
        np.testing.assert_allclose(r, radius)
    (arrow,) = fig.layout.annotations
    tip = np.array([arrow.x, arrow.y]) - a
    assert np.linalg.norm(tip) == pytest.approx(viz.ARROW_LENGTH)
    np.testing.assert_allclose(tip / np.linalg.norm(tip), view.step / np.linalg.norm(view.step))


def test_small_margins_keep_the_default_view():
    """No zooming in or out while everything fits the usual box: the circle stays put."""
    fig = ui.instant_figure(instant.view("supcon", instant.class_batch(), 0, SupConConfig(temperature=0.1)))
    assert list(fig.layout.xaxis.range) == pytest.approx([-1.6, 1.6])
    assert list(fig.layout.yaxis.range) == pytest.approx([-1.6, 1.6])


def test_point_labels_are_readable(figures):
    for name, _, fig in figures:
        for trace in fig.data:
            if trace.mode is None or "text" not in trace.mode or trace.text is None:
                continue
            if not any(str(t) for t in trace.text):
                continue
            assert trace.textfont.size >= MIN_FONT, f"{name}: {trace.name} labels at {trace.textfont.size}px"
            sizes = np.atleast_1d(np.asarray(trace.marker.size, dtype=float))
            assert sizes.min() >= MIN_LABELLED_MARKER, f"{name}: a labelled {trace.name} marker of {sizes.min()}px"
            ratio = viz.contrast_ratio(trace.textfont.color, trace.marker.color)
            assert ratio >= MIN_CONTRAST, f"{name}: {trace.name} label contrast {ratio:.2f}"


@pytest.mark.parametrize(("fg", "bg", "expected"), [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0),
                                                     ("#777777", "#ffffff", 4.48)])
def test_contrast_ratio_matches_wcag(fg, bg, expected):
    assert viz.contrast_ratio(fg, bg) == pytest.approx(expected, abs=0.01)


def test_every_group_colour_gets_a_readable_label_colour():
    for group, colour in viz.COLOURS.items():
        assert viz.contrast_ratio(viz.text_colour_on(colour), colour) >= MIN_CONTRAST, group
