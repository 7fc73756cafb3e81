"""A loss page's live part: the training form, the run it submits (with a progress bar), the results
block, the downloads and the explorer of the stored run. Its texts are ``common.training.*``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from adlab import viz
from adlab.contrastive import ContrastiveConfig, ContrastiveRun
from adlab.data import DataError, Split
from adlab.train import NonFiniteLoss, TrainConfig

try:
    from pages import _export
    from pages import _i18n as i18n_ui
    from pages import _jobs as jobs
    from pages import _state as state
except ImportError:  # a page file run on its own (AppTest)
    import _export
    import _i18n as i18n_ui
    import _jobs as jobs
    import _state as state
try:
    from pages._data import (
        class_names,
        class_pickers,
        dataset_label,
        default_classes,
        load_dataset,
        make_split,
        pick_dataset,
    )
    from pages._instant import Link, explorer, start_from_instant
    from pages._page import device, file_stem, hint, settings_container, shared_chart
except ImportError:  # a page file run on its own (AppTest)
    from _data import (
        class_names,
        class_pickers,
        dataset_label,
        default_classes,
        load_dataset,
        make_split,
        pick_dataset,
    )
    from _instant import Link, explorer, start_from_instant
    from _page import device, file_stem, hint, settings_container, shared_chart


@dataclass
class FormResult:
    """What the training form returned; configs are built later so that bad values become errors."""

    submitted: bool
    dataset: str
    normal: tuple[str, ...]
    anomalous: tuple[str, ...]
    train: dict[str, Any]
    knobs: dict[str, Any] = field(default_factory=dict)


def train_form(
    page: str,
    knobs: Callable[[], dict[str, Any]],
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    links: Sequence[Link] = (),
) -> FormResult:
    """Dataset picker (outside the form, so the class lists follow it) and the training form.

    ``knobs`` draws the loss's own widgets inside the form and returns its settings by name (the fields
    of the loss's ``Config``, or shared ones such as ``knn_k``: :meth:`ContrastiveConfig.for_loss`).
    Widget keys start with ``page``; the submit button is ``f"{page}_train"``. A form field that
    ``links`` ties to an instant-view control starts from that control's value (:func:`start_from_instant`).
    """
    start_from_instant(links)
    with settings_container():
        ds = pick_dataset(page)
        name = st.session_state[f"{page}_dataset"]
        normal0, anomalous0 = default_classes(name)
        with st.form(f"{page}_form"):
            normal, anomalous = class_pickers(page, ds, name, normal0, anomalous0)
            c1, c2, c3, c4 = st.columns(4)
            train = dict(
                batch_size=int(c1.select_slider(_t("batch_size"), [32, 64, 128, 256], value=batch_size,
                                                key=f"{page}_batch")),
                epochs=int(c2.number_input(_t("epochs"), 1, 200, epochs, key=f"{page}_epochs")),
                lr=float(c3.select_slider(_t("lr"), [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], value=lr,
                                          format_func=lambda v: f"{v:g}", key=f"{page}_lr")),
                seed=int(c4.number_input(_t("seed"), 0, 10_000, 0, key=f"{page}_seed")),
            )
            values = knobs()
            submitted = st.form_submit_button(_t("train"), type="primary", key=f"{page}_train")
        if name.startswith("toy:") and "anomaly" in anomalous:
            st.caption(i18n_ui.t("data.toy_note"))
    state.sync(page)
    return FormResult(submitted, name, tuple(normal), tuple(anomalous), train, values)


def live_run(page: str, loss: str, knobs: Callable[[], dict[str, Any]], *, epochs: int, batch_size: int,
             lr: float, links: Sequence[Link] = ()) -> None:
    """A loss page's live part: the training form, the run it submits, then the results and the
    per-anchor explorer of the run kept in session state (or a hint to press Train).

    ``links``: the knobs the page's instant view shows too (the form starts from their values there)."""
    form = train_form(page, knobs, epochs=epochs, batch_size=batch_size, lr=lr, links=links)
    run_and_store(page, form if form.submitted else None, loss)
    stored = st.session_state.get(f"{page}_run")
    if stored:
        show_run(page, stored)
        _export.section(page, lambda: _export.contrastive_files(page, stored), stem=file_stem(page, stored))
        explorer(page, stored)
    else:
        hint(page, _t("hint"))


