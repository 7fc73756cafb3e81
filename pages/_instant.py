"""A loss page's instant view: the knobs it shares with the training form (:class:`Link`), its
figures, and the per-anchor explorer of a trained run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from adlab import i18n, viz
from adlab.contrastive import ContrastiveRun
from adlab.data import Split
from adlab.instant import InstantView, explore_anchor
from adlab.jobs import content_hash

try:
    from pages import _i18n as i18n_ui
    from pages import _state as state
except ImportError:  # a page file run on its own (AppTest)
    import _i18n as i18n_ui
    import _state as state
try:
    from pages._data import class_names
    from pages._page import chart, shared_figures
except ImportError:  # a page file run on its own (AppTest)
    from _data import class_names
    from _page import chart, shared_figures


t = i18n_ui.t

# what an AnchorBreakdown's English names and notes are called in the catalogue (a loss registered
# elsewhere may bring names of its own: they are shown as they are)
VALUE_NAMES = {"distance": "losses.value_name.distance", "a·p": "losses.value_name.ap",
               "logit": "losses.value_name.logit"}
SHARE_NAMES = {"share of the denominator": "losses.share_name.denominator",
               "share of the anchor's hinge loss": "losses.share_name.hinge"}
NOTES = {"no positive: skipped by the loss": "losses.note.no_positive",
         "no valid (positive, negative) pair for this anchor": "losses.note.no_pair"}


def said(names: dict[str, str], english: str, lang: str) -> str:
    """``english`` (a breakdown's ``similarity_name``, ``share_name`` or ``note``) in ``lang``."""
    return i18n.text_or_english(names[english], lang) if english in names else english


@dataclass(frozen=True)
class Link:
    """One knob drawn twice on a loss page: a control of the instant view (session key ``instant``)
    and a field of the training form (key ``train``); ``name`` is the catalogue key of how the page
    writes it (``"losses.triplet.link_margin"``: ``m``)."""

    instant: str
    train: str
    name: str


def _shown(value: Any) -> str:
    """A knob's value as the page writes it: ``0.2``, ``on``/``off``, or the option's name."""
    if isinstance(value, bool):
        return t("losses.link.on") if value else t("losses.link.off")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _names(links: Sequence[Link]) -> str:
    """The links' names, joined as a sentence lists them (``m and squared distances``)."""
    return t("losses.link.join").join(t(link.name) for link in links)


def _values(links: Sequence[Link], side: str) -> str:
    """``name = value, ...`` of the links' ``side`` (``"train"`` or ``"instant"``)."""
    return ", ".join(t("losses.link.value", name=t(link.name), value=_shown(st.session_state[getattr(link, side)]))
                     for link in links)


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
        st.info(t("losses.link.differ", form=_values(differ, "train"), here=_values(differ, "instant")),
                icon=":material/link_off:")
        st.button(t("losses.link.copy", names=_names(differ)), key=f"_{page}_copy_to_form", on_click=_copy_to_form,
                  args=(tuple(differ),), help=t("losses.link.copy_help"))
    elif links:
        st.caption(t("losses.link.same", names=_names(links)))
    state.sync(page)


def loss_metrics(view: InstantView, *, slide: bool = False, batch: str = "") -> None:
    """The batch's and the anchor's loss; with ``slide`` (the view computed with ``slide=True``) the
    paper's in one column and the seminar slide's beside it, with its difference from the paper's.
    ``batch``: the batch loss's label (default: "Batch loss")."""
    if not slide:
        st.metric(batch or t("losses.batch_loss"), f"{view.loss:.4f}")
        st.metric(t("losses.anchor_loss"), f"{view.anchor_loss:.4f}")
        return
    paper, theirs = st.columns(2)
    for what, ours, slides in (("batch", view.loss, view.slide_loss), ("anchor", view.anchor_loss,
                                                                       view.slide_anchor_loss)):
        paper.metric(t(f"losses.paper_{what}_loss"), f"{ours:.4f}")
        theirs.metric(t(f"losses.slide_{what}_loss"), f"{slides:.4f}",
                      delta=t("losses.vs_paper", delta=f"{slides - ours:+.4f}"), delta_color="off")


def paper_and_slide(paper: str, slide: str, note: str, *, paper_name: str = "") -> None:
    """The paper's formula beside the seminar slide's (LaTeX, the slide's as the slide writes it);
    ``paper_name`` heads the paper's side (default: "The paper")."""
    left, right = st.columns(2)
    left.markdown(f"**{paper_name or t('losses.the_paper')}**")
    left.latex(paper)
    right.markdown(f"**{t('losses.seminar_slide')}**")
    right.latex(slide)
    st.caption(note)


def instant_figure(view: InstantView, title: str = ""):
    """The circle figure of an instant view, with a hover line per point; built once per server for
    views with the same content (a room moving the same slider to the same values builds it once), in
    the session's language (:func:`shared_figures` keeps one per language)."""
    lang = i18n_ui.lang()
    return shared_figures().get(("instant_figure", title, content_hash(view)), lambda: _instant_figure(view, title, lang))


def _instant_figure(view: InstantView, title: str, lang: str):
    bd, b = view.breakdown, view.batch
    term = {int(r): k for k, r in enumerate(view.rows)}
    value_name = said(VALUE_NAMES, bd.similarity_name, lang)  # "distance", "a·p" or "logit"
    hover = []
    for i in range(len(b.tags)):
        if i == view.anchor:
            hover.append(i18n.text_or_english("losses.hover.anchor", lang, i=i, label=b.labels[i], loss=bd.loss))
        elif i in term:
            k = term[i]
            hover.append(i18n.text_or_english("losses.hover.term", lang, i=i, role=bd.role[k], label=b.labels[i],
                                              value_name=value_name, value=bd.similarity[k],
                                              share=bd.denominator_share[k], weight=bd.grad_weight[k]))
        else:
            hover.append(i18n.text_or_english("losses.hover.other", lang, i=i, label=b.labels[i]))
    return viz.circle_batch_figure(b.points, view.anchor, view.groups, view.sizes, hover=hover,
                                   text=list(b.tags), rings=view.rings, step=view.step, title=title, lang=lang)


def breakdown_figure(view: InstantView):
    """Bars of share and gradient weight for the terms of an instant view (shared like :func:`instant_figure`)."""
    lang = i18n_ui.lang()
    return shared_figures().get(("breakdown_figure", content_hash(view)), lambda: _breakdown_figure(view, lang))


def _breakdown_figure(view: InstantView, lang: str):
    bd = view.breakdown
    labels = [f"#{r} ({view.batch.tags[r]})" for r in view.rows]
    return viz.breakdown_bar_figure(labels, bd.denominator_share, bd.grad_weight, bd.role,
                                    share_title=said(SHARE_NAMES, bd.share_name, lang), lang=lang)


# ----------------------------------------------------------------------------- explorer
def explorer(page: str, stored: dict[str, Any], *, max_bars: int = 24) -> None:
    """Pick a test point; show what each positive and negative contributes to its loss."""
    run: ContrastiveRun = stored["run"]
    split: Split = stored["split"]
    cfg = run.config
    names = class_names(stored)
    lang = i18n_ui.lang()
    st.subheader(t("losses.explorer.title"))
    st.caption(t("losses.explorer.caption"))
    first_anomaly = int(np.flatnonzero(run.is_anomaly)[0]) if run.is_anomaly.any() else 0
    row = int(st.number_input(t("losses.explorer.test_point"), 0, len(split.X_test) - 1, first_anomaly,
                              key=f"{page}_probe"))
    kind = t("common.anomalous") if run.is_anomaly[row] else t("common.normal")
    st.markdown(t("losses.explorer.point", row=row, label=names[split.y_test[row]], kind=kind,
                  before=run.scores_before[row], after=run.scores_after[row]))
    try:
        # once per run and row for every session showing this run (the same job's result)
        res = shared_figures().get(("explore", row), lambda: explore_anchor(
            run.model, split.X_test, split.y_test, row, cfg, data_kind=split.kind, seed=row), owner=run)
    except ValueError as err:
        st.info(i18n.message(err, lang))
        return
    bd = res.breakdown
    if bd.note:
        st.info(said(NOTES, bd.note, lang))
    order = np.argsort(-np.abs(bd.grad_weight), kind="stable")  # strongest terms first
    rows, views = res.rows[bd.index][order], res.views[bd.index][order]
    role, share, weight, sim = bd.role[order], bd.denominator_share[order], bd.grad_weight[order], bd.similarity[order]
    view_txt = np.where(views > 0, np.char.add(" v", views.astype(str)), "")
    labels = [f"#{r}{v} ({names[split.y_test[r]]})" for r, v in zip(rows, view_txt, strict=True)]
    c1, c2 = st.columns([1, 2])
    c1.metric(t("losses.explorer.anchor_loss"), f"{bd.loss:.4f}")
    c1.markdown(t("losses.explorer.counts", positives=int((role == "positive").sum()),
                  negatives=int((role == "negative").sum())))
    if cfg.positives == "augmentation":
        c1.caption(t("losses.explorer.collision"))
    value_name = said(VALUE_NAMES, bd.similarity_name, lang)
    table = {
        t("losses.explorer.col_test_point"): rows, **({t("losses.explorer.col_view"): views} if views.any() else {}),
        t("losses.explorer.col_class"): [names[split.y_test[r]] for r in rows],
        t("losses.explorer.col_anomalous"): run.is_anomaly[rows], t("losses.explorer.col_role"): role,
        (value_name if bd.similarity_name == "distance" else t("losses.explorer.col_similarity", name=value_name)):
            np.round(sim, 4),
        t("losses.explorer.col_share"): np.round(share, 4), t("losses.explorer.col_grad_weight"): np.round(weight, 4),
    }
    c2.dataframe(table, hide_index=True, height=260, key=f"{page}_explorer_table")
    top = slice(0, max_bars)
    bars = shared_figures().get(("explorer_bars", row, tuple(names), max_bars), lambda: viz.breakdown_bar_figure(
        np.asarray(labels)[top], share[top], weight[top], role[top], share_title=said(SHARE_NAMES, bd.share_name, lang),
        lang=lang), owner=run)
    chart(bars, f"{page}_explorer_bars")
    if len(bd.index) > max_bars:
        st.caption(t("losses.explorer.bars", max_bars=max_bars, n=len(bd.index)))
