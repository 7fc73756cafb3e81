"""Streamlit helpers shared by the loss pages: cached data, the training form, the results block,
the instant-view figure and the per-anchor explorer. Everything that computes lives in adlab."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from adlab import viz
from adlab.contrastive import ContrastiveConfig, ContrastiveRun, run_contrastive
from adlab.data import DataError, Dataset, Split, goad_split, load_digits, make_toy, one_class_split
from adlab.instant import InstantView, explore_anchor
from adlab.projection import umap_pair
from adlab.train import NonFiniteLoss, TrainConfig, TrainEvent

# re-exported: every page calls ui.ensure_app_shell() first
try:
    from pages import _state as state
    from pages._shell import ensure_app_shell as ensure_app_shell
except ImportError:  # a page file run on its own (AppTest)
    import _state as state
    from _shell import ensure_app_shell as ensure_app_shell

DATASETS = ("digits", "toy:blobs", "toy:moons", "toy:rings")
DATASET_LABELS = {
    "digits": "digits (8×8 handwritten digits, built in)",
    "toy:blobs": "toy: three blobs",
    "toy:moons": "toy: two moons",
    "toy:rings": "toy: two rings",
}
BUILTIN_KINDS = {"digits": "image", "toy:blobs": "tabular", "toy:moons": "tabular", "toy:rings": "tabular"}
KINDS = ("tabular", "image")
MAX_TEST = 400  # test points scored and projected; keeps UMAP well under a second or two
MAX_TRAIN_UPLOAD = 3000  # training rows taken from an uploaded file (the CLI takes them all)
MAX_TEST_GOAD = 5000  # test rows under GOAD's protocol, which keeps every anomaly (ODDS Thyroid: 1,933)
# The loss pages' default split: a 9 is written much like a 3, 5 or 8, so the untrained encoder's kNN score
# is weak (AUROC 0.875 at seed 0) and training with these classes has room to show what it adds.
DIGITS_NORMAL = ("2", "3", "5", "8")
DIGITS_ANOMALOUS = ("9",)
SPLIT_NOTE = ("**What to look for.** The default split trains on the digits 2, 3, 5 and 8 and asks whether a 9, "
              "never seen in training, stands out. A 9 is written much like a 3, 5 or 8, so the untrained encoder's "
              "score is weak (AUROC 0.875 at seed 0). ")  # the start of each loss page's "what to look for"
TOY_NOTE = (
    "**Expect training to lower the AUROC on the toy sets.** An untrained encoder maps 2-D points smoothly, so "
    "its features keep where each point lies, and the kNN score already finds the planted anomalies (they sit at "
    "least 0.35 away from every normal point): AUROC 0.99–1.0 before training. Training keeps only what the loss "
    "asks for: a class-based loss (triplet, N-pair, SupCon) keeps *which class* a point belongs to and squeezes "
    "each class together, so an anomaly beside a moon is mapped onto that moon (triplet loss on the moons: "
    "0.999 → 0.912); SimCLR keeps what survives its jitter and drops the rest. On the digits the untrained "
    "encoder's features are poor, and training helps."
)


def chart(fig, key: str, container=st) -> None:
    """A plotly figure at full width with adlab.viz's own styling (projector-sized fonts).

    The figure is also kept for the page's downloads (:func:`figures_of`); in presenter mode it is
    drawn with larger fonts and taller.
    """
    page = st.session_state.get("_page", key.split("_", 1)[0])
    st.session_state.setdefault("_figures", {}).setdefault(page, {})[key] = fig
    if state.presenting():
        fig = state.scale_figure(fig)
    container.plotly_chart(fig, key=key, width="stretch", theme=None)


def figures_of(page: str) -> dict[str, Any]:
    """The figures :func:`chart` draws for ``page`` in this session (latest version of each key).

    The dict itself, not a copy: a download built later (on click, in another thread, where session
    state cannot be read) sees the charts drawn after the button too.
    """
    return st.session_state.setdefault("_figures", {}).setdefault(page, {})


def begin(page: str) -> None:
    """First call of a page after its imports: keep it inside app.py, forget the figures of the last
    run (the page draws its current ones again), restore the link's settings (:mod:`pages._state`),
    apply presenter mode, and put the current settings in the URL."""
    ensure_app_shell()
    st.session_state["_page"] = page
    figures_of(page).clear()  # a download holds what this run draws, never a figure an earlier run drew
    state.restore(page, check=_link_check)
    state.presenter_css()
    state.sync(page)


def _link_check(key: str, value: Any) -> str | None:
    if key.endswith("_dataset") and isinstance(value, str) and value.startswith("upload:"):
        entry = current_upload()
        if entry is None or entry["key"] != value:
            return ("This link was made with an uploaded file, which a link cannot carry. Upload the same file "
                    "in the sidebar (Your data), then pick it in the Dataset box: the other settings of the link "
                    "are restored.")
    return None


def settings_container():
    """Where a page draws its training form: the page itself, or a closed expander in presenter mode."""
    if state.presenting():
        return st.expander("Settings", expanded=False, icon=":material/tune:")
    return st.container()


def file_stem(page: str, stored: dict[str, Any]) -> str:
    """``adlab_<page>_<dataset>_seed<k>``: the start of every downloaded file's name."""
    run = stored.get("run")
    seed = stored.get("seed")
    seed = seed if seed is not None else getattr(getattr(getattr(run, "config", None), "train", None), "seed", None)
    if seed is None and run is not None and hasattr(run, "spec"):
        seed = run.spec.kwargs.get("seed", 0)
    data = stored["dataset"].replace(":", "-")
    return f"adlab_{page}_{data}_seed{seed if seed is not None else 0}"


