r"""A learned distance :math:`d_f(x, y) = d(f(x), f(y))`: a base distance between encoder features.

With a metric base it is only a pseudometric: symmetry and the triangle inequality carry over,
identity of indiscernibles does not wherever the encoder ``f`` maps two inputs to one feature.
"""

from __future__ import annotations

import numpy as np
import torch

from adlab import i18n
from adlab.distances._arrays import as_float_array, check_points
from adlab.distances.axioms import AXIOMS, IDENTITY
from adlab.distances.metric import Distance, euclidean, get_distance

__all__ = ["LearnedDistance"]


class LearnedDistance(Distance):
    r"""``d_f(x, y) = base(f(x), f(y))`` for an encoder ``f``.

    Inputs may be any batch ``(n, ...)`` the encoder takes (vectors ``(n, d)`` or images
    ``(n, C, H, W)``); they are fed in ``batch_size`` chunks, in eval mode and without gradients,
    on the encoder's own device and dtype (the encoder's train/eval mode is restored afterwards).
    With a metric ``base`` this is a pseudometric: symmetry and the triangle inequality carry
    over, identity does not wherever ``f`` maps two different inputs to the same feature.
    """

    def __init__(
        self, encoder: torch.nn.Module, base: Distance | str = euclidean, *, batch_size: int = 1024
    ) -> None:
        if not isinstance(encoder, torch.nn.Module):
            raise ValueError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
        if isinstance(base, str):
            base = get_distance(base)
        if not isinstance(base, Distance):
            raise ValueError(f"base must be a Distance or a registered name, got {base!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.encoder = encoder
        self.base = base
        self.batch_size = batch_size
        self.name = f"learned_{base.name}"
        self.latex = rf"d_f(x, y) = d\big(f(x), f(y)\big), \quad {base.latex}"
        self.is_metric = False
        self.domain = "inputs of the encoder"
        self.fails = tuple(a for a in AXIOMS if a == IDENTITY or a in base.fails)
        self.claim = self.claim_in("en")

    def claim_in(self, lang: str) -> str:
        """What theory says about ``d_f`` in ``lang``: a pseudometric over a metric base, else the base's
        failures plus identity."""
        key = "learned_metric" if self.base.is_metric and not self.base.fails else "learned_other"
        return i18n.text(f"distances.claim.{key}", lang, base=self.base.name)

    def __repr__(self) -> str:
        return f"LearnedDistance(encoder={type(self.encoder).__name__}, base={self.base.name!r})"

    def validate(self, X: object, arg: str = "X") -> np.ndarray:
        return check_points(X, arg, max_ndim=None)

    def embed(self, X: object) -> np.ndarray:
        """Encoder features ``f(X)`` as float64 ``(n, k)`` (flattened per point)."""
        return self._embed(self.validate(X, "X"))

    def _embed(self, X: np.ndarray) -> np.ndarray:
        param = next(self.encoder.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        was_training = self.encoder.training
        self.encoder.eval()
        try:
            with torch.no_grad():
                chunks = [
                    self.encoder(torch.as_tensor(X[a : a + self.batch_size], dtype=dtype, device=device))
                    for a in range(0, X.shape[0], self.batch_size)
                ]
        finally:
            self.encoder.train(was_training)
        feats = torch.cat(chunks).reshape(X.shape[0], -1)  # (n, k)
        return feats.detach().cpu().double().numpy()

    def _pairwise(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        FX = self.base.validate(self._embed(X), "features of X")
        FY = FX if Y is X else self.base.validate(self._embed(Y), "features of Y")
        return self.base._pairwise(FX, FY)

    def __call__(self, x: object, y: object) -> float:
        """``d_f(x, y)`` for two single inputs of the encoder's input shape (no batch axis)."""
        xa, ya = as_float_array(x, "x"), as_float_array(y, "y")
        return float(self.pairwise(xa[None], ya[None])[0, 0])
