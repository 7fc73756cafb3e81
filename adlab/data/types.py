"""The in-memory dataset type, the error raised for data that cannot be used, and the texts it says.

A :class:`DataError` says what is wrong with a user's file or choice and what to do about it; the app
shows it in the reader's language, the CLI in English. Raise one that can be translated like this:

1. write the English sentence into ``assets/i18n/en/<area>.toml`` under a key of your area, its
   changing parts as named fields (``[upload.error] empty = "{name}: the file is empty (0 bytes); ..."``),
   and the Korean into ``assets/i18n/ko/<area>.toml`` under the same key with the same fields;
2. raise ``DataError.say("upload.error.empty", name=name)``.

``str(err)`` is then the English sentence, exactly as a plain ``DataError("...")`` would say it (the CLI
prints it, tests match it), and ``err.text_key`` / ``err.text_fields`` let :func:`adlab.i18n.message`
say it in the page's language: ``st.error(i18n.message(err, i18n_ui.lang()))``. A field may itself be a
piece of text said from the catalogue, a :class:`Text` (``where=Text("upload.piece.row", row=5)``, a
choice between sentences, a plural): it is said in the same language as the sentence around it. A
plain ``DataError("message")`` still works and is shown as it is (``text_key`` is None): use it for
errors only a developer sees.

:class:`Text` serves any other sentence adlab builds for the app (an upload's notes, its one-line
description): it *is* the English ``str``, and knows its key and fields for the other languages
(:func:`adlab.i18n.message` says either in a language).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from adlab import i18n

__all__ = ["DataError", "Dataset", "KINDS", "Text"]

KINDS = ("tabular", "image")
#: class names (any case) that a user's file gives its normal rows, in order of preference
NORMAL_NAMES = ("normal", "0", "inlier", "inliers", "good", "ok", "false", "no")


class Text(str):
    """A text from the catalogue: the English ``str`` itself, plus the key and fields to say it in another language.

    ``Text("upload.error.empty", name="d.csv")`` equals the English template of ``upload.error.empty``
    with its fields filled, so printing, joining, ``in`` and ``==`` all see the English text;
    ``text_key`` and ``text_fields`` (read-only) are what :func:`adlab.i18n.message` reads. A field that is itself a ``Text`` is said in the same language as the
    text around it. ``KeyError`` for a key the English catalogue lacks (a typo: every test finds it).
    Pickles as its key and fields (a worker process rebuilds it from its own catalogue).
    """

    text_key: str
    text_fields: Mapping[str, Any]

    def __new__(cls, key: str, /, **fields: Any) -> Text:
        self = super().__new__(cls, i18n.text(key, i18n.REFERENCE, **fields))
        self.text_key = key
        self.text_fields = MappingProxyType(dict(fields))
        return self

    def __reduce__(self):
        return (_rebuild_text, (self.text_key, dict(self.text_fields)))


def _rebuild_text(key: str, fields: dict[str, Any]) -> Text:
    return Text(key, **fields)


class DataError(ValueError):
    """Data that cannot be used as it is: a missing folder, a truncated file, an unknown class.

    The message says what is wrong and what to do about it; the app shows it to the user. Raise
    ``DataError.say(key, **fields)`` (see the module docstring) for a message the app translates:
    ``str(err)`` is its English text, ``text_key`` its catalogue key and ``text_fields`` its fields. A
    plain ``DataError("message")`` (``text_key`` None, ``text_fields`` empty) is shown as it is.
    """

    text_key: str | None  #: the catalogue key of the message; None for a plain message
    text_fields: Mapping[str, Any]  #: the fields of the catalogue text; empty for a plain message

    def __init__(self, message: str = "", /) -> None:
        super().__init__(message)
        self.text_key = getattr(message, "text_key", None)
        self.text_fields = dict(getattr(message, "text_fields", None) or {})  # a dict: the error pickles

    @classmethod
    def say(cls, key: str, /, **fields: Any) -> DataError:
        """The error whose message is the catalogue text ``key`` with ``fields`` (English in ``str(err)``)."""
        return cls(Text(key, **fields))


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled dataset held in memory.

    Attributes:
        X: float32, tabular ``(n, d)`` or images ``(n, C, H, W)`` scaled to ``[0, 1]``.
        y: int64 ``(n,)``, index into ``class_names``.
        class_names: one name per class; ``y`` takes values in ``0 .. len(class_names) - 1``.
        name: short name shown in the app.
        kind: ``"tabular"`` or ``"image"``.

    ``eq=False`` keeps identity equality and hashing (comparing arrays element-wise is ambiguous).
    """

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    name: str
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if not isinstance(self.X, np.ndarray) or self.X.dtype != np.float32:
            raise DataError(f"{self.name}: X must be a float32 numpy array, got {_describe(self.X)}")
        if not isinstance(self.y, np.ndarray) or self.y.dtype != np.int64 or self.y.ndim != 1:
            raise DataError(
                f"{self.name}: y must be an int64 numpy array of shape (n,), got {_describe(self.y)}"
            )
        want_ndim = 2 if self.kind == "tabular" else 4
        if self.X.ndim != want_ndim:
            layout = "(n, d)" if self.kind == "tabular" else "(n, C, H, W)"
            raise DataError(f"{self.name}: {self.kind} X must have shape {layout}, got {self.X.shape}")
        if len(self.X) != len(self.y):
            raise DataError(f"{self.name}: X has {len(self.X)} rows but y has {len(self.y)} labels")
        if not isinstance(self.class_names, tuple) or not self.class_names:
            raise DataError(f"{self.name}: class_names must be a non-empty tuple of names")
        if len(self.y) and (self.y.min() < 0 or self.y.max() >= len(self.class_names)):
            raise DataError(
                f"{self.name}: labels must lie in 0..{len(self.class_names) - 1} "
                f"(one per class name), found {int(self.y.min())}..{int(self.y.max())}"
            )

    def __len__(self) -> int:
        return len(self.y)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(d,)`` or ``(C, H, W)``."""
        return tuple(int(s) for s in self.X.shape[1:])

    def class_counts(self) -> dict[str, int]:
        """Number of rows per class name (classes without rows included, with 0)."""
        counts = np.bincount(self.y, minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts, strict=True)}

    def likely_normal_class(self) -> str:
        """The class a user's file most likely means as normal: the first of :data:`NORMAL_NAMES` among
        the class names (any case), else the largest class (anomalies are the rare ones)."""
        lower = [n.lower() for n in self.class_names]
        hits = [self.class_names[lower.index(n)] for n in NORMAL_NAMES if n in lower]
        return hits[0] if hits else max(self.class_counts().items(), key=lambda kv: kv[1])[0]


def _describe(a: object) -> str:
    if isinstance(a, np.ndarray):
        return f"array of dtype {a.dtype} and shape {a.shape}"
    return type(a).__name__