def device() -> str:
    """The device chosen in app.py's sidebar, ``"auto"`` when the page runs on its own."""
    return str(st.session_state.get("device", "auto"))


# ----------------------------------------------------------------------------- datasets
@st.cache_data(show_spinner=False)
def _builtin_dataset(name: str) -> Dataset:
    if name == "digits":
        return load_digits()
    if name.startswith("toy:"):
        return make_toy(name.split(":", 1)[1], n=600, anomaly_fraction=0.05, seed=0)
    raise DataError(f"dataset must be one of {DATASETS} or an uploaded file, got {name!r}")


def current_upload() -> dict[str, Any] | None:
    """The file uploaded in the sidebar and parsed without error: ``{"key", "upload", "name"}``, else None."""
    entry = st.session_state.get("upload")
    return entry if entry and entry.get("upload") is not None else None


def load_dataset(name: str) -> Dataset:
    """A built-in dataset (loaded once per server) or ``upload:<digest>``, the file uploaded in this session."""
    if name.startswith("upload:"):
        entry = current_upload()
        if entry is None or entry["key"] != name:
            raise DataError("The uploaded file this view was made with is no longer loaded: upload it again in "
                            "the sidebar (Your data) and pick it in the Dataset box.")
        if entry.get("dataset") is None:
            entry["dataset"] = entry["upload"].to_dataset()
        return entry["dataset"]
    return _builtin_dataset(name)


def dataset_options(kinds: Sequence[str] = KINDS) -> list[str]:
    """The built-in datasets of the given kinds, then the uploaded file when there is one of such a kind."""
    options = [d for d in DATASETS if BUILTIN_KINDS[d] in kinds]
    entry = current_upload()
    if entry is not None and entry["upload"].kind in kinds:
        options.append(entry["key"])
        _UPLOAD_NAMES[entry["key"]] = entry["name"]
    return options


_UPLOAD_NAMES: dict[str, str] = {}  # upload key -> file name, so labels need no session state (AppTest)


def dataset_label(name: str) -> str:
    if name.startswith("upload:"):
        return f"your file: {_UPLOAD_NAMES[name]}" if name in _UPLOAD_NAMES else "an uploaded file (gone)"
    return DATASET_LABELS.get(name, name)


