"""Fuzz aekit's readers: N generated inputs each, a time limit per input, a table at the end.

Usage (from the repository root; see fuzz/README.md)::

    OMP_NUM_THREADS=1 .venv/bin/python fuzz/run.py --examples 10000
    OMP_NUM_THREADS=1 .venv/bin/python fuzz/run.py --reader idx --reader npy --examples 100000 --seed 7

Every input must either load (and give a sane result) or raise aekit's own error
naming the file; anything else is a failure, printed with the input that caused it.
The exit status is 1 when any reader had a failure.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `fuzz` as a package, from any directory

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from fuzz.targets import TARGETS, attempt  # noqa: E402


def fuzz(name: str, examples: int, timeout: float, shown: int, workdir: Path, random_seed: int | None) -> dict:
    """Run one reader's strategy for ``examples`` inputs; return the counts and the first failures."""
    target = TARGETS[name]
    tally = {"reader": name, "inputs": 0, "loaded": 0, "errors": 0, "failures": 0, "shown": []}

    @settings(max_examples=examples, deadline=None, database=None, derandomize=random_seed is None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=target.strategy)
    def run(case):
        # A hang in C code never returns to Python for the alarm to interrupt: after three
        # time limits, dump every thread's stack and exit, so the run cannot stall forever.
        faulthandler.dump_traceback_later(3 * timeout, exit=True)
        outcome = attempt(target, case, workdir, timeout)
        faulthandler.cancel_dump_traceback_later()
        tally["inputs"] += 1
        if outcome.kind == "loaded":
            tally["loaded"] += 1
        elif outcome.kind == "error":
            tally["errors"] += 1
        else:
            tally["failures"] += 1
            if len(tally["shown"]) < shown:
                tally["shown"].append((repr(case), case, outcome.detail))

    if random_seed is not None:
        run = seed(random_seed)(run)
    start = time.perf_counter()
    run()
    tally["seconds"] = time.perf_counter() - start
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader", action="append", choices=sorted(TARGETS),
                        help="reader to fuzz (repeat for several; default: all)")
    parser.add_argument("--examples", type=int, default=1000, help="inputs per reader (default 1000)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds one input may take (default 20)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed; default: derandomized (the same inputs every run)")
    parser.add_argument("--show", type=int, default=3, help="failures to print per reader (default 3)")
    parser.add_argument("--save-failures", type=Path, default=None,
                        help="folder to write each shown failure's files into, for reproducing it")
    args = parser.parse_args(argv)

    readers = args.reader or list(TARGETS)
    rows = []
    with tempfile.TemporaryDirectory(prefix="aekit-fuzz-") as tmp:
        for name in readers:
            tally = fuzz(name, args.examples, args.timeout, args.show, Path(tmp), args.seed)
            rows.append(tally)
            print(f"{name}: {tally['inputs']} inputs, {tally['failures']} failures, "
                  f"{tally['seconds']:.0f} s", file=sys.stderr, flush=True)

    header = f"{'reader':<12} {'inputs':>8} {'loaded':>8} {'clean errors':>13} {'failures':>9} {'wall s':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['reader']:<12} {r['inputs']:>8} {r['loaded']:>8} {r['errors']:>13} {r['failures']:>9} "
              f"{r['seconds']:>8.0f}")
    total = sum(r["seconds"] for r in rows)
    print(f"{'total':<12} {sum(r['inputs'] for r in rows):>8} {sum(r['loaded'] for r in rows):>8} "
          f"{sum(r['errors'] for r in rows):>13} {sum(r['failures'] for r in rows):>9} {total:>8.0f}")
    for r in rows:
        for i, (text, case, detail) in enumerate(r["shown"]):
            print(f"\n--- {r['reader']} failure {i + 1}: {text}\n{detail}")
            if args.save_failures is not None:
                folder = args.save_failures / f"{r['reader']}-{i + 1}"
                for file, data in case.files.items():
                    (folder / file).parent.mkdir(parents=True, exist_ok=True)
                    (folder / file).write_bytes(data)
                print(f"(files written to {folder}; load {folder / case.target} with {case.options})")
    return 1 if any(r["failures"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
