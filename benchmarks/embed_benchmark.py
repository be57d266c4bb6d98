"""Embedding benchmark: the same as ``graphmoe bench embed``.

    python benchmarks/embed_benchmark.py --out runs/embed            # digits + Fashion-MNIST 10k
    python benchmarks/embed_benchmark.py --out runs/embed --quick    # digits, few epochs
    python benchmarks/embed_benchmark.py --datasets fashion-mnist --models dmvae

Every option of ``graphmoe bench embed --help`` is accepted (default --out runs/embed).
"""
import sys

from graphmoe.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "embed", "--out", "runs/embed", *sys.argv[1:]]))