def pick_dataset(page: str, kinds: Sequence[str] = KINDS, *,
                 on_unlabelled: Callable[[Any], None] | None = None) -> Dataset:
    """The Dataset box (built-in sets and the sidebar's upload) with the upload's preview.

    Stops the page with a clear message when the upload cannot be trained on (no labels, one class);
    for an unlabelled upload ``on_unlabelled(upload)`` draws what can be done without labels first.
    """
    options = dataset_options(kinds)
    entry = st.session_state.get("upload")
    if entry and entry.get("upload") is not None and entry["upload"].kind not in kinds:
        st.caption(f"Your file ({entry['name']}, {entry['upload'].kind} data) is not offered here: this page "
                   f"needs {' or '.join(kinds)} data.")
    name = st.selectbox("Dataset", options, key=f"{page}_dataset", format_func=dataset_label,
                        help="Built-in sets, or your own file: upload it in the sidebar under **Your data**.")
    if not name.startswith("upload:"):
        return load_dataset(name)
    upload = current_upload()["upload"]
    preview(upload)
    if upload.kind == "image" and upload.X.shape[2] != upload.X.shape[3]:
        st.info(f"Your images are {upload.X.shape[2]}×{upload.X.shape[3]} pixels. The image models here rotate "
                "and convolve square images: choose **Resize images to** under *Your data* in the sidebar.")
    try:
        ds = load_dataset(name)
    except DataError as err:
        st.warning(str(err))
        if on_unlabelled is not None and upload.y is None:
            on_unlabelled(upload)
        st.stop()
    if len(ds.class_names) < 2:
        st.warning(f"{upload.name} has a single class ({ds.class_names[0]!r}): the pages train on normal rows and "
                   "score normal against anomalous ones, so they need at least two label values. Choose another "
                   "label column in the sidebar, or add anomalous rows.")
        st.stop()
    return ds


def preview(upload: Any) -> None:
    """What the loader made of the file: shapes, class counts, a few rows or thumbnails, what it dropped."""
    with st.expander(f"Your file: {upload.describe()}", expanded=False):
        counts = upload.class_counts()
        if counts:
            st.markdown("**Classes:** " + ", ".join(f"{k} ({v})" for k, v in counts.items()))
        for note in upload.notes:
            st.markdown(f"- {note}")
        if upload.kind == "tabular":
            st.dataframe(upload.preview_rows(8), hide_index=True, key="upload_preview_rows")
        else:
            thumbs = upload.thumbnails(per_class=6)
            if thumbs:
                st.image([t for _, t in thumbs], caption=[c for c, _ in thumbs], width=56)


@st.cache_data(show_spinner=False)
def _builtin_split(name: str, normal: tuple[str, ...], anomalous: tuple[str, ...], seed: int, max_test: int,
                   anomaly_share: float | None) -> Split:
    return one_class_split(_builtin_dataset(name), list(normal), list(anomalous), seed=seed, max_test=max_test,
                           test_anomaly_fraction=anomaly_share)


