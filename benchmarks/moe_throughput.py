"""MoE training throughput and latency: the same as ``graphmoe bench throughput``.

    python benchmarks/moe_throughput.py --out runs/bench-throughput          # ~10 minutes
    python benchmarks/moe_throughput.py --out runs/q --quick                 # smoke run
    python benchmarks/moe_throughput.py --out runs/g --gnn --no-latency      # + GNN memory

Every option of ``graphmoe bench throughput --help`` is accepted.
"""
import sys

from graphmoe.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "throughput", *sys.argv[1:]]))
