"""Streamlit helpers shared by the anomaly-detector pages (Deep SVDD, GOAD, DROC, CSI, Compare).

The training form, the run with its progress bar and error handling, and the results block every
detector page shows (metrics, UMAP before/after, score histogram, ROC, loss curve). Everything that
computes lives in :mod:`adlab.experiment`; datasets and splits come from the loss pages' helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from adlab import export, papers, registry, viz
from adlab.data import DataError, Split
from adlab.experiment import DetectorRun, MethodSpec, methods
from adlab.experiment import label as method_label
from adlab.train import NonFiniteLoss

try:
    from pages import _export
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # a page file run on its own (AppTest.from_file, streamlit run pages/x.py)
    import _export
    import _jobs as jobs
    import _ui as ui

DIGITS_NORMAL: tuple[str, ...] = ("3",)  # one normal class, the other nine are anomalies
LR_CHOICES = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2)
BATCH_CHOICES = (16, 32, 64, 128, 256)
FAILURES = (ValueError, NonFiniteLoss, DataError)  # errors the user can fix: st.error, no traceback
PROTOCOLS = {"one-class": "one-class halves", "goad": "GOAD tabular protocol (all anomalies in the test set)"}
#: GOAD's training half (:data:`adlab.data.split.GOAD_SPLITS`): the official code's file order, or seeded
GOAD_SPLIT_LABELS = {"official": "official: normal rows in file order", "random": "random: shuffled by the seed"}
#: Cap on the share of anomalies in the one-class test set: anomalies are rare in real data (the Home
#: page's imbalance), so by default they are a seeded sample of at most 10 % of the test points. With
#: one normal digit and nine anomalous ones the uncapped test half would be 90 % anomalies.
TEST_ANOMALY_SHARE = 0.1
ANOMALY_SHARES = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0)  # 1.0 = no cap: the test half as it is
COMPARE_MAX_TEST = 5000  # Compare scores the whole test half up to this many rows (a page stays interactive)


def quick_epochs(method: str) -> dict[str, int]:
    """``{kind: epochs}`` of ``method``'s quick settings (the registry's ``quick``): the form's default."""
    return {kind: int(q["epochs"]) for kind, q in registry.detector(method).quick.items() if "epochs" in q}


def share_label(share: float) -> str:
    """``0.1`` -> ``"at most 10%"``; ``1.0`` -> ``"as in the data"`` (the form's anomaly-share options)."""
    return "as in the data" if share >= 1.0 else f"at most {share:.0%}"


