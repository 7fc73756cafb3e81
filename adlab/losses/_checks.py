"""Argument checks and small numeric helpers shared by the loss modules (private).

Every check raises ``ValueError`` that names the offending argument and the allowed range.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import torch
from torch import Tensor

from adlab.distances.embedding import safe_sqrt  # noqa: F401  (one implementation, re-exported)


def user_error(message: str, text_key: str, **text_fields: object) -> ValueError:
    """A ``ValueError`` the user can fix (too few classes, say): ``message`` for the CLI and the logs, and the
    catalogue key ``text_key`` with its ``text_fields`` from which :func:`adlab.i18n.message` says it in the
    app's language. Plain attributes on a plain ``ValueError``, so it survives pickling (a job's worker)."""
    err = ValueError(message)
    err.text_key, err.text_fields = text_key, dict(text_fields)
    return err


def check_matrix(name: str, x: object, *, min_rows: int = 1) -> Tensor:
    """``x`` must be a floating 2-D tensor ``(N, d)`` with ``N >= min_rows`` and ``d >= 1``."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (N, d), got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{name} must be 2-D (N, d), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.shape[0] < min_rows or x.shape[1] < 1:
        raise ValueError(f"{name} needs at least {min_rows} row(s) and 1 column, got shape {tuple(x.shape)}")
    return x


def check_same_shape(**tensors: Tensor) -> None:
    """All named tensors must share one shape (same rows and same dimension)."""
    (first, ref), *rest = tensors.items()
    for name, x in rest:
        if x.shape != ref.shape:
            raise ValueError(
                f"{name} must have the same shape as {first} {tuple(ref.shape)}, got {tuple(x.shape)}"
            )


def check_positive(name: str, value: float) -> float:
    """``value`` must be a finite number > 0 (temperatures)."""
    if not _is_real(value) or not (0.0 < float(value) < math.inf):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_non_negative(name: str, value: float) -> float:
    """``value`` must be a finite number >= 0 (margins, regularisation weights)."""
    if not _is_real(value) or not (0.0 <= float(value) < math.inf):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def check_labels(labels: object, n: int, device: torch.device) -> Tensor:
    """Labels as a 1-D integer tensor of length ``n`` on ``device`` (accepts sequences/arrays)."""
    try:
        lab = torch.as_tensor(labels, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"labels must be a 1-D integer sequence of length {n}: {err}") from err
    if lab.dim() != 1 or lab.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},) to match the rows, got {tuple(lab.shape)}")
    if lab.is_floating_point() or lab.is_complex():
        raise ValueError(f"labels must be integers, got dtype {lab.dtype}")
    return lab


def check_index(name: str, value: int, n: int) -> int:
    """``value`` must be an integer (Python or numpy) in ``0..n-1``."""
    try:
        index = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        index = None
    if index is None or not 0 <= index < n:
        raise ValueError(f"{name} must be an integer in 0..{n - 1}, got {value!r}")
    return index



def _is_real(value: object) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return not isinstance(value, complex)