def make_split(name: str, normal: tuple[str, ...], anomalous: tuple[str, ...], seed: int, *,
               protocol: str = "one-class", max_test: int = MAX_TEST, anomaly_share: float | None = None) -> Split:
    """The one-class split of a dataset (built-in ones cached on the classes, the seed and the caps).

    An uploaded file trains on at most :data:`MAX_TRAIN_UPLOAD` normal rows and tests on at most
    ``max_test`` rows, so a page stays interactive; the CLI uses every row. ``anomaly_share``: the
    anomalies' largest share of the test set (a seeded sample of them; None keeps them all).
    ``protocol="goad"``:
    GOAD's tabular split (:func:`adlab.data.goad_split`), uncapped; too large a set is an error that
    points to the CLI rather than a silently different protocol.
    """
    if protocol == "goad":
        split = goad_split(load_dataset(name), list(normal), seed=seed)
        if len(split.X_train) > MAX_TRAIN_UPLOAD or len(split.X_test) > MAX_TEST_GOAD:
            raise DataError(
                f"GOAD's protocol on this dataset trains on {len(split.X_train):,} rows and tests on "
                f"{len(split.X_test):,}; a page keeps to {MAX_TRAIN_UPLOAD:,} and {MAX_TEST_GOAD:,}. Run it from the "
                "command line instead: python -m adlab fit goad --data YOUR_FILE")
        return split
    if not name.startswith("upload:"):
        return _builtin_split(name, normal, anomalous, seed, max_test, anomaly_share)
    return one_class_split(load_dataset(name), list(normal), list(anomalous), seed=seed, max_test=max_test,
                           max_train=MAX_TRAIN_UPLOAD, test_anomaly_fraction=anomaly_share)


@st.cache_data(show_spinner="Projecting the features with UMAP…")
def umap_pair_cached(before: np.ndarray, after: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`adlab.projection.umap_pair`, cached on the feature arrays."""
    return umap_pair(before, after, seed=seed)


def default_classes(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Normal and anomalous classes that show the effect clearly on each dataset.

    An uploaded file: the class named normal (or 0, inlier, ...) is normal, else the largest class;
    every other class is anomalous.
    """
    if name == "digits":
        return DIGITS_NORMAL, DIGITS_ANOMALOUS
    ds = load_dataset(name)
    names = ds.class_names
    if name.startswith("upload:"):
        normal = ds.likely_normal_class()
        return (normal,), tuple(n for n in names if n != normal)
    return tuple(n for n in names if n != "anomaly"), ("anomaly",)


def class_pickers(page: str, ds: Dataset, name: str, normal: Sequence[str],
                  anomalous: Sequence[str]) -> tuple[list[str], list[str]]:
    """The two class lists of a training form (keys carry the dataset, so each dataset keeps its choice)."""
    c1, c2 = st.columns(2)
    normal = c1.multiselect("Normal classes (the training data)", ds.class_names, default=list(normal),
                            key=f"{page}_normal_{name}")
    anomalous = c2.multiselect("Anomalous classes (appear only in the test set)", ds.class_names,
                               default=list(anomalous), key=f"{page}_anomalous_{name}")
    return normal, anomalous


def class_names(stored: dict[str, Any]) -> tuple[str, ...]:
    """The class names of a stored run's dataset (kept with the run, so a removed upload does not matter)."""
    return stored.get("class_names") or load_dataset(stored["dataset"]).class_names


# ----------------------------------------------------------------------------- training form
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

    ``knobs`` draws the loss's own widgets inside the form and returns ``ContrastiveConfig`` fields.
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
                batch_size=int(c1.select_slider("Batch size", [32, 64, 128, 256], value=batch_size,
                                                key=f"{page}_batch")),
                epochs=int(c2.number_input("Epochs", 1, 200, epochs, key=f"{page}_epochs")),
                lr=float(c3.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], value=lr,
                                          format_func=lambda v: f"{v:g}", key=f"{page}_lr")),
                seed=int(c4.number_input("Seed", 0, 10_000, 0, key=f"{page}_seed")),
            )
            values = knobs()
            submitted = st.form_submit_button("Train", type="primary", key=f"{page}_train")
        if name.startswith("toy:") and "anomaly" in anomalous:
            st.caption(TOY_NOTE)
    state.sync(page)
    return FormResult(submitted, name, tuple(normal), tuple(anomalous), train, values)


def progress_callback(bar: Any, *, prefix: str = "", start: float = 0.0, span: float = 1.0) -> Callable[[TrainEvent], None]:
    """An ``adlab.train`` callback that moves ``bar`` (an ``st.progress``) at most five times a second.

    The bar shows ``start + span * event.fraction`` (for several runs behind one bar).
    """
    last = [0.0]

    def update(event: TrainEvent) -> None:
        now = time.perf_counter()
        if event.kind == "step" and now - last[0] < 0.2:
            return
        last[0] = now
        where = f"epoch {min(event.epoch + 1, event.epochs)}/{event.epochs}"
        bar.progress(min(1.0, start + span * event.fraction), text=f"{prefix}{where} · loss {event.loss:.4f}")

    return update