def default_classes(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The one-class protocol's default: digits = one normal digit vs the rest; toy = clusters vs planted
    anomalies; an uploaded file = its normal class vs the rest (:func:`ui.default_classes`)."""
    if name == "digits":
        names = ui.load_dataset(name).class_names
        return DIGITS_NORMAL, tuple(n for n in names if n not in DIGITS_NORMAL)
    return ui.default_classes(name)


def hover_labels(stored: dict[str, Any], y: np.ndarray) -> list[str]:
    names = ui.class_names(stored)
    return [f"class {names[c]}" for c in y]


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
    submit: str = "Train",
    submit_key: str | None = None,
) -> DetectorForm:
    """Dataset picker (outside the form, so the class lists follow it) and the training form.

    ``knobs(kind)`` draws the method's own widgets inside the form ("image" or "tabular" data) and
    returns detector parameters. With ``training=True`` the form also holds epochs, learning rate
    and batch size (returned as ``params``); the seed is always there. ``epochs`` may differ by
    kind (``{"image": 10, "tabular": 1}``): the field then returns to the kind's default when the
    dataset changes kind. Widget keys start with ``page``; the submit button is ``submit_key``
    (default ``f"{page}_train"``).
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
                protocol = st.radio("Split", list(PROTOCOLS), format_func=PROTOCOLS.get, key=f"{page}_protocol",
                                    horizontal=True,
                                    help="one-class: a seeded half of the rows trains on the normal classes, at most "
                                         f"{ui.MAX_TEST} test rows ({COMPARE_MAX_TEST:,} on Compare), anomalies "
                                         "capped as set below. GOAD: half of the normal rows train; the test set is "
                                         "the other half plus every other row as an anomaly (the anomalous-classes "
                                         "box is ignored): the protocol of the GOAD paper's tabular results, so a run "
                                         "on ODDS Thyroid or Arrhythmia can stand beside the paper's F1.")
                goad_split = st.radio(
                    "GOAD protocol: training half", list(GOAD_SPLIT_LABELS), format_func=GOAD_SPLIT_LABELS.get,
                    key=f"{page}_goad_split", horizontal=True,
                    help="Used with the GOAD tabular protocol only. official: the first half of the normal rows, in "
                         "the order of the file, trains, as the official GOAD code loads ODDS Thyroid and "
                         "Arrhythmia; the seed then changes only the initial weights, the maps and the batch "
                         "order. random: the normal rows are shuffled by the seed first, so each seed trains on "
                         "other rows (GOAD on ODDS Thyroid, seeds 0-4: mean F1 about 71 against 75 with the official split).")
            share = float(st.select_slider(
                "Anomalies in the test set", ANOMALY_SHARES, value=TEST_ANOMALY_SHARE, key=f"{page}_test_anomalies",
                format_func=share_label,
                help="Real anomalies are rare. When the anomalous classes hold more than this share of the test "
                     "half, a seeded sample of them is kept (the normal test points all stay); 'as in the data' "
                     "keeps them all. AUPRC and F1 depend on this share, AUROC does not. Ignored by GOAD's "
                     "tabular protocol, which keeps every anomaly."))
            if training:
                c1, c2, c3, c4 = st.columns(4)
                _epochs_default(page, epochs[ds.kind] if isinstance(epochs, Mapping) else epochs, ds.kind)
                params["epochs"] = int(c1.number_input("Epochs", 1, 500, key=f"{page}_epochs"))
                params["lr"] = float(c2.select_slider("Learning rate", LR_CHOICES, value=lr, key=f"{page}_lr",
                                                      format_func=lambda v: f"{v:g}"))
                params["batch_size"] = int(c3.select_slider("Batch size", BATCH_CHOICES, value=batch_size,
                                                            key=f"{page}_batch"))
                seed = int(c4.number_input("Seed", 0, 10_000, 0, key=f"{page}_seed",
                                           help="Seeds the split (not GOAD's official one, which keeps the file's "
                                                "order), the initial weights and the batch order."))
            else:
                seed = int(st.number_input("Seed", 0, 10_000, 0, key=f"{page}_seed"))
            if knobs is not None:
                params.update(knobs(ds.kind))
            submitted = st.form_submit_button(submit, type="primary", key=submit_key or f"{page}_train")
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
    text = f"{n} test points, {k} of them anomalous ({k / n:.0%})"
    share = stored.get("test_anomaly_share")
    if stored.get("protocol") == "goad":
        split = stored.get("goad_split") or "official"
        half = ("the first half of the normal rows in file order trains, as in the official code" if split == "official"
                else "a half of the normal rows drawn with the seed trains")
        return text + f" (GOAD's protocol, {split} split: every anomaly of the file; {half})"
    if share is not None and share < 1.0:
        text += (f"; anomalies are kept to at most {share:.0%} of the test set (a seeded sample of the anomalous "
                 "classes when the test half holds more), since real anomalies are rare")
    return text


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
                  describe: Callable[[str, MethodSpec], str] = lambda name, spec: spec.label,
                  title: str = "Training…", summary: Callable[[jobs.Done], str] | None = None,
                  **job_kwargs: Any) -> jobs.Done | None:
    """When the form was submitted, one ``"detector"`` job per spec of ``make_specs()`` (name -> spec) on the
    form's split, submitted together; else the page's jobs still running. Returns them once ended.

    Settings or data the user can fix fail here, before anything is submitted (``st.error``, and the
    page's earlier jobs are cancelled); a failure in training comes back from its job with the same text.
    ``keep`` goes back with the results besides the split and :func:`run_context`; ``describe(name, spec)``
    names a job in the status lines and errors. The maps show at most ``ui.MAX_TEST`` test rows (a sample
    seeded with the form's seed), on every page alike, so that a run asked for on a method's page and on
    Compare is one job; ``job_kwargs`` go to the job as well.
    """
    specs = None
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
            st.error(str(err))
            return None
        keep = {"split": split, **run_context(form), **(keep or {})}
    return jobs.run_jobs(page, specs, page=page, keep=keep, title=title, summary=summary)


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
        return f"{run.spec.label}: trained in {run.fit_seconds:.1f} s on {device}"

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
            col.metric(label, f"{value:.3f}", delta=f"{value - before:+.3f} vs untrained",
                       help=f"{label} of the same detector at initialisation (same seed, no training step): "
                            f"{before:.3f}")
        else:
            col.metric(label, f"{value:.3f}")
    cols[3].metric("Training time", f"{run.fit_seconds:.1f} s",
                   help=f"Scoring the {len(run.scores)} test points took {run.score_seconds:.2f} s.")


