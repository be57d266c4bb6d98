"""Reconstruction experts on Fashion-MNIST: the same as ``graphmoe bench moe --recon``.

    python benchmarks/moe_recon_benchmark.py --out runs/bench-recon          # ~10 minutes
    python benchmarks/moe_recon_benchmark.py --out runs/q --quick            # < 1 minute
    python benchmarks/moe_recon_benchmark.py --out runs/s --experts 10 --gates graph labels

Defaults here: --out runs/bench-recon, --seeds 0 (options given later win).
"""
import sys

from graphmoe.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "moe", "--recon", "--out", "runs/bench-recon", "--seeds", "0",
                   *sys.argv[1:]]))
