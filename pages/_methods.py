"""Streamlit helpers shared by the anomaly-detector pages (Deep SVDD, GOAD, DROC, CSI, Compare).

The training form, the run with its progress bar and error handling, and the results block every
detector page shows (metrics, UMAP before/after, score histogram, ROC, loss curve). Everything that
computes lives in :mod:`adlab.experiment`; datasets and splits come from the loss pages' helpers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from adlab import export, i18n, papers, registry, viz
from adlab.data import DataError, Split
from adlab.experiment import DetectorRun, MethodSpec, methods
from adlab.experiment import label as registry_label
from adlab.train import NonFiniteLoss

try:
    from pages import _data as pdata
    from pages import _export
    from pages import _i18n as i18n_ui
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # a page file run on its own (AppTest.from_file, streamlit run pages/x.py)
    import _data as pdata
    import _export
    import _i18n as i18n_ui
    import _jobs as jobs
    import _ui as ui

t = i18n_ui.t

DIGITS_NORMAL: tuple[str, ...] = ("3",)  # one normal class, the other nine are anomalies
LR_CHOICES = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2)
BATCH_CHOICES = (16, 32, 64, 128, 256)
FAILURES = (ValueError, NonFiniteLoss, DataError)  # errors the user can fix: st.error(failure(err)), no traceback
#: The Split radio's values; shown as ``detectors.form.protocol.<value>``
PROTOCOLS = ("one-class", "goad")
#: GOAD's training half (:data:`adlab.data.split.GOAD_SPLITS`): the official code's file order, or seeded;
#: shown as ``detectors.form.goad_split_option.<value>``
GOAD_SPLITS = ("official", "random")
#: Cap on the share of anomalies in the one-class test set: anomalies are rare in real data (the Home
#: page's imbalance), so by default they are a seeded sample of at most 10 % of the test points. With
#: one normal digit and nine anomalous ones the uncapped test half would be 90 % anomalies.
TEST_ANOMALY_SHARE = 0.1
ANOMALY_SHARES = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0)  # 1.0 = no cap: the test half as it is
COMPARE_MAX_TEST = 5000  # Compare scores the whole test half up to this many rows (a page stays interactive)


def quick_epochs(method: str) -> dict[str, int]:
    """``{kind: epochs}`` of ``method``'s quick settings (the registry's ``quick``): the form's default."""
    return {kind: int(q["epochs"]) for kind, q in registry.detector(method).quick.items() if "epochs" in q}


def share_label(share: float, lang: str | None = None) -> str:
    """``0.1`` -> ``"at most 10%"``; ``1.0`` -> ``"as in the data"`` (the form's anomaly-share options), in
    ``lang`` (default: the session's language)."""
    lang = lang or i18n_ui.lang()
    if share >= 1.0:
        return i18n.text_or_english("detectors.form.share_all", lang)
    return i18n.text_or_english("detectors.form.share_at_most", lang, share=share)


class PageError(ValueError):
    """A setting the user can fix, said from the catalogue (``text_key``) in the session's language
    (:func:`adlab.i18n.message`); its ``str`` is the English text."""

    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(i18n.text(key, "en", **fields))
        self.text_key, self.text_fields = key, fields


def failure(err: BaseException) -> str:
    """What the page says about a failure in :data:`FAILURES`, in the session's language (an error that
    carries a catalogue key, as :class:`DataError` and :class:`PageError` do, with its fields said in that
    language too; any other by its own English text)."""
    return i18n.message(err, i18n_ui.lang())


def method_label(method: str, lang: str | None = None) -> str:
    """A registered method as the page names it: ``detectors.method.<name>`` in ``lang`` (default: the
    session's language; ``"kNN (raw input)"``), or the class's ``label`` for a method the catalogue does
    not know (one registered from outside adlab)."""
    key = f"detectors.method.{method}"
    if key not in i18n.catalogue(i18n.REFERENCE):
        return registry_label(method)
    return i18n.text_or_english(key, lang or i18n_ui.lang())


