"""Throughput of the counterexample search: architectures checked per second.

Run: ``python benchmarks/bench_search.py [--examples N]``. Target (issue 3): >= 5 small
architectures per second on a 2-core machine. Each example is a full exact, certified
`exacthess.verify` of a random small FCN or CNN (Hypothesis draws; shrinking not counted
when no counterexample exists).
"""

import argparse
import tempfile
import time

from rich.console import Console
from rich.table import Table

from exacthess.experiments.search import search

STATEMENTS = ["singh2021.H_L", "singh2023.thm1", "singh2023.thm2", "singh2023.eq1.bound", "subadditivity"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=100)
    args = ap.parse_args()
    t = Table(title=f"exacthess search throughput ({args.examples} examples per statement)")
    for col in ("statement", "examples", "applicable", "seconds", "architectures/s", "target >= 5/s"):
        t.add_column(col, justify="right")
    total_n = total_s = 0.0
    for sid in STATEMENTS:
        with tempfile.TemporaryDirectory() as db:
            t0 = time.perf_counter()
            res = search(sid, max_examples=args.examples, seed=0, database=db)
            secs = time.perf_counter() - t0
        total_n += res.examples
        total_s += secs
        rate = res.examples / secs
        t.add_row(sid, str(res.examples), str(res.n_applicable), f"{secs:.2f}", f"{rate:.1f}",
                  "PASS" if rate >= 5 else "MISS")
    t.add_row("all", str(int(total_n)), "", f"{total_s:.2f}", f"{total_n / total_s:.1f}",
              "PASS" if total_n / total_s >= 5 else "MISS")
    Console(width=120).print(t)


if __name__ == "__main__":
    main()
