"""The classic counterexamples: a few hand-placed points for each way a "distance" stops being a metric.

Squared Euclidean (0, 1, 2 on a line) and cosine distance (unit vectors at 0, 45, 90 degrees)
break the triangle inequality; cosine and angular distance on x and 2x, and a learned distance
whose encoder forgets a coordinate, break identity of indiscernibles; KL breaks symmetry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from adlab import i18n
from adlab.distances.axioms import IDENTITY, SYMMETRY, TRIANGLE
from adlab.distances.learned import LearnedDistance
from adlab.distances.metric import Distance, angular, cosine, kl_divergence, squared_euclidean

__all__ = ["DEMOS", "Demo", "demo_points"]


@dataclass(frozen=True, eq=False)
class Demo:
    """A ready-made counterexample: ``check_axioms(distance, points)`` finds ``breaks`` failing;
    :meth:`caption` says why, in a language of the app."""

    key: str
    distance: Distance
    points: np.ndarray
    breaks: str

    def caption(self, lang: str = "en") -> str:
        """One sentence on why these points break ``breaks`` (the catalogue's ``distances.demo.<key>``)."""
        return i18n.text(f"distances.demo.{self.key}", lang)


def _demos() -> dict[str, Demo]:
    r = math.sqrt(0.5)
    projection = torch.nn.Linear(2, 1, bias=False)  # f(x) = x_1: not injective
    with torch.no_grad():
        projection.weight.copy_(torch.tensor([[1.0, 0.0]]))
    demos = (
        Demo("squared_euclidean", squared_euclidean, np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]), TRIANGLE),
        Demo("cosine", cosine, np.array([[1.0, 0.0], [r, r], [0.0, 1.0]]), TRIANGLE),
        Demo("cosine_identity", cosine, np.array([[1.0, 0.5], [2.0, 1.0], [-0.5, 1.0]]), IDENTITY),
        Demo("angular_identity", angular, np.array([[1.0, 0.5], [2.0, 1.0], [-0.5, 1.0]]), IDENTITY),
        Demo("learned", LearnedDistance(projection), np.array([[1.0, 0.0], [1.0, 2.0], [3.0, 1.0]]), IDENTITY),
        Demo("kl_divergence", kl_divergence, np.array([[0.5, 0.5], [0.9, 0.1], [0.99, 0.01]]), SYMMETRY),
    )
    return {d.key: d for d in demos}


DEMOS: dict[str, Demo] = _demos()


def demo_points(name: str) -> Demo:
    """The classic counterexample called ``name`` (a key of :data:`DEMOS`); ``.points`` are the
    points, ``.distance`` the distance they break and ``.breaks`` the axiom."""
    if name not in DEMOS:
        raise ValueError(f"name must be one of {', '.join(map(repr, DEMOS))}, got {name!r}")
    return DEMOS[name]