def method_labels() -> Callable[[str], str]:
    """:func:`method_label` as a ``format_func``, in this run's language (bound now, as
    :func:`pages._i18n.option_labels` is)."""
    lang = i18n_ui.lang()
    return lambda method: method_label(method, lang)


def default_classes(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The one-class protocol's default: digits = one normal digit vs the rest; toy = clusters vs planted
    anomalies; an uploaded file = its normal class vs the rest (:func:`ui.default_classes`)."""
    if name == "digits":
        names = ui.load_dataset(name).class_names
        return DIGITS_NORMAL, tuple(n for n in names if n not in DIGITS_NORMAL)
    return ui.default_classes(name)


def hover_labels(stored: dict[str, Any], y: np.ndarray) -> list[str]:
    """"class <name>" for each label in ``y`` (a stored run's test labels), in the session's language."""
    names = ui.class_names(stored)
    return [t("detectors.hover_class", name=class_label(stored, names[c])) for c in y]


def class_label(stored: dict[str, Any], name: str) -> str:
    """A class of a stored run's dataset as the page shows it (a toy set's class in the session's language)."""
    return pdata.class_label(name, stored["dataset"])


# ----------------------------------------------------------------------------- form
@dataclass
class DetectorForm:
    """What the form returned: the split to use and the detector's parameters (not yet validated)."""

    submitted: bool
    dataset: str
    kind: str
    normal: tuple[str, ...]
    anomalous: tuple[str, ...]
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    protocol: str = "one-class"
    goad_split: str = "official"  # GOAD's protocol: "official" (normal rows in file order) or "random" (seeded)
    input_shape: tuple[int, ...] = ()  # one input, e.g. (1, 28, 28): picks the quick settings' size
    test_anomaly_share: float = TEST_ANOMALY_SHARE  # cap on the anomalies' share of the test set; 1.0 = none

    @property
    def setting(self) -> tuple:
        """Everything but the detector's knobs: two runs with the same setting can be compared."""
        return (self.dataset, self.normal, self.anomalous, self.seed, self.protocol, self.goad_split,
                self.test_anomaly_share)


def detector_form(
    page: str,
    knobs: Callable[[str], dict[str, Any]] | None = None,
    *,
    kinds: Sequence[str] = ui.KINDS,
    epochs: int | Mapping[str, int] = 10,
    lr: float = 1e-3,
    batch_size: int = 64,
    training: bool = True,
    submit: str | None = None,
    submit_key: str | None = None,
) -> DetectorForm:
    """Dataset picker (outside the form, so the class lists follow it) and the training form.

    ``knobs(kind)`` draws the method's own widgets inside the form ("image" or "tabular" data) and
    returns detector parameters. With ``training=True`` the form also holds epochs, learning rate
    and batch size (returned as ``params``); the seed is always there. ``epochs`` may differ by
    kind (``{"image": 10, "tabular": 1}``): the field then returns to the kind's default when the
    dataset changes kind. Widget keys start with ``page``; the submit button is ``submit_key``
    (default ``f"{page}_train"``), labelled ``submit`` (default: Train, in the session's language).
    """
    with ui.settings_container():
        ds = ui.pick_dataset(page, kinds, on_unlabelled=lambda upload: unlabelled_view(page, upload))
        name = st.session_state[f"{page}_dataset"]
        normal0, anomalous0 = default_classes(name)
        params: dict[str, Any] = {}
        with st.form(f"{page}_form"):
            normal, anomalous = ui.class_pickers(page, ds, name, normal0, anomalous0)
            protocol, goad_split = "one-class", "official"
            if ds.kind == "tabular":
                protocol = st.radio(t("detectors.form.split"), PROTOCOLS, key=f"{page}_protocol", horizontal=True,
                                    format_func=i18n_ui.option_labels("detectors.form.protocol"),
                                    help=t("detectors.form.split_help", max_test=ui.MAX_TEST,
                                           compare_max=COMPARE_MAX_TEST))
                goad_split = st.radio(t("detectors.form.goad_split"), GOAD_SPLITS, key=f"{page}_goad_split",
                                      format_func=i18n_ui.option_labels("detectors.form.goad_split_option"),
                                      horizontal=True, help=t("detectors.form.goad_split_help"))
            share = float(st.select_slider(
                t("detectors.form.anomaly_share"), ANOMALY_SHARES, value=TEST_ANOMALY_SHARE,
                key=f"{page}_test_anomalies", format_func=functools.partial(share_label, lang=i18n_ui.lang()),
                help=t("detectors.form.anomaly_share_help")))
            if training:
                c1, c2, c3, c4 = st.columns(4)
                _epochs_default(page, epochs[ds.kind] if isinstance(epochs, Mapping) else epochs, ds.kind)
                params["epochs"] = int(c1.number_input(t("detectors.form.epochs"), 1, 500, key=f"{page}_epochs"))
                params["lr"] = float(c2.select_slider(t("detectors.form.lr"), LR_CHOICES, value=lr, key=f"{page}_lr",
                                                      format_func=lambda v: f"{v:g}"))
                params["batch_size"] = int(c3.select_slider(t("detectors.form.batch"), BATCH_CHOICES,
                                                            value=batch_size, key=f"{page}_batch"))
                seed = int(c4.number_input(t("detectors.form.seed"), 0, 10_000, 0, key=f"{page}_seed",
                                           help=t("detectors.form.seed_help")))
            else:
                seed = int(st.number_input(t("detectors.form.seed"), 0, 10_000, 0, key=f"{page}_seed"))
            if knobs is not None:
                params.update(knobs(ds.kind))
            submitted = st.form_submit_button(submit or t("detectors.form.train"), type="primary",
                                              key=submit_key or f"{page}_train")
    ui.state.sync(page)
    if training:
        params["seed"] = seed
    return DetectorForm(submitted, name, ds.kind, tuple(normal), tuple(anomalous), seed, params, protocol,
                        goad_split, tuple(int(d) for d in ds.X.shape[1:]), share)


def _epochs_default(page: str, default: int, kind: str) -> None:
    """Put ``default`` in the epochs field when it has no value yet or the data changed kind.

    A value from a link (restored before this runs) or typed by the user stays while the kind stays.
    """
    key, kind_key = f"{page}_epochs", f"_{page}_epochs_kind"
    if key not in st.session_state or st.session_state.get(kind_key, kind) != kind:
        st.session_state[key] = int(default)
    st.session_state[kind_key] = kind


# ----------------------------------------------------------------------------- running
def split_of(form: DetectorForm, *, max_test: int = ui.MAX_TEST) -> Split:
    """The form's split (:func:`ui.make_split`): GOAD's tabular protocol (with ``form.goad_split``), or the
    one-class halves with the anomalies capped at ``form.test_anomaly_share`` of the test set and at most
    ``max_test`` test rows."""
    share = None if form.test_anomaly_share >= 1.0 else float(form.test_anomaly_share)
    return ui.make_split(form.dataset, form.normal, form.anomalous, form.seed, protocol=form.protocol,
                         max_test=max_test, anomaly_share=share, goad_split=form.goad_split)


def composition(split: Split, stored: dict[str, Any]) -> str:
    """One sentence on the test set: how many points, how many anomalous (share), and why."""
    n, k = len(split.X_test), int(np.asarray(split.anomalous_test).sum())
    base = t("detectors.composition.base", n=n, k=k, share=k / n)
    share = stored.get("test_anomaly_share")
    if stored.get("protocol") == "goad":
        split = stored.get("goad_split") or "official"
        which = "goad_official" if split == "official" else "goad_random"
        return t(f"detectors.composition.{which}", base=base, split=split)
    if share is not None and share < 1.0:
        return t("detectors.composition.capped", base=base, cap=share)
    return base


def paper_protocol(form: DetectorForm) -> str | None:
    """The paper protocol a run follows (e.g. ``"goad-tabular:thyroid"``: GOAD's split of ODDS Thyroid), or None."""
    if form.protocol != "goad":
        return None
    ds = ui.load_dataset(form.dataset)
    normal = [ds.class_names.index(c) for c in form.normal if c in ds.class_names]
    found = papers.detect_protocol(ds.X, (~np.isin(ds.y, normal)).astype(np.int64), ds.name)
    return found if found and found.startswith("goad-tabular:") else None


def run_context(form: DetectorForm) -> dict[str, Any]:
    """What a stored run keeps besides the run: dataset, class names, split protocol (and GOAD's training half,
    ``goad_split``: "official" or "random", None under the one-class split), paper protocol."""
    return {"dataset": form.dataset, "class_names": ui.load_dataset(form.dataset).class_names,
            "protocol": form.protocol, "goad_split": form.goad_split if form.protocol == "goad" else None,
            "paper_protocol": paper_protocol(form), "seed": form.seed, "test_anomaly_share": form.test_anomaly_share}


def run_detectors(page: str, form: DetectorForm, make_specs: Callable[[], Mapping[str, MethodSpec]], *,
                  max_test: int = ui.MAX_TEST, keep: Mapping[str, Any] | None = None,
                  describe: Callable[[str, MethodSpec], str] | None = None,
                  title: str | None = None, summary: Callable[[jobs.Done], str] | None = None,
                  **job_kwargs: Any) -> jobs.Done | None:
    """When the form was submitted, one ``"detector"`` job per spec of ``make_specs()`` (name -> spec) on the
    form's split, submitted together; else the page's jobs still running. Returns them once ended.

    Settings or data the user can fix fail here, before anything is submitted (``st.error``, and the
    page's earlier jobs are cancelled); a failure in training comes back from its job with the same text.
    ``keep`` goes back with the results besides the split and :func:`run_context`; ``describe(name, spec)``
    names a job in the status lines and errors (default: the method's name, :func:`method_label`); ``title``
    labels the status box while the jobs run (default: "Training…"). The maps show at most ``ui.MAX_TEST``
    test rows (a sample seeded with the form's seed), on every page alike, so that a run asked for on a
    method's page and on Compare is one job; ``job_kwargs`` go to the job as well.
    """
    specs = None
    if describe is None:
        def describe(name: str, spec: MethodSpec) -> str:
            return method_label(spec.method)
    if form.submitted:
        try:
            split = split_of(form, max_test=max_test)
            device = ui.device()
            kwargs = {"max_map_rows": ui.MAX_TEST, "map_seed": form.seed, **job_kwargs}  # Compare's too: shared runs
            specs = {name: jobs.spec("detector", split, spec, seed=form.seed, device=device,
                                     label=describe(name, spec), **kwargs)
                     for name, spec in make_specs().items()}
        except FAILURES as err:
            jobs.cancel(page)
            st.error(failure(err))
            return None
        keep = {"split": split, **run_context(form), **(keep or {})}
    return jobs.run_jobs(page, specs, page=page, keep=keep, title=title or t("detectors.training"), summary=summary)


def stored_run(result: Any, keep: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """What a page keeps of a detector job's result: ``{"run", "maps", "map_rows", "split", "dataset", ...}``
    (``maps`` = the UMAP pair of the test rows ``map_rows``)."""
    return {"run": result.run, "maps": (result.before2d, result.after2d), "map_rows": result.map_rows, **keep,
            **extra}


def train_and_store(page: str, form: DetectorForm, make_spec: Callable[[], MethodSpec]) -> dict[str, Any] | None:
    """:func:`run_detectors` with one spec; keeps :func:`stored_run` under ``f"{page}_run"`` and returns it
    on the script run where the job ended (None on the others, and on failure). Pressing Train drops the
    previous result."""
    if form.submitted:
        st.session_state.pop(f"{page}_run", None)

    def summary(done: jobs.Done) -> str:
        run = done.result.run
        device = run.history.device if run.history is not None else "cpu"
        return t("detectors.trained_in", label=method_label(run.spec.method), seconds=run.fit_seconds, device=device)

    done = run_detectors(page, form, lambda: {"run": make_spec()}, summary=summary)
    if done is None:
        return None
    stored = stored_run(done.result, done.keep)
    st.session_state[f"{page}_run"] = stored
    return stored


# ----------------------------------------------------------------------------- results
def metric_row(run: DetectorRun) -> None:
    """AUROC / AUPRC / F1 (with the change against the untrained detector) and the training time."""
    cols = st.columns(4)
    for col, (key, label) in zip(cols, (("auroc", "AUROC"), ("auprc", "AUPRC"), ("f1", "F1")), strict=False):
        value = run.metrics[key]
        if run.metrics_before is not None:
            before = run.metrics_before[key]
            col.metric(label, f"{value:.3f}", delta=t("detectors.results.vs_untrained", delta=value - before),
                       help=t("detectors.results.metric_help", metric=label, before=before))
        else:
            col.metric(label, f"{value:.3f}")
    cols[3].metric(t("detectors.results.training_time"), t("detectors.results.seconds", seconds=run.fit_seconds),
                   help=t("detectors.results.scoring_help", n=len(run.scores), seconds=run.score_seconds))


def show_results(page: str, stored: dict[str, Any], *, score_text: str) -> None:
    """The block every detector page shows after training: metrics, UMAP pair, histogram, ROC, loss."""
    run: DetectorRun = stored["run"]
    split: Split = stored["split"]
    lang = i18n_ui.lang()
    st.subheader(t("detectors.results.heading"))
    st.caption(t("detectors.results.caption", dataset=ui.dataset_label(stored["dataset"]), n_train=len(split.X_train),
                 composition=composition(split, stored), score_text=score_text))
    metric_row(run)
    before2d, after2d = stored["maps"]  # UMAP of the test features, computed by the job
    rows = stored["map_rows"]
    hover = hover_labels(stored, run.y_test[rows])  # the figures: built once per run for every session showing it
    titles = (t("detectors.results.umap_before"), t("detectors.results.umap_after"))
    ui.shared_chart(run, ("umap", tuple(hover), titles), lambda: viz.umap_pair_figure(
        before2d, after2d, run.is_anomaly[rows], hover=hover, titles=titles, lang=lang),
        f"{page}_umap")
    sample = ("" if len(rows) == len(run.scores)
              else t("detectors.results.umap_sample", shown=len(rows), total=len(run.scores)))
    st.caption(t("detectors.results.umap_caption", sample=sample))
    left, right = st.columns(2)
    ui.shared_chart(run, ("hist", lang), lambda: viz.score_histogram_figure(
        run.scores, run.is_anomaly, t("detectors.results.histogram"), lang=lang),
        f"{page}_hist", left)
    curves = {t("detectors.results.roc_after"): (run.is_anomaly, run.scores)}
    if run.scores_before is not None:
        curves[t("detectors.results.roc_untrained")] = (run.is_anomaly, run.scores_before)
    ui.shared_chart(run, ("roc", lang), lambda: viz.roc_figure(curves, lang=lang),
                    f"{page}_roc", right)
    history = run.history
    if history is not None and history.step_losses:
        ui.shared_chart(run, ("loss_curve", lang), lambda: viz.loss_curve_figure(
            history.step_losses, history.epoch_losses, lang=lang), f"{page}_loss_curve")
    _export.section(page, lambda: _export.detector_files(page, stored), stem=ui.file_stem(page, stored))


def point_picker(page: str, stored: dict[str, Any], *, label: str | None = None) -> int:
    """Pick a test point by index (default: the first anomalous one) and say what it is."""
    run: DetectorRun = stored["run"]
    n = len(run.scores)
    default = int(np.flatnonzero(run.is_anomaly)[0]) if run.is_anomaly.any() else 0
    i = int(st.number_input(label or t("detectors.point.label"), 0, n - 1, default, key=f"{page}_point",
                            help=t("detectors.point.help")))
    names = ui.class_names(stored)
    rank = int((run.scores > run.scores[i]).sum()) + 1
    kind = t("common.anomalous") if run.is_anomaly[i] else t("common.normal")
    st.markdown(t("detectors.point.says", i=i, name=class_label(stored, names[run.y_test[i]]), kind=kind,
                  score=run.scores[i], rank=rank, n=n))
    return i


# ----------------------------------------------------------------------------- no labels
PAGE_METHOD = {"deep_svdd": "deepsvdd", "goad": "goad", "droc": "droc", "csi": "csi"}


def unlabelled_view(page: str, upload: Any) -> None:
    """Score an unlabelled upload: fit on a sample of its rows, rank every row, no AUROC (no labels)."""
    lang = i18n_ui.lang()
    st.markdown(t("detectors.unlabelled.intro"))
    method = PAGE_METHOD.get(page)
    with st.form(f"{page}_u_form"):
        c1, c2, c3 = st.columns(3)
        if method is None:
            options = list(methods(upload.kind))  # the registry, asked now
            method = c1.selectbox(t("detectors.unlabelled.method"), options, key=f"{page}_u_method",
                                  format_func=method_labels())
        seed = int(c2.number_input(t("detectors.form.seed"), 0, 10_000, 0, key=f"{page}_u_seed"))
        flag = float(c3.select_slider(t("detectors.unlabelled.flag"), [0.01, 0.02, 0.05, 0.1, 0.2], value=0.05,
                                      format_func=lambda v: f"{v:.0%}", key=f"{page}_u_flag"))
        submitted = st.form_submit_button(t("detectors.unlabelled.submit"), type="primary", key=f"{page}_u_train")
    key = ui.current_upload()["key"]
    job = None
    if submitted:
        st.session_state.pop(f"{page}_u_result", None)
        try:
            spec = MethodSpec.quick(method, upload.kind, input_shape=upload.X.shape[1:], seed=seed)
            job = jobs.spec("unlabelled", upload.X, spec, seed=seed, device=ui.device(), label=method_label(method),
                            max_train=ui.MAX_TRAIN_UPLOAD)
        except FAILURES as err:
            jobs.cancel(f"{page}_u")
            st.error(failure(err))
            return

    def summary(result: Any) -> str:
        run = result.run
        return t("detectors.unlabelled.summary", label=method_label(run.spec.method), n_fit=len(run.train_index),
                 fit_seconds=run.fit_seconds, n_scored=len(run.scores), score_seconds=run.score_seconds)

    done = jobs.run_job(f"{page}_u", job, page=page, keep={"key": key}, title=t("detectors.unlabelled.title"),
                        summary=summary)
    if done is not None:
        st.session_state[f"{page}_u_result"] = {"run": done.result.run, "map": done.result.map2d, **done.keep}
    stored = st.session_state.get(f"{page}_u_result")
    if not stored or stored["key"] != key:
        return
    run = stored["run"]
    top = np.argsort(-run.scores, kind="stable")[: max(1, int(round(flag * len(run.scores))))]
    left, right = st.columns(2)
    ui.chart(viz.score_distribution_figure(run.scores, flag, lang=lang),
             f"{page}_u_hist", left)
    xy = stored["map"]  # UMAP of the sampled rows' features, computed by the job
    ui.chart(viz.embedding_by_score_figure(xy, run.scores[run.sample_index],
                                           hover=[t("detectors.unlabelled.hover", i=i, score=run.scores[i])
                                                  for i in run.sample_index],
                                           title=t("detectors.unlabelled.map_title", n=len(run.sample_index)),
                                           lang=lang),
             f"{page}_u_map", right)
    st.markdown(t("detectors.unlabelled.top", n=len(top)))
    table = {t("detectors.unlabelled.row"): top, t("detectors.unlabelled.score"): np.round(run.scores[top], 5)}
    if upload.kind == "tabular":
        for j, name in enumerate(upload.feature_names[:8]):
            table[name] = upload.X[top, j]
    st.dataframe(table, hide_index=True, height=min(400, 38 + 35 * len(top)), key=f"{page}_u_table")
    st.download_button(t("detectors.unlabelled.download"),
                       export.scores_csv(run.scores, split=run.split_names()),
                       file_name=f"adlab_{page}_{Path(upload.name).stem}_scores.csv", mime="text/csv",
                       key=f"{page}_u_dl_scores", on_click="ignore", icon=":material/download:")

