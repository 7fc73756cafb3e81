"""Distances, by concern:

- :mod:`adlab.distances.embedding`: torch distances between embeddings that carry their meaning
  (larger is closer or farther, the margin's direction), used by the losses, mining and kNN;
- :mod:`adlab.distances.search`: exact k-nearest neighbours with one of those;
- :mod:`adlab.distances.metric`: named numpy distances for the axiom checker, computed by the
  torch objects where the formula is theirs; :mod:`adlab.distances.learned`: ``d(f(x), f(y))``;
- :mod:`adlab.distances.axioms`: the checker of the four metric axioms;
- :mod:`adlab.distances.demos`: the classic counterexamples.
"""

from adlab.distances.axioms import (
    AXIOMS,
    IDENTITY,
    NON_NEGATIVITY,
    SYMMETRY,
    TRIANGLE,
    AxiomReport,
    AxiomResult,
    Counterexample,
    check_axioms,
    structure,
)
from adlab.distances.demos import DEMOS, Demo, demo_points
from adlab.distances.embedding import (
    COSINE,
    COSINE_DISTANCE,
    DOT,
    EMBEDDING_DISTANCES,
    EUCLIDEAN,
    SQUARED_EUCLIDEAN,
    EmbeddingDistance,
    embedding_distance,
)
from adlab.distances.learned import LearnedDistance
from adlab.distances.metric import (
    DISTANCES,
    Distance,
    DomainError,
    FormulaDistance,
    angular,
    chebyshev,
    cosine,
    euclidean,
    get_distance,
    kl_divergence,
    manhattan,
    squared_euclidean,
)
from adlab.distances.search import Neighbours, k_nearest

__all__ = [
    "AXIOMS",
    "COSINE",
    "COSINE_DISTANCE",
    "DEMOS",
    "DISTANCES",
    "DOT",
    "EMBEDDING_DISTANCES",
    "EUCLIDEAN",
    "IDENTITY",
    "NON_NEGATIVITY",
    "SQUARED_EUCLIDEAN",
    "SYMMETRY",
    "TRIANGLE",
    "AxiomReport",
    "AxiomResult",
    "Counterexample",
    "Demo",
    "Distance",
    "DomainError",
    "EmbeddingDistance",
    "FormulaDistance",
    "LearnedDistance",
    "Neighbours",
    "angular",
    "chebyshev",
    "check_axioms",
    "cosine",
    "demo_points",
    "embedding_distance",
    "euclidean",
    "get_distance",
    "k_nearest",
    "kl_divergence",
    "manhattan",
    "squared_euclidean",
    "structure",
]
