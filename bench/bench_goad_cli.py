"""Benchmark: GOAD on ODDS Thyroid and Arrhythmia from the command line, as a user runs it.

Runs ``python -m adlab fit goad --data ../shared/data/odds/NAME.mat --seed S --json [--split SPLIT]``
in a fresh process for each seed and reads the JSON line: the CLI's own protocol and settings, nothing
set up here. ``--split official`` (the CLI's default) trains on the first half of the normal rows in
file order, as lironber/GOAD's data_loader.py loads these two files, so the seed changes only the
initialisation; ``--split random`` permutes the normal rows with the seed first. The CLI fits GOAD with
its quick settings (those of the GOAD page: M = 32 maps, 1 epoch; the paper ran M = 256, which
bench/bench_goad_odds.py runs in-process). Goal: mean F1 over seeds 0-4 >= the paper's 74.5 (Thyroid)
and 52.0 (Arrhythmia). Prints a markdown table and writes bench/results/goad_odds_cli.md.

    .venv/bin/python bench/bench_goad_cli.py [--seeds 5] [--splits official random] [--threads 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

from _machine import cpu_model
from bench_goad_odds import PAPER_F1, _mean_std  # the paper's F1 (METHODS.md: unverified), the same summary

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "odds"
NOTES = """\
## Notes

- F1 moves in steps of about one hit: about as many rows are flagged as there are test anomalies, so
  F1 ~ TP / n_anomalies, 100/93 = 1.08 points on Thyroid and 100/66 = 1.5 on Arrhythmia. The paper's
  74.5 is 69.3 hits out of 93; a 5-seed mean of 74.6 is 69.4, so on Thyroid the goal is met by a tenth
  of a hit and another 5 seeds could land below it. The paper's figure is a 500-run mean of the
  official script (`n_iters=500`); bench/results/goad_odds_40seeds.md has 40 seeds (in-process, M = 256).
- `official` vs `random`: the same detector and seeds, only the training half differs. Under `official`
  every seed trains on the same 1839 (Thyroid) or 193 (Arrhythmia) rows, so the spread is the
  initialisation's; under `random` the rows change too, and on Thyroid some draws are much harder
  (seed 4: 63.4).
- The CLI gives the same numbers with torch's default thread count (checked: Thyroid, seed 2, 72.0).
"""


def cli_command(name: str, seed: int, split: str) -> list[str]:
    """The command a user types (``--split`` left out for the default, so the default is what is measured)."""
    data = os.path.relpath(DATA / f"{name}.mat", ROOT)
    command = ["python", "-m", "adlab", "fit", "goad", "--data", data, "--seed", str(seed), "--json"]
    return command if split == "official" else [*command, "--split", split]


def run_cli(command: list[str], threads: int) -> dict:
    """One CLI run in a fresh process (torch limited to ``threads`` threads, 0 = torch's default); its JSON line."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["thyroid", "arrhythmia"], choices=sorted(PAPER_F1))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--splits", nargs="+", default=["official", "random"], choices=["official", "random"])
    parser.add_argument("--threads", type=int, default=1,
                        help="OMP_NUM_THREADS for each CLI process (0: torch's default); the machine is shared")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "goad_odds_cli.md")
    args = parser.parse_args()
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    started = dt.datetime.now().isoformat(timespec="seconds")

    per_seed = ["| dataset | split | seed | n train | n test (anomalies) | F1 | AUROC | seconds | protocol |",
                "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    summary = ["| dataset | split | F1 mean ± std | F1 per seed (0, 1, ...) | AUROC mean | paper F1 | goal |",
               "|---|---|---:|---|---:|---:|---|"]
    commands = []
    for name in args.datasets:
        for split in args.splits:
            runs = []
            for seed in range(args.seeds):
                command = cli_command(name, seed, split)
                if seed == 0:
                    commands.append(" ".join(command).replace("--seed 0", "--seed S"))
                r = run_cli(command, args.threads)
                if r["split"] != split:
                    raise RuntimeError(f"asked for the {split} split, the CLI reports {r['split']!r}")
                runs.append(r)
                row = (f"| {name} | {split} | {seed} | {r['n_train']} | {r['n_test']} ({r['n_anomalies']}) | "
                       f"{100 * r['f1']:.1f} | {100 * r['auroc']:.1f} | {r['seconds']:.1f} | {r['protocol']} |")
                per_seed.append(row)
                print(row, flush=True)
            f1s = [100 * r["f1"] for r in runs]
            met = statistics.fmean(f1s) >= PAPER_F1[name]
            summary.append(f"| {name} | {split} | {_mean_std(f1s)} | {', '.join(f'{f:.1f}' for f in f1s)} | "
                           f"{statistics.fmean(100 * r['auroc'] for r in runs):.1f} | {PAPER_F1[name]} (unverified) | "
                           f"{'met' if met else 'NOT met'} |")
    text = "\n".join(summary) + "\n\nPer seed (seconds = the CLI's fit + scoring time):\n\n" + "\n".join(per_seed)
    print()
    print(text)
    header = [
        "# GOAD on ODDS Thyroid / Arrhythmia from the command line (the paper's F1 protocol)",
        "",
        f"- command: `{' '.join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])}`",
        "- each run: " + "; ".join(f"`{c}`" for c in commands) + f" for S in 0..{args.seeds - 1}",
        f"- date: {started} (start)",
        f"- machine: {cpu_model()}, {os.cpu_count()} cores, {platform.machine()}, python "
        f"{platform.python_version()}; each CLI process on cpu with "
        + (f"OMP_NUM_THREADS={args.threads}" if args.threads else "torch's default threads")
        + f"; the machine was shared with other jobs (load average at the start: {load}), so seconds are "
          "only indicative",
        "- split `official` (the CLI's default, no `--split`): the first half of the normal rows in file order "
        "trains, as lironber/GOAD's data_loader.py loads Thyroid and Arrhythmia; the seed changes only the initial "
        "weights, the maps W_m and the batch order. `random`: the normal rows permuted with the seed first.",
        "- settings: the CLI's (the GOAD page's quick settings: M = 32 Gaussian maps, d_out = 32, width 8, "
        "1 epoch, Adam lr 1e-3 betas (0.5, 0.999), batch 64, running centres); the official scripts use M = 256 "
        "for these two sets (bench/bench_goad_odds.py runs that in-process: official split 74.6 / 54.2).",
        "- F1 (%) of the anomaly class at the threshold = the percentile of the test scores equal to the normal "
        "fraction of the test set; paper F1 from docs/METHODS.md, marked unverified there.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + text + "\n\n" + NOTES)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
