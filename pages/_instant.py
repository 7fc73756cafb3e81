"""A loss page's instant view: the knobs it shares with the training form (:class:`Link`), its
figures, and the per-anchor explorer of a trained run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from adlab import viz
from adlab.contrastive import ContrastiveRun
from adlab.data import Split
from adlab.instant import InstantView, explore_anchor
from adlab.jobs import content_hash

try:
    from pages import _state as state
except ImportError:  # a page file run on its own (AppTest)
    import _state as state
try:
    from pages._data import class_names
    from pages._page import chart, shared_figures
except ImportError:  # a page file run on its own (AppTest)
    from _data import class_names
    from _page import chart, shared_figures


@dataclass(frozen=True)
class Link:
    """One knob drawn twice on a loss page: a control of the instant view (session key ``instant``)
    and a field of the training form (key ``train``); ``name`` is how the page writes it (``"m"``)."""

    instant: str
    train: str
    name: str


def _shown(value: Any) -> str:
    """A knob's value as the page writes it: ``0.2``, ``on``/``off``, or the option's name."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _same(a: Any, b: Any) -> bool:
    """Whether two knob values are the same setting (numbers compared as floats)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def start_from_instant(links: Sequence[Link]) -> None:
    """Give each linked form field the instant view's value when the field has none yet.

    Call before the form is drawn (after the instant view). A field that already has a value (the
    user's, or a link's: a link that sets both keeps both) is left alone.
    """
    for link in links:
        if link.train not in st.session_state and link.instant in st.session_state:
            st.session_state[link.train] = st.session_state[link.instant]


def differing_links(links: Sequence[Link]) -> list[Link]:
    """The links whose training-form value differs from the instant view's (a field not drawn yet
    counts as equal: :func:`start_from_instant` will give it the instant value)."""
    return [link for link in links if link.train in st.session_state and link.instant in st.session_state
            and not _same(st.session_state[link.train], st.session_state[link.instant])]


def _copy_to_form(links: Sequence[Link]) -> None:
    """Button callback: the instant view's values into the form, then a full rerun to redraw the form
    (a button inside a fragment reruns only the fragment)."""
    for link in links:
        st.session_state[link.train] = st.session_state[link.instant]
    st.rerun(scope="app")


def end_instant_view(page: str, links: Sequence[Link] = ()) -> None:
    """Last call inside an instant view's ``@st.fragment``.

    Says whether the training form below uses the same values as the instant view, with a button
    that copies them into the form, and writes the page's settings to the URL. Moving a control of
    the fragment reruns only the fragment, so without this the address bar would keep the values of
    the last full run.
    """
    differ = differing_links(links)
    if differ:
        form = ", ".join(f"{link.name} = {_shown(st.session_state[link.train])}" for link in differ)
        here = ", ".join(f"{link.name} = {_shown(st.session_state[link.instant])}" for link in differ)
        st.info(f"The training form below uses {form}; this view shows {here}.", icon=":material/link_off:")
        st.button(f"Use this view's {' and '.join(link.name for link in differ)} in the training form",
                  key=f"_{page}_copy_to_form", on_click=_copy_to_form, args=(tuple(differ),),
                  help="Copies these values into the training form below.")
    elif links:
        st.caption(f"The training form below uses the same {' and '.join(link.name for link in links)}.")
    state.sync(page)


def loss_metrics(view: InstantView, *, slide: bool = False, batch: str = "Batch loss") -> None:
    """The batch's and the anchor's loss; with ``slide`` (the view computed with ``slide=True``) the
    paper's in one column and the seminar slide's beside it, with its difference from the paper's."""
    if not slide:
        st.metric(batch, f"{view.loss:.4f}")
        st.metric("This anchor's loss", f"{view.anchor_loss:.4f}")
        return
    paper, theirs = st.columns(2)
    for what, ours, slides in (("batch", view.loss, view.slide_loss), ("anchor", view.anchor_loss,
                                                                       view.slide_anchor_loss)):
        paper.metric(f"Paper's {what} loss", f"{ours:.4f}")
        theirs.metric(f"Slide's {what} loss", f"{slides:.4f}", delta=f"{slides - ours:+.4f} vs paper",
                      delta_color="off")


def paper_and_slide(paper: str, slide: str, note: str, *, paper_name: str = "The paper") -> None:
    """The paper's formula beside the seminar slide's (LaTeX, the slide's as the slide writes it)."""
    left, right = st.columns(2)
    left.markdown(f"**{paper_name}**")
    left.latex(paper)
    right.markdown("**The seminar slide**")
    right.latex(slide)
    st.caption(note)


def instant_figure(view: InstantView, title: str = ""):
    """The circle figure of an instant view, with a hover line per point; built once per server for
    views with the same content (a room moving the same slider to the same values builds it once)."""
    return shared_figures().get(("instant_figure", title, content_hash(view)), lambda: _instant_figure(view, title))