def show_results(page: str, stored: dict[str, Any], *, score_text: str) -> None:
    """The block every detector page shows after training: metrics, UMAP pair, histogram, ROC, loss."""
    run: DetectorRun = stored["run"]
    split: Split = stored["split"]
    st.subheader("Detection on the test split")
    st.caption(f"{ui.dataset_label(stored['dataset'])}: {len(split.X_train)} normal training points; "
               f"{composition(split, stored)}. {score_text} AUPRC and F1 depend on "
               "the share of anomalies in the test set; F1 flags the top-scored fraction equal to that share.")
    metric_row(run)
    before2d, after2d = stored["maps"]  # UMAP of the test features, computed by the job
    rows = stored["map_rows"]
    hover = hover_labels(stored, run.y_test[rows])  # the figures: built once per run for every session showing it
    ui.shared_chart(run, ("umap", tuple(hover)), lambda: viz.umap_pair_figure(
        before2d, after2d, run.is_anomaly[rows], hover=hover,
        titles=("At initialisation (untrained, same seed)", "After training")), f"{page}_umap")
    sample = "" if len(rows) == len(run.scores) else f" ({len(rows)} of the {len(run.scores)}, a seeded sample)"
    st.caption(f"UMAP of the test points{sample} in the detector's feature space (what `embed` returns), before "
               "and after training; the right map is rotated and scaled onto the left one.")
    left, right = st.columns(2)
    ui.shared_chart(run, "hist", lambda: viz.score_histogram_figure(run.scores, run.is_anomaly,
                                                                    "Anomaly scores of the test points"),
                    f"{page}_hist", left)
    curves = {"after training": (run.is_anomaly, run.scores)}
    if run.scores_before is not None:
        curves["untrained"] = (run.is_anomaly, run.scores_before)
    ui.shared_chart(run, "roc", lambda: viz.roc_figure(curves), f"{page}_roc", right)
    history = run.history
    if history is not None and history.step_losses:
        ui.shared_chart(run, "loss_curve", lambda: viz.loss_curve_figure(history.step_losses, history.epoch_losses),
                        f"{page}_loss_curve")
    _export.section(page, lambda: _export.detector_files(page, stored), stem=ui.file_stem(page, stored))


def point_picker(page: str, stored: dict[str, Any], *, label: str = "Test point") -> int:
    """Pick a test point by index (default: the first anomalous one) and say what it is."""
    run: DetectorRun = stored["run"]
    n = len(run.scores)
    default = int(np.flatnonzero(run.is_anomaly)[0]) if run.is_anomaly.any() else 0
    i = int(st.number_input(label, 0, n - 1, default, key=f"{page}_point",
                            help="An index into the test set; anomalous points are the non-normal classes."))
    names = ui.class_names(stored)
    rank = int((run.scores > run.scores[i]).sum()) + 1
    kind = "anomalous" if run.is_anomaly[i] else "normal"
    st.markdown(f"Test point **#{i}**: class **{names[run.y_test[i]]}** ({kind}); anomaly score "
                f"**{run.scores[i]:.4g}**, rank {rank} of {n} (1 = most anomalous).")
    return i


