"""The pages' data: built-in datasets and the sidebar's upload, the Dataset box, the one-class split,
the class pickers. Imports no other page helper but :mod:`pages._state`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from adlab.data import DataError, Dataset, Split, load_digits, make_toy, one_class_split
from adlab.data import split as splits

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
               protocol: str = "one-class", max_test: int = MAX_TEST, anomaly_share: float | None = None,
               goad_split: str = "official") -> Split:
    """The one-class split of a dataset (built-in ones cached on the classes, the seed and the caps).

    An uploaded file trains on at most :data:`MAX_TRAIN_UPLOAD` normal rows and tests on at most
    ``max_test`` rows, so a page stays interactive; the CLI uses every row. ``anomaly_share``: the
    anomalies' largest share of the test set (a seeded sample of them; None keeps them all).
    ``protocol="goad"``:
    GOAD's tabular split (:func:`adlab.data.goad_split`; ``goad_split`` = ``"official"``, the normal rows
    in file order, or ``"random"``, permuted with the seed), uncapped; too large a set is an error that
    points to the CLI rather than a silently different protocol.
    """
    if protocol == "goad":
        split = splits.goad_split(load_dataset(name), list(normal), seed=seed, split=goad_split)
        if len(split.X_train) > MAX_TRAIN_UPLOAD or len(split.X_test) > MAX_TEST_GOAD:
            raise DataError(
                f"GOAD's protocol on this dataset trains on {len(split.X_train):,} rows and tests on "
                f"{len(split.X_test):,}; a page keeps to {MAX_TRAIN_UPLOAD:,} and {MAX_TEST_GOAD:,}. Run it from the "
                f"command line instead: python -m adlab fit goad --data YOUR_FILE --split {goad_split}")
        return split
    if not name.startswith("upload:"):
        return _builtin_split(name, normal, anomalous, seed, max_test, anomaly_share)
    return one_class_split(load_dataset(name), list(normal), list(anomalous), seed=seed, max_test=max_test,
                           max_train=MAX_TRAIN_UPLOAD, test_anomaly_fraction=anomaly_share)


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
