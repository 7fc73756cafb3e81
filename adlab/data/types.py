"""The in-memory dataset type and the error raised for data that cannot be used."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DataError", "Dataset", "KINDS"]

KINDS = ("tabular", "image")
#: class names (any case) that a user's file gives its normal rows, in order of preference
NORMAL_NAMES = ("normal", "0", "inlier", "inliers", "good", "ok", "false", "no")


class DataError(ValueError):
    """Data that cannot be used as it is: a missing folder, a truncated file, an unknown class.

    The message says what is wrong and what to do about it; the app shows it to the user as is.
    """


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
