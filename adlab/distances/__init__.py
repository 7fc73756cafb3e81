"""Distances: torch embedding distances with their meaning (:mod:`adlab.distances.embedding`) and
the numpy distances of the axiom checker, built on them."""

from adlab.distances._legacy import *  # noqa: F403  (split by concern next)
from adlab.distances._legacy import __all__ as _legacy_all
from adlab.distances.embedding import *  # noqa: F403
from adlab.distances.embedding import __all__ as _embedding_all

__all__ = [*_legacy_all, *_embedding_all]
