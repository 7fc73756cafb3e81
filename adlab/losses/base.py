"""The contract every loss module fulfils, and the context its training step receives.

A loss is one module (e.g. :mod:`adlab.losses.triplet`) registered in :mod:`adlab.registry`. It
carries:

* ``NAME`` (the registry key: links, exports, the CLI), ``LABEL`` (for people), ``PAPER_KEY``;
* ``Config``: a frozen dataclass of the loss's own settings only, validated in ``__post_init__``;
* ``positives(cfg) -> "class" | "augmentation"``: where its positive pairs come from (class labels,
  or two augmented views of one sample); alignment is measured on such pairs;
* ``make_step(cfg, ctx) -> step``: the training step ``step(model, batch) -> 0-d loss`` for
  :func:`adlab.train.fit`, built once per run from a :class:`StepContext`;
* ``breakdown(cfg, *, anchor, **inputs) -> AnchorBreakdown``: one anchor's loss term by term, on the
  loss's own inputs (see each module);
* ``instant_view(batch, anchor, cfg, **extra) -> InstantView`` and ``instant_batch() ->
  CircleBatch``: the loss on a fixed batch of 2-D unit vectors, for the loss pages;
* ``explore(cfg, pool) -> ExplorerResult``: the breakdown of one real test point inside a batch
  drawn from an :class:`adlab.instant.ExplorerPool` like the batches the loss trains on.

Optional: ``batches(X, y, batch_size) -> BatchSource``, the training data as
:func:`adlab.train.fit` takes it (default: shuffled minibatches of ``(X, y)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["AUGMENTATION", "CLASS", "POSITIVES", "StepContext"]

CLASS = "class"  # positives share a class label
AUGMENTATION = "augmentation"  # positives are two augmented views of one sample
POSITIVES = (CLASS, AUGMENTATION)


@dataclass(frozen=True)
class StepContext:
    """What a training step may use besides its own settings.

    ``augment(x, generator)``: the run's augmentation (same shape out); ``generator``: its seeded
    random source (``train.seed + 1``); ``labels`` ``(n,)``: the training labels relabelled
    ``0..k-1`` (CPU); ``record(counts)``: adds per-batch counters to the current epoch's totals
    (they end up in :attr:`adlab.contrastive.ContrastiveRun.triplet_counts`).
    """

    augment: Callable[[Tensor, torch.Generator], Tensor]
    generator: torch.Generator
    labels: Tensor
    record: Callable[[Mapping[str, int]], None]

    def views(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Two augmented views of ``x`` ``(B, ...)``, drawn one after the other from ``generator``."""
        v1 = self.augment(x, self.generator)
        v2 = self.augment(x, self.generator)
        return v1, v2
