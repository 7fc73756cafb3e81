"""What a page says, read from an AppTest run, and the texts in it that are in the wrong language.

:func:`texts` collects every text a reader sees: titles, Markdown, captions, alerts, widget labels, help,
placeholders and options, expander and tab labels, metric labels, table and data-frame column names, and
the titles, axis titles, legend names and annotations of every plotly figure.

:func:`english_left` lists the texts of a Korean page that are still English, by two rules:

* a text with no Hangul at all must hold no English word (of three letters or more) besides the names in
  :data:`NAMES` (methods, data sets, people, symbols: they stay as they are in Korean too) and the seminar's
  terms in :data:`TERMS` (a legend may read "anchor", a title "Triplet loss", as the seminar's slides do);
* a text with Hangul must hold no run of three lowercase English words that are not in :data:`TERMS`
  (the seminar keeps these in English: "anchor", "positive sample", "feature space", ...) or :data:`NAMES`
  with no Hangul between them: a sentence left in English inside a Korean paragraph.

LaTeX (``$...$``), code (```...```), link targets and italic spans (``*Paper title*``; the papers' titles
stay in English) are left out first. :func:`hangul_left` lists the texts of an English page that hold Hangul.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")

# Names that stay as they are in both languages (case-sensitive words or phrases).
NAMES = (
    "Contrastive Learning for Anomaly Detection", "Deep SVDD", "Deep one-class", "Isolation Forest", "OC-SVM", "NT-Xent", "InfoNCE", "SimCLR", "SupCon", "FaceNet",
    "N-pair", "GOAD", "DROC", "CSI", "SVDD", "kNN", "UMAP", "AUROC", "AUPRC", "ROC", "MNIST", "CIFAR", "ODDS",
    "Thyroid", "Arrhythmia", "KDD", "Cup", "ResNet", "LeNet", "PyTorch", "torch", "torchvision", "scikit-learn",
    "sklearn", "numpy", "NumPy", "Streamlit", "plotly", "kaleido", "Chromium", "Dask", "CUDA", "cuda", "cpu", "CPU",
    "GPU", "MPS", "mps", "auto", "Adam", "SGD", "LARS", "ReLU", "MLP", "CNN", "PCA", "CSV", "JSON", "PNG", "HTML",
    "NPZ", "npz", "csv", "json", "png", "html", "zip", "ZIP", "URL", "Hinton", "Schroff", "Kalenichenko", "Philbin",
    "Sohn", "Khosla", "Chen", "Kornblith", "Norouzi", "Ruff", "Kloft", "Bergman", "Hoshen", "Sohn", "Tack", "Shin",
    "Jeong", "Mo", "Kim", "lironber", "alinlab", "google-research", "lukasruff", "HobbitLong", "GitHub", "arXiv",
    "ICLR", "ICML", "NeurIPS", "CVPR", "ECCV", "NIPS", "et", "al", "pytorch-metric-learning", "digits", "wine",
    "breast", "cancer", "Digits", "Wine", "Breast", "Cancer", "sklearn.datasets", "Euclidean", "Mahalanobis",
    "cosine", "Cosine", "euclidean", "squared_euclidean", "Gaussian", "softmax", "logsumexp", "argmax", "English",
)
# The seminar's own English terms, which its Korean sentences keep (shared/docs/seminar).
TERMS = frozenset("""
anchor anchors positive positives negative negatives sample samples feature features space spaces augmentation
augmentations augmented class classes discrimination instance instances contrastive learning representation
representations triplet triplets loss losses margin temperature cross entropy label labels noise cosine similarity
soft hard rotated rotation rotations data normalized normalised one-class ood detection anomaly anomalies stage
framework pair pairs encoder embedding embeddings batch epoch epochs projection head view views shifted shift
semi-hard easy mining score scores centre center hypersphere collapse transformation transformations probe linear
pre-training fine-tuning self-supervised supervised unsupervised novelty outlier outliers inlier inliers
classification
""".split())

_LATEX = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
_CODE = re.compile(r"```.*?```|`[^`]*`", re.S)
_LINK = re.compile(r"\]\([^)]*\)|https?://\S+|:material/[a-z_]+:")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\*)[^*\n]+?\*(?!\*)|(?<!\w)_[^_\n]+_(?!\w)")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’.-]*[A-Za-z]|[A-Za-z]|[\uac00-\ud7a3\u3131-\u318e]+|\S")
_NAMES = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(name) for name in sorted(NAMES, key=len, reverse=True))
                    + r")(?![\w-])")


def _strip(text: str) -> str:
    for pattern in (_LATEX, _CODE, _LINK, _ITALIC):
        text = pattern.sub(" ", text)
    return _NAMES.sub(" ", text.replace("**", " "))


def _is_word(token: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z'’.-]*", token))


def is_english(text: str) -> bool:
    """Whether ``text``, shown on a Korean page, is (or holds) English the reader would have to read."""
    bare = _strip(text)
    if not HANGUL.search(text):
        return any(_is_word(tok) and len(tok) >= 3 and not tok.isupper() and tok.lower().strip(".-") not in TERMS
                   for tok in _TOKEN.findall(bare))
    run = 0
    for tok in _TOKEN.findall(bare):
        if HANGUL.search(tok):
            run = 0
        elif _is_word(tok) and tok.islower() and len(tok) >= 2 and tok.strip(".-") not in TERMS:
            run += 1
            if run >= 3:
                return True
    return False


def _figure_texts(spec: str) -> Iterator[str]:
    fig = json.loads(spec)
    layout = fig.get("layout", {})

    def title(obj) -> Iterator[str]:
        value = obj.get("title") if isinstance(obj, dict) else None
        if isinstance(value, dict):
            value = value.get("text")
        if isinstance(value, str):
            yield value

    yield from title(layout)
    for name, value in layout.items():
        if isinstance(value, dict) and re.match(r"(x|y|z)axis\d*$|legend\d*$|coloraxis\d*$", name):
            yield from title(value)
            yield from title(value.get("colorbar", {}))
        if re.match(r"scene\d*$", name) and isinstance(value, dict):
            for axis in ("xaxis", "yaxis", "zaxis"):
                yield from title(value.get(axis, {}))
    for note in layout.get("annotations", []):
        if isinstance(note.get("text"), str):
            yield note["text"]
    for trace in fig.get("data", []):
        if isinstance(trace.get("name"), str) and trace.get("showlegend", True) is not False:
            yield trace["name"]
        yield from title(trace.get("colorbar", {}))
        yield from title(trace.get("marker", {}).get("colorbar", {}) if isinstance(trace.get("marker"), dict) else {})
        header = trace.get("header", {})
        if isinstance(header, dict) and isinstance(header.get("values"), list):
            yield from (str(v) for v in header["values"])


def texts(at) -> list[str]:
    """Every text a reader of the AppTest run ``at`` sees (see the module's docstring), in page order."""
    found: list[str] = []

    def add(value) -> None:
        if isinstance(value, str) and value.strip():
            found.append(value)

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if kind == "plotly_chart" and proto is not None:
            found.extend(t for t in _figure_texts(proto.spec) if t.strip())
        elif kind in ("dataframe", "table", "arrow_data_frame", "arrow_table"):
            try:
                frame = node.value
                found.extend(str(c) for c in frame.columns)
                if frame.index.name:
                    found.append(str(frame.index.name))
            except Exception:  # noqa: BLE001 - a frame AppTest cannot rebuild: its column names are not read
                pass
        elif proto is not None and kind not in ("latex", "code"):
            for field in ("body", "label", "help", "placeholder", "caption"):
                if hasattr(proto, field):
                    try:
                        add(getattr(proto, field))
                    except AttributeError:
                        pass
            for field in ("options", "display_values"):
                values = getattr(proto, field, None)
                if values is not None and not isinstance(values, str):
                    try:
                        for v in values:
                            v = getattr(v, "content", v)  # a segmented control's / pills' option is a message
                            if str(v).strip():
                                found.append(str(v))
                    except TypeError:
                        pass
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return found


def english_left(at) -> list[str]:
    """The texts of a Korean page (an AppTest run) that are still English (:func:`is_english`)."""
    return [text for text in texts(at) if is_english(text)]


def hangul_left(at, allowed: tuple[str, ...] = ("한국어",)) -> list[str]:
    """The texts of an English page that hold Hangul (the language switch's own name ``한국어`` aside)."""
    return [text for text in texts(at) if HANGUL.search(text) and text not in allowed]
