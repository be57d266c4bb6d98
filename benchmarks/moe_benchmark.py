"""Run graphmoe's mixture-of-experts benchmark (tables and plots into --out).

    python benchmarks/moe_benchmark.py --out runs/bench-moe                 # everything
    python benchmarks/moe_benchmark.py --out runs/q --quick                 # ~2 minutes
    python benchmarks/moe_benchmark.py --out runs/s --tasks interleaved pinwheel

The same as ``graphmoe bench moe``; this script adds task, method and seed selection.
"""
import argparse

from graphmoe.bench.moe import FULL, run_moe_benchmark


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench-moe")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tasks", nargs="*", choices=list(FULL), default=None)
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    args = parser.parse_args(argv)
    results = run_moe_benchmark(args.out, quick=args.quick, seeds=tuple(args.seeds),
                                tasks=args.tasks, methods=args.methods)
    print(open(f"{args.out}/report.md").read())
    return results


if __name__ == "__main__":
    main()