# ----------------------------------------------------------------------------- no labels
PAGE_METHOD = {"deep_svdd": "deepsvdd", "goad": "goad", "droc": "droc", "csi": "csi"}


def unlabelled_view(page: str, upload: Any) -> None:
    """Score an unlabelled upload: fit on a sample of its rows, rank every row, no AUROC (no labels)."""
    st.markdown("**Score your file without labels.** The detector is fitted on a sample of the rows as if all "
                "were normal, then every row gets a score (higher = more anomalous). Without labels there is no "
                "AUROC: look at the rows at the top, and at where they sit on the map. Anomalies in the sample are "
                "learned as normal too; when they are many, some methods stop seeing them (try another page's "
                "method, or Compare's Isolation Forest).")
    method = PAGE_METHOD.get(page)
    with st.form(f"{page}_u_form"):
        c1, c2, c3 = st.columns(3)
        if method is None:
            options = list(methods(upload.kind))  # the registry, asked now
            method = c1.selectbox("Method", options, key=f"{page}_u_method", format_func=method_label)
        seed = int(c2.number_input("Seed", 0, 10_000, 0, key=f"{page}_u_seed"))
        flag = float(c3.select_slider("Flag the top", [0.01, 0.02, 0.05, 0.1, 0.2], value=0.05,
                                      format_func=lambda v: f"{v:.0%}", key=f"{page}_u_flag"))
        submitted = st.form_submit_button("Score every row", type="primary", key=f"{page}_u_train")
    key = ui.current_upload()["key"]
    job = None
    if submitted:
        st.session_state.pop(f"{page}_u_result", None)
        try:
            spec = MethodSpec.quick(method, upload.kind, input_shape=upload.X.shape[1:], seed=seed)
            job = jobs.spec("unlabelled", upload.X, spec, seed=seed, device=ui.device(), label=spec.label,
                            max_train=ui.MAX_TRAIN_UPLOAD)
        except FAILURES as err:
            jobs.cancel(f"{page}_u")
            st.error(str(err))
            return

    def summary(result: Any) -> str:
        run = result.run
        return (f"{run.spec.label}: fitted on {len(run.train_index):,} rows in {run.fit_seconds:.1f} s, "
                f"scored {len(run.scores):,} in {run.score_seconds:.1f} s")

    done = jobs.run_job(f"{page}_u", job, page=page, keep={"key": key}, title="Fitting and scoring…", summary=summary)
    if done is not None:
        st.session_state[f"{page}_u_result"] = {"run": done.result.run, "map": done.result.map2d, **done.keep}
    stored = st.session_state.get(f"{page}_u_result")
    if not stored or stored["key"] != key:
        return
    run = stored["run"]
    top = np.argsort(-run.scores, kind="stable")[: max(1, int(round(flag * len(run.scores))))]
    left, right = st.columns(2)
    ui.chart(viz.score_distribution_figure(run.scores, flag), f"{page}_u_hist", left)
    xy = stored["map"]  # UMAP of the sampled rows' features, computed by the job
    ui.chart(viz.embedding_by_score_figure(xy, run.scores[run.sample_index],
                                           hover=[f"row {i}, score {run.scores[i]:.4g}" for i in run.sample_index],
                                           title=f"{len(run.sample_index)} rows on a UMAP of the features"),
             f"{page}_u_map", right)
    st.markdown(f"**The {len(top)} highest-scored rows** (row = position in your file, from 0):")
    table = {"row": top, "score": np.round(run.scores[top], 5)}
    if upload.kind == "tabular":
        for j, name in enumerate(upload.feature_names[:8]):
            table[name] = upload.X[top, j]
    st.dataframe(table, hide_index=True, height=min(400, 38 + 35 * len(top)), key=f"{page}_u_table")
    st.download_button("Scores of every row (CSV)", export.scores_csv(run.scores, split=run.split_names()),
                       file_name=f"adlab_{page}_{Path(upload.name).stem}_scores.csv", mime="text/csv", key=f"{page}_u_dl_scores",
                       on_click="ignore", icon=":material/download:")