def live_run(page: str, loss: str, knobs: Callable[[], dict[str, Any]], *, epochs: int, batch_size: int,
             lr: float, links: Sequence[Link] = ()) -> None:
    """A loss page's live part: the training form, the run it submits, then the results and the
    per-anchor explorer of the run kept in session state (or a hint to press Train).

    ``links``: the knobs the page's instant view shows too (the form starts from their values there)."""
    form = train_form(page, knobs, epochs=epochs, batch_size=batch_size, lr=lr, links=links)
    if form.submitted:
        run_and_store(page, form, loss)
    stored = st.session_state.get(f"{page}_run")
    if stored:
        show_run(page, stored)
        try:
            from pages import _export
        except ImportError:  # a page file run on its own
            import _export
        _export.section(page, lambda: _export.contrastive_files(page, stored), stem=file_stem(page, stored))
        explorer(page, stored)
    else:
        st.info("Press **Train** to learn an embedding from the normal classes and see what it does to "
                "anomaly detection.")


def run_and_store(page: str, form: FormResult, loss: str) -> ContrastiveRun | None:
    """Build the configs, train with a live progress bar, keep the result in session state.

    Errors the user can fix (bad settings, unusable data, a diverging loss) are shown with
    ``st.error``; the previous result is dropped so stale charts do not pass for new ones.
    """
    st.session_state.pop(f"{page}_run", None)
    with st.status("Training…", expanded=True) as status:
        bar = st.progress(0.0, text="building the split")
        try:
            split = make_split(form.dataset, form.normal, form.anomalous, form.train["seed"])
            cfg = ContrastiveConfig(loss=loss, train=TrainConfig(device=device(), **form.train), **form.knobs)
            run = run_contrastive(split, cfg, callbacks=[progress_callback(bar)])
        except (ValueError, NonFiniteLoss, DataError) as err:
            status.update(label="Training failed", state="error")
            st.error(str(err))
            return None
        status.update(label=f"Trained {cfg.train.epochs} epochs in {run.history.seconds:.1f} s "
                            f"on {run.history.device}", state="complete", expanded=False)
    st.session_state[f"{page}_run"] = {"run": run, "split": split, "dataset": form.dataset,
                                       "class_names": load_dataset(form.dataset).class_names}
    return run


