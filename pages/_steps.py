"""The lecture path: the seminar's talk (shared/docs/seminar) as the app's pages, one step per slide group.

Each :class:`Step` names the page it opens (its address in app.py), the seminar's topic for it and the
settings it opens with (its *preset*: what the page needs to show the step's point at a glance). Presenter
mode's Previous / Next walk :data:`STEPS` in order and say "step k of n"; the Lecture page lists every
step with its link, which a lecturer can copy into the slides or a chat.

A preset is applied the first time a session opens the step's page (pages/_state.restore reads a link
once per page and session), so going back to a step keeps what the lecturer changed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

try:
    from pages import _state as state
except ImportError:  # a page file run on its own (AppTest)
    import _state as state


@dataclass(frozen=True)
class Step:
    """One step of the lecture: ``path`` is the page's address in app.py ("" for Home), ``page`` its
    file under pages/, ``nav`` its title's catalogue key (``nav.<nav>``), ``topic`` the seminar's topic
    (``lecture.topic.<topic>``, and ``lecture.point.<topic>``: what to show), ``minutes`` its share of the
    45-minute talk, ``preset`` the settings the step opens with ({widget key: value})."""

    path: str
    page: str
    nav: str
    topic: str
    minutes: int
    preset: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def _frozen(**preset: Any) -> Mapping[str, Any]:
    return MappingProxyType(dict(preset))


# The seminar's order: definition -> distance axioms -> anchor / positive / negative -> triplet -> N-pair ->
# SupCon -> SimCLR -> why contrastive features help -> why anomaly detection is hard -> deep one-class ->
# GOAD -> DROC -> CSI (its score, then which augmentation is a shift) -> conclusion.
STEPS: tuple[Step, ...] = (
    Step("", "home.py", "home", "definition", 2),
    Step("distances", "distances.py", "distances", "axioms", 3),
    Step("roles", "roles.py", "roles", "roles", 2, _frozen(roles_mode="class")),
    Step("triplet", "triplet.py", "triplet", "triplet", 4, _frozen(triplet_slide=True)),
    Step("npair", "npair.py", "npair", "npair", 2),
    Step("supcon", "supcon.py", "supcon", "supcon", 3, _frozen(supcon_slide=True)),
    Step("simclr", "simclr.py", "simclr", "simclr", 4, _frozen(simclr_slide=True)),
    Step("why_contrastive", "why_contrastive.py", "why_contrastive", "why_contrastive", 3),
    Step("ad_hard", "ad_hard.py", "ad_hard", "ad_hard", 2),
    Step("deep_svdd", "deep_svdd.py", "deep_svdd", "deep_svdd", 4),
    Step("goad", "goad.py", "goad", "goad", 4),
    Step("droc", "droc.py", "droc", "droc", 4),
    Step("csi", "csi.py", "csi", "csi", 3),
    Step("csi_shift", "csi_shift.py", "shift", "csi_shift", 2, _frozen(shift_transform="rotation")),
    Step("conclusion", "conclusion.py", "runs_out", "conclusion", 3),
)
MINUTES = sum(step.minutes for step in STEPS)  # the talk's length: 45


def index_of(path: str) -> int | None:
    """The position of the page at address ``path`` on the path (0-based), or None for a page beside it."""
    return next((i for i, step in enumerate(STEPS) if step.path == path), None)


def query(step: Step, *, lang: str | None = None, present: bool = False) -> dict[str, str]:
    """The query parameters that open ``step``: its preset, and the language and presenter mode asked for
    (values encoded as the address bar holds them: pages/_state.encode)."""
    params = {key: state.encode(value) for key, value in step.preset.items()}
    if lang is not None:
        params["lang"] = lang
    if present:
        params["present"] = state.encode(True)
    return params


def link(step: Step, base: str = "", *, lang: str | None = None, present: bool = False) -> str:
    """The link that opens ``step`` (``base`` is the app's address, e.g. ``http://host:8501``)."""
    params = urlencode(query(step, lang=lang, present=present))
    return f"{base.rstrip('/')}/{step.path}" + (f"?{params}" if params else "")
