"""The pages' data: built-in datasets and the sidebar's upload, the Dataset box, the one-class split,
the class pickers. Imports no other page helper but :mod:`pages._i18n` (its texts: the ``data.`` keys of
the catalogue) and :mod:`pages._state`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from adlab import i18n
from adlab.data import DataError, Dataset, Split, load_digits, make_toy, one_class_split
from adlab.data import split as splits

try:
    from pages import _i18n as i18n_ui
except ImportError:  # a page file run on its own (AppTest)
    import _i18n as i18n_ui

t = i18n_ui.t

DATASETS = ("digits", "toy:blobs", "toy:moons", "toy:rings")
#: The Dataset box shows these as ``data.name.<name>`` (``:`` written ``_``): :func:`dataset_label`.
DATASET_LABELS = {name: i18n.text(f"data.name.{name.replace(':', '_')}", "en") for name in DATASETS}
BUILTIN_KINDS = {"digits": "image", "toy:blobs": "tabular", "toy:moons": "tabular", "toy:rings": "tabular"}
KINDS = ("tabular", "image")
MAX_TEST = 400  # test points scored and projected; keeps UMAP well under a second or two
MAX_TRAIN_UPLOAD = 3000  # training rows taken from an uploaded file (the CLI takes them all)
MAX_TEST_GOAD = 5000  # test rows under GOAD's protocol, which keeps every anomaly (ODDS Thyroid: 1,933)
# The loss pages' default split: a 9 is written much like a 3, 5 or 8, so the untrained encoder's kNN score
# is weak (AUROC 0.875 at seed 0) and training with these classes has room to show what it adds.
DIGITS_NORMAL = ("2", "3", "5", "8")
DIGITS_ANOMALOUS = ("9",)
#: The start of each loss page's "what to look for" (English; a page says it in its language with
#: ``t("data.split_note")``): the default split trains on 2, 3, 5, 8 and asks whether a 9 stands out.
SPLIT_NOTE = i18n.text("data.split_note", "en")
#: Why training lowers the AUROC on the toy sets (English; on a page ``t("data.toy_note")``).
TOY_NOTE = i18n.text("data.toy_note", "en")


@st.cache_data(show_spinner=False)
def _builtin_dataset(name: str) -> Dataset:
    if name == "digits":
        return load_digits()
    if name.startswith("toy:"):
        return make_toy(name.split(":", 1)[1], n=600, anomaly_fraction=0.05, seed=0)
    raise DataError.say("data.error.unknown_dataset", allowed=str(DATASETS), name=name)


def current_upload() -> dict[str, Any] | None:
    """The file uploaded in the sidebar and parsed without error: ``{"key", "upload", "name"}``, else None."""
    entry = st.session_state.get("upload")
    return entry if entry and entry.get("upload") is not None else None


def load_dataset(name: str) -> Dataset:
    """A built-in dataset (loaded once per server) or ``upload:<digest>``, the file uploaded in this session."""
    if name.startswith("upload:"):
        entry = current_upload()
        if entry is None or entry["key"] != name:
            raise DataError.say("data.error.upload_gone")
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


def dataset_label(name: str, lang: str | None = None) -> str:
    """What the Dataset box shows for ``name`` (a built-in set or ``upload:<digest>``), in ``lang`` (default:
    the session's language; give it where no session can be read, e.g. a download built on click)."""
    say = (lambda key, **fields: i18n.text_or_english(key, lang, **fields)) if lang else t
    if name.startswith("upload:"):
        return say("data.your_file", name=_UPLOAD_NAMES[name]) if name in _UPLOAD_NAMES else say("data.upload_gone_label")
    return say(f"data.name.{name.replace(':', '_')}") if name in DATASET_LABELS else name


def class_label(name: str, dataset: str, lang: str | None = None) -> str:
    """A class of ``dataset`` as the page shows it: a toy set's classes (``"blob 0"``, ``"upper moon"``,
    ``"anomaly"``) in ``lang`` (default: the session's), any other class name (digits, a file's) as it is."""
    key = f"data.class.{name.replace(' ', '_')}"
    if not dataset.startswith("toy:") or key not in i18n.catalogue(i18n.REFERENCE):
        return name
    return i18n.text_or_english(key, lang or i18n_ui.lang())


def pick_dataset(page: str, kinds: Sequence[str] = KINDS, *,
                 on_unlabelled: Callable[[Any], None] | None = None) -> Dataset:
    """The Dataset box (built-in sets and the sidebar's upload) with the upload's preview.

    Stops the page with a clear message when the upload cannot be trained on (no labels, one class);
    for an unlabelled upload ``on_unlabelled(upload)`` draws what can be done without labels first.
    """
    options = dataset_options(kinds)
    entry = st.session_state.get("upload")
    if entry and entry.get("upload") is not None and entry["upload"].kind not in kinds:
        words = [t(f"data.kind.{kind}") for kind in kinds]
        needed = t("data.kinds_or", first=words[0], second=words[1]) if len(words) == 2 else " / ".join(words)
        st.caption(t("data.not_offered", name=entry["name"], kind=t(f"data.kind.{entry['upload'].kind}"),
                     needed=needed))
    lang = i18n_ui.lang()  # bound now: AppTest calls format_func outside the run, where no session is read
    name = st.selectbox(t("data.dataset"), options, key=f"{page}_dataset",
                        format_func=lambda option: dataset_label(option, lang), help=t("data.dataset_help"))
    if not name.startswith("upload:"):
        return load_dataset(name)
    upload = current_upload()["upload"]
    preview(upload)
    if upload.kind == "image" and upload.X.shape[2] != upload.X.shape[3]:
        st.info(t("data.non_square", height=upload.X.shape[2], width=upload.X.shape[3]))
    try:
        ds = load_dataset(name)
    except DataError as err:
        st.warning(i18n.message(err, lang))
        if on_unlabelled is not None and upload.y is None:
            on_unlabelled(upload)
        st.stop()
    if len(ds.class_names) < 2:
        st.warning(t("data.single_class", name=upload.name, only=ds.class_names[0]))
        st.stop()
    return ds


def preview(upload: Any) -> None:
    """What the loader made of the file: shapes, class counts, a few rows or thumbnails, what it dropped."""
    lang = i18n_ui.lang()
    with st.expander(t("data.preview", description=upload.describe(lang)), expanded=False):
        counts = upload.class_counts()
        if counts:
            st.markdown(t("data.classes", counts=", ".join(f"{k} ({v})" for k, v in counts.items())))
        for note in upload.notes:
            st.markdown(f"- {i18n.message(note, lang)}")
        if upload.kind == "tabular":
            st.dataframe(upload.preview_rows(8, lang=lang), hide_index=True, key="upload_preview_rows")
        else:
            thumbs = upload.thumbnails(per_class=6, lang=lang)
            if thumbs:
                st.image([img for _, img in thumbs], caption=[c for c, _ in thumbs], width=56)


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
            raise DataError.say("data.error.goad_too_large", n_train=len(split.X_train), n_test=len(split.X_test),
                                max_train=MAX_TRAIN_UPLOAD, max_test=MAX_TEST_GOAD, split=goad_split)
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
    lang = i18n_ui.lang()  # bound now (AppTest calls format_func outside the run)

    def shown(option: str) -> str:
        return class_label(option, name, lang)

    normal = c1.multiselect(t("data.normal_classes"), ds.class_names, default=list(normal),
                            key=f"{page}_normal_{name}", format_func=shown)
    anomalous = c2.multiselect(t("data.anomalous_classes"), ds.class_names,
                               default=list(anomalous), key=f"{page}_anomalous_{name}", format_func=shown)
    return normal, anomalous


def class_names(stored: dict[str, Any]) -> tuple[str, ...]:
    """The class names of a stored run's dataset (kept with the run, so a removed upload does not matter)."""
    return stored.get("class_names") or load_dataset(stored["dataset"]).class_names