def _instant_figure(view: InstantView, title: str):
    bd, b = view.breakdown, view.batch
    term = {int(r): k for k, r in enumerate(view.rows)}
    value_name = bd.similarity_name  # "distance", "a·p" or "logit"
    hover = []
    for i in range(len(b.tags)):
        if i == view.anchor:
            hover.append(f"anchor #{i} (label {b.labels[i]}), loss {bd.loss:.4f}")
        elif i in term:
            k = term[i]
            hover.append(f"#{i} {bd.role[k]} (label {b.labels[i]})<br>{value_name} {bd.similarity[k]:.3f}"
                         f"<br>share {bd.denominator_share[k]:.3f}<br>grad weight {bd.grad_weight[k]:+.3f}")
        else:
            hover.append(f"#{i} (label {b.labels[i]}) not in this anchor's loss")
    return viz.circle_batch_figure(b.points, view.anchor, view.groups, view.sizes, hover=hover,
                                   text=list(b.tags), rings=view.rings, step=view.step, title=title)


def breakdown_figure(view: InstantView):
    """Bars of share and gradient weight for the terms of an instant view (shared like :func:`instant_figure`)."""
    return shared_figures().get(("breakdown_figure", content_hash(view)), lambda: _breakdown_figure(view))


def _breakdown_figure(view: InstantView):
    bd = view.breakdown
    labels = [f"#{r} ({view.batch.tags[r]})" for r in view.rows]
    return viz.breakdown_bar_figure(labels, bd.denominator_share, bd.grad_weight, bd.role, share_title=bd.share_name)


# ----------------------------------------------------------------------------- explorer
def explorer(page: str, stored: dict[str, Any], *, max_bars: int = 24) -> None:
    """Pick a test point; show what each positive and negative contributes to its loss."""
    run: ContrastiveRun = stored["run"]
    split: Split = stored["split"]
    cfg = run.config
    names = class_names(stored)
    st.subheader("Per-anchor explorer")
    st.caption("Pick a test point. It becomes the anchor of a batch drawn from the test set and embedded "
               "by the trained model (the loss space, i.e. the head's output); the table lists its "
               "positives and negatives and what each one adds to the loss and to the anchor's gradient.")
    first_anomaly = int(np.flatnonzero(run.is_anomaly)[0]) if run.is_anomaly.any() else 0
    row = int(st.number_input("Test point", 0, len(split.X_test) - 1, first_anomaly, key=f"{page}_probe"))
    kind = "anomalous" if run.is_anomaly[row] else "normal"
    st.markdown(f"Test point **#{row}**: class **{names[split.y_test[row]]}** ({kind}); anomaly score "
                f"{run.scores_before[row]:.3f} before → **{run.scores_after[row]:.3f}** after training.")
    try:
        # once per run and row for every session showing this run (the same job's result)
        res = shared_figures().get(("explore", row), lambda: explore_anchor(
            run.model, split.X_test, split.y_test, row, cfg, data_kind=split.kind, seed=row), owner=run)
    except ValueError as err:
        st.info(str(err))
        return
    bd = res.breakdown
    if bd.note:
        st.info(bd.note)
    order = np.argsort(-np.abs(bd.grad_weight), kind="stable")  # strongest terms first
    rows, views = res.rows[bd.index][order], res.views[bd.index][order]
    role, share, weight, sim = bd.role[order], bd.denominator_share[order], bd.grad_weight[order], bd.similarity[order]
    view_txt = np.where(views > 0, np.char.add(" v", views.astype(str)), "")
    labels = [f"#{r}{v} ({names[split.y_test[r]]})" for r, v in zip(rows, view_txt, strict=True)]
    c1, c2 = st.columns([1, 2])
    c1.metric("Anchor's loss", f"{bd.loss:.4f}")
    c1.markdown(f"{int((role == 'positive').sum())} positives, {int((role == 'negative').sum())} negatives.")
    if cfg.positives == "augmentation":
        c1.caption("Without labels the only positive is the anchor's other view: points of its own class are "
                   "negatives too (a 'class collision').")
    table = {
        "test point": rows, **({"view": views} if views.any() else {}), "class": [names[split.y_test[r]] for r in rows],
        "anomalous": run.is_anomaly[rows], "role": role,
        (bd.similarity_name if bd.similarity_name == "distance" else f"similarity ({bd.similarity_name})"):
            np.round(sim, 4),
        "share": np.round(share, 4), "grad weight": np.round(weight, 4),
    }
    c2.dataframe(table, hide_index=True, height=260, key=f"{page}_explorer_table")
    top = slice(0, max_bars)
    bars = shared_figures().get(("explorer_bars", row, tuple(names), max_bars), lambda: viz.breakdown_bar_figure(
        np.asarray(labels)[top], share[top], weight[top], role[top], share_title=bd.share_name), owner=run)
    chart(bars, f"{page}_explorer_bars")
    if len(bd.index) > max_bars:
        st.caption(f"The bars show the {max_bars} terms with the largest gradient weight; the table lists all "
                   f"{len(bd.index)}.")
