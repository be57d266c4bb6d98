"""Mixture-of-experts benchmark: the same as ``graphmoe bench moe``.

    python benchmarks/moe_benchmark.py --out runs/bench-moe                 # everything
    python benchmarks/moe_benchmark.py --out runs/q --quick                 # ~2 minutes
    python benchmarks/moe_benchmark.py --out runs/s --tasks interleaved pinwheel

Every option of ``graphmoe bench moe --help`` is accepted.
"""
import sys

from graphmoe.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "moe", *sys.argv[1:]]))