# ----------------------------------------------------------------------------- results
def show_run(page: str, stored: dict[str, Any]) -> None:
    """Loss curve, detection metrics before/after, UMAP before/after, geometry, triplet counts."""
    run: ContrastiveRun = stored["run"]
    split: Split = stored["split"]
    names = class_names(stored)
    st.subheader("What training changed")
    st.caption(f"{dataset_label(stored['dataset'])}: {len(split.X_train)} normal training points, {len(split.X_test)} test "
               f"points ({int(run.is_anomaly.sum())} anomalous). Anomaly score = mean cosine distance to the "
               f"{run.config.knn_k} nearest normal training features (higher = more anomalous), on the "
               "encoder's features, before and after training.")
    cols = st.columns(3)
    labels = {"auroc": "AUROC", "auprc": "AUPRC", "f1": "F1"}
    for col, (key, label) in zip(cols, labels.items(), strict=True):
        before, after = run.metrics_before[key], run.metrics_after[key]
        col.metric(f"{label} after training", f"{after:.3f}", delta=f"{after - before:+.3f} vs before",
                   help=f"{label} of the kNN score with the untrained (random) encoder: {before:.3f}")
    before2d, after2d = umap_pair_cached(run.test_before, run.test_after)
    hover = [f"class {names[c]}" for c in run.y_test]
    chart(viz.umap_pair_figure(before2d, after2d, run.is_anomaly, hover=hover), f"{page}_umap")
    left, right = st.columns(2)
    chart(viz.loss_curve_figure(run.history.step_losses, run.history.epoch_losses), f"{page}_loss_curve", left)
    chart(viz.roc_figure({"before": (run.is_anomaly, run.scores_before),
                          "after": (run.is_anomaly, run.scores_after)}), f"{page}_roc", right)
    st.markdown("**Geometry of the loss space** (Wang & Isola, ICML 2020) — *lower is better for both*: "
                "alignment = mean squared distance between positive pairs, uniformity = how evenly the "
                "normalised features cover the sphere. A random encoder squeezes everything into a small "
                "region (good alignment, poor uniformity); training usually trades a little alignment for "
                "much better uniformity.")
    g1, g2 = st.columns(2)
    for col, key in ((g1, "alignment"), (g2, "uniformity")):
        before, after = run.geometry_before[key], run.geometry_after[key]
        col.metric(f"{key.capitalize()} after", f"{after:.3f}", delta=f"{after - before:+.3f}",
                   delta_color="inverse", help=f"before training: {before:.3f}")
    if run.triplet_counts:
        chart(viz.triplet_counts_figure(run.triplet_counts), f"{page}_counts")
        st.caption("As the embedding improves, more triplets become easy (loss 0): semi-hard mining keeps "
                   "the update going by training only on the ones still inside the margin.")


# ----------------------------------------------------------------------------- instant view
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


def instant_figure(view: InstantView, title: str = ""):
    """The circle figure of an instant view, with a hover line per point."""
    bd, b = view.breakdown, view.batch
    term = {int(r): k for k, r in enumerate(view.rows)}
    value_name = "distance" if view.kind == "triplet" else ("a·p" if view.kind == "npair" else "logit")
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
    """Bars of share and gradient weight for the terms of an instant view."""
    bd = view.breakdown
    labels = [f"#{r} ({view.batch.tags[r]})" for r in view.rows]
    share_title = "share of the anchor's hinge loss" if view.kind == "triplet" else "share of the denominator"
    return viz.breakdown_bar_figure(labels, bd.denominator_share, bd.grad_weight, bd.role, share_title=share_title)


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
        res = explore_anchor(run.model, split.X_test, split.y_test, row, loss=cfg.loss, data_kind=split.kind,
                             margin=cfg.margin, squared=cfg.squared, normalize=cfg.normalize,
                             l2_reg=cfg.l2_reg, temperature=cfg.temperature, variant=cfg.variant,
                             use_labels=cfg.use_labels, decoupled=cfg.decoupled,
                             augment_strength=cfg.augment_strength, seed=row)
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
    if cfg.loss == "simclr" or (cfg.loss == "supcon" and not cfg.use_labels):
        c1.caption("Without labels the only positive is the anchor's other view: points of its own class are "
                   "negatives too (a 'class collision').")
    table = {
        "test point": rows, **({"view": views} if views.any() else {}), "class": [names[split.y_test[r]] for r in rows],
        "anomalous": run.is_anomaly[rows], "role": role,
        ("distance" if cfg.loss == "triplet" else "similarity (logit)"): np.round(sim, 4),
        "share": np.round(share, 4), "grad weight": np.round(weight, 4),
    }
    c2.dataframe(table, hide_index=True, height=260, key=f"{page}_explorer_table")
    top = slice(0, max_bars)
    share_title = "share of the anchor's hinge loss" if cfg.loss == "triplet" else "share of the denominator"
    chart(viz.breakdown_bar_figure(np.asarray(labels)[top], share[top], weight[top], role[top],
                                   share_title=share_title), f"{page}_explorer_bars")
    if len(bd.index) > max_bars:
        st.caption(f"The bars show the {max_bars} terms with the largest gradient weight; the table lists all "
                   f"{len(bd.index)}.")
