"""What the two languages cost a page: each page opened in Korean and in English through app.py (AppTest,
the script the browser runs), interleaved, the median of several rounds, and the catalogue lookup itself.

Goal: a Korean page renders within 1.10x of the same page in English (the texts come from the same
catalogues, looked up the same way); a lookup costs microseconds. Measured as ratios in one run.

    .venv/bin/python bench/bench_i18n.py [--rounds 5] [--out bench/results/i18n.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from pathlib import Path

from _machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.10
PAGES = ["home", "distances", "roles", "triplet", "npair", "supcon", "simclr", "why_contrastive", "ad_hard",
         "deep_svdd", "goad", "droc", "csi", "csi_shift", "conclusion", "lecture", "compare", "glossary"]


def open_page(name: str, lang: str) -> float:
    from streamlit.testing.v1 import AppTest

    t0 = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["lang"] = lang
    at.run()
    if name != "home":
        at.switch_page(f"pages/{name}.py").run()
    if at.exception:
        raise RuntimeError(f"{name} ({lang}): {at.exception[0].message}")
    return time.perf_counter() - t0


def lookup_us(n: int = 20_000) -> float:
    """Microseconds for one ``text_or_english`` in Korean (keys without fields: the lookup and the format)."""
    from adlab import i18n

    keys = [key for key, value in i18n.catalogue("ko").items() if not i18n.fields(value)][:200]
    t0 = time.perf_counter()
    for i in range(n):
        i18n.text_or_english(keys[i % len(keys)], "ko")
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "i18n.md"))
    args = parser.parse_args()
    import sys

    sys.path.insert(0, str(ROOT))
    load_start = os.getloadavg()[0]
    for name in PAGES:  # warm-up: imports, caches
        open_page(name, "en")
        open_page(name, "ko")
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for name in PAGES:
            for lang in (("en", "ko") if r % 2 == 0 else ("ko", "en")):
                times.setdefault((name, lang), []).append(open_page(name, lang))
    rows, ratios = [], []
    for name in PAGES:
        en, ko = statistics.median(times[(name, "en")]), statistics.median(times[(name, "ko")])
        ratios.append(ko / en)
        rows.append(f"| {name} | {en * 1000:.0f} | {ko * 1000:.0f} | {ko / en:.2f} |")
    overall = statistics.median(ratios)
    us = lookup_us()
    verdict = "met" if overall <= GOAL else "not met"
    lines = [
        "# Korean against English: the cost of a page's texts",
        "",
        f"`{' '.join(['.venv/bin/python', 'bench/bench_i18n.py', *sys.argv[1:]])}` on "
        f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')} ({platform.python_version()}, {cpu_model()}, load average "
        f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end).",
        "",
        f"Each page opened through app.py under AppTest, {args.rounds} rounds, the two languages interleaved "
        "(order alternating per round); medians in milliseconds.",
        "",
        "| page | English ms | Korean ms | Korean / English |",
        "|---|---|---|---|",
        *rows,
        "",
        f"Median ratio over the pages: **{overall:.2f}** (goal ≤ {GOAL:.2f}: **{verdict}**). "
        f"One catalogue lookup: {us:.1f} µs.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