def run_and_store(page: str, form: FormResult | None, loss: str) -> ContrastiveRun | None:
    """Submit the form's run as a job (``form``: Train was pressed) or follow the one still running, and
    keep the result in session state when it ends.

    The split and the configs are built here, so errors the user can fix (bad settings, unusable data)
    are shown at once with ``st.error``; one that shows only in training (a diverging loss) comes back
    from the job with the same text. Pressing Train drops the previous result, so stale charts do not
    pass for new ones, and cancels the previous job.
    """
    job, keep = None, None
    if form is not None:
        st.session_state.pop(f"{page}_run", None)
        try:
            split = make_split(form.dataset, form.normal, form.anomalous, form.train["seed"])
            cfg = ContrastiveConfig.for_loss(loss, TrainConfig(device=device(), **form.train), **form.knobs)
            job = jobs.spec("contrastive", split, cfg, seed=cfg.train.seed, device=cfg.train.device,
                            label=_t("job_label", loss=loss, dataset=dataset_label(form.dataset)))
        except (ValueError, NonFiniteLoss, DataError) as err:
            jobs.cancel(page)
            st.error(jobs.error_text(err))
            return None
        keep = {"split": split, "dataset": form.dataset, "class_names": load_dataset(form.dataset).class_names}
    done = jobs.run_job(page, job, page=page, keep=keep,
                        summary=lambda r: _t("summary", epochs=r.run.config.train.epochs,
                                             seconds=r.run.history.seconds, device=r.run.history.device))
    if done is None:
        return None
    result = done.result
    st.session_state[f"{page}_run"] = {"run": result.run, "maps": (result.before2d, result.after2d), **done.keep}
    return result.run


# ----------------------------------------------------------------------------- results
def show_run(page: str, stored: dict[str, Any]) -> None:
    """Loss curve, detection metrics before/after, UMAP before/after, geometry, triplet counts."""
    run: ContrastiveRun = stored["run"]
    split: Split = stored["split"]
    names = class_names(stored)
    lang = i18n_ui.lang()  # the figures' texts; shared_chart keeps one figure per language
    st.subheader(_t("changed"))
    st.caption(_t("changed_caption", dataset=dataset_label(stored["dataset"]), n_train=len(split.X_train),
                  n_test=len(split.X_test), n_anomalous=int(run.is_anomaly.sum()), k=run.config.knn_k))
    cols = st.columns(3)
    labels = {"auroc": "AUROC", "auprc": "AUPRC", "f1": "F1"}
    for col, (key, label) in zip(cols, labels.items(), strict=True):
        before, after = run.metrics_before[key], run.metrics_after[key]
        col.metric(_t("metric_after", metric=label), f"{after:.3f}", delta=_t("delta_vs_before", delta=after - before),
                   help=_t("metric_help", metric=label, before=before))
    before2d, after2d = stored["maps"]  # UMAP of the test features, computed by the job
    # the figures are built once per run for every session showing it (the same job's result)
    shared_chart(run, ("umap", tuple(names)), lambda: viz.umap_pair_figure(
        before2d, after2d, run.is_anomaly, hover=[_t("hover_class", name=names[c]) for c in run.y_test], lang=lang),
        f"{page}_umap")
    left, right = st.columns(2)
    shared_chart(run, "loss_curve", lambda: viz.loss_curve_figure(run.history.step_losses, run.history.epoch_losses,
                                                                  lang=lang),
                 f"{page}_loss_curve", left)
    shared_chart(run, "roc", lambda: viz.roc_figure({_t("roc_before"): (run.is_anomaly, run.scores_before),
                                                     _t("roc_after"): (run.is_anomaly, run.scores_after)}, lang=lang),
                 f"{page}_roc", right)
    st.markdown(_t("geometry"))
    g1, g2 = st.columns(2)
    for col, key in ((g1, "alignment"), (g2, "uniformity")):
        before, after = run.geometry_before[key], run.geometry_after[key]
        col.metric(_t(f"{key}_after"), f"{after:.3f}", delta=f"{after - before:+.3f}",
                   delta_color="inverse", help=_t("geometry_help", before=before))
    if run.triplet_counts:
        shared_chart(run, "counts", lambda: viz.triplet_counts_figure(run.triplet_counts, lang=lang), f"{page}_counts")
        st.caption(_t("counts_caption"))


def _t(key: str, **fields: Any) -> str:
    """``common.training.<key>`` in the session's language."""
    return i18n_ui.t(f"common.training.{key}", **fields)
