"""The texts :mod:`adlab.lessons.runs_out` writes from its numbers, in a language: the page's table, its
verdict (the conclusion, computed from the AUROCs, never fixed text) and the papers' lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from adlab import i18n
from adlab.lessons.runs_out import (
    BASELINES,
    CHANCE,
    CONTRASTIVE,
    TIE,
    TRANSFORMING,
    DataRun,
    Sweep,
    aurocs,
    family,
    label,
    title,
)

__all__ = ["paper_line", "table", "verdict"]


def table(results: Sequence[tuple[DataRun, Sweep | None]], strength: float, lang: str = "en") -> dict[str, list]:
    """The page's table: one row per method, one AUROC column per data set (None where it does not run);
    column names and methods in ``lang``."""
    scores = [aurocs(run, sweep, strength) for run, sweep in results]
    order = [m for m in (*CONTRASTIVE, *TRANSFORMING, *BASELINES) if any(m in s for s in scores)]
    out: dict[str, list] = {i18n.text("lessons.runs_out.method_column", lang): [label(m, lang) for m in order],
                            i18n.text("lessons.runs_out.family_column", lang): [family(m, lang) for m in order]}
    for (run, _), s in zip(results, scores, strict=True):
        out[title(run, lang)] = [round(s[m], 3) if m in s else None for m in order]
    return out


def verdict(results: Sequence[tuple[DataRun, Sweep | None]], strength: float, lang: str = "en") -> list[str]:
    """The conclusion, one Markdown sentence or two per item, computed from the numbers (never fixed text),
    in ``lang``."""

    def say(key: str, **fields: Any) -> str:
        return i18n.text(f"lessons.runs_out.verdict.{key}", lang, **fields)

    def compare(a: float, b: float) -> str:
        d = a - b
        return say("ties_with" if abs(d) < TIE else "beats_word" if d > 0 else "trails")

    lines, gaps = [], {"image": [], "tabular": []}
    for run, sweep in results:
        name = title(run, lang)
        a = aurocs(run, sweep, strength)
        knn = a["knn"]
        con = {m: v for m, v in a.items() if m in CONTRASTIVE}
        best = max(con, key=con.get)
        gap = con[best] - knn
        gaps[run.kind].append(gap)
        numbers = dict(title=name, best=label(best, lang), score=con[best], knn=knn, gap=gap)
        if gap < -TIE:
            head = say("knn_wins", **numbers)
        elif gap > TIE:
            head = say("beats", **numbers)
        else:
            head = say("tie", **{k: v for k, v in numbers.items() if k != "gap"}, tie=TIE)
        top = max(a, key=a.get)
        head += say("top", best=label(top, lang), score=a[top])
        if "goad" in a:
            head += say("goad", compare=compare(a["goad"], knn), score=a["goad"])
        low = [m for m, v in a.items() if v < CHANCE]
        if low:
            head += say("below_chance", methods=", ".join(say("method_score", method=label(m, lang), score=a[m])
                                                          for m in low))
        lines.append(head)
        if sweep is not None and len(sweep.strengths) > 1:
            lines.append(_sweep_sentence(name, sweep, knn, say))
    if gaps["image"] and gaps["tabular"]:
        img, tab = float(np.mean(gaps["image"])), float(np.mean(gaps["tabular"]))

        def word(g: float) -> str:
            return say("leads_by", gap=g) if g > 0 else say("trails_by", gap=-g)

        text = say("kinds", images=word(img), tables=word(tab))
        text += say("conclusion") if tab < img - 0.05 else say("not_harder")
        lines.append(text)
    return lines


def _sweep_sentence(name: str, sweep: Sweep, knn: float, say: Any) -> str:
    a = np.asarray(sweep.auroc)
    best = int(np.argmax(a))
    text = say("sweep", title=name, first=a[0], first_strength=sweep.strengths[0], last=a[-1],
               last_strength=sweep.strengths[-1], best=a[best], best_strength=sweep.strengths[best],
               untrained=sweep.untrained)
    reach = [s for s, v in zip(sweep.strengths, a, strict=True) if v >= knn - TIE]
    if not reach:
        text += say("no_reach", knn=knn)
    else:
        text += say("reach", tie=TIE, knn=knn, strengths=", ".join(f"{s:g}" for s in reach))
    if (a < sweep.untrained - TIE).all():
        text += say("all_below")
    return text


def paper_line(number: Any, lang: str = "en") -> str:
    """One of the papers' numbers (an :class:`adlab.papers.PaperNumber`) as a line for people, in ``lang``
    (:meth:`~adlab.papers.PaperNumber.describe`)."""
    return number.describe(lang)
