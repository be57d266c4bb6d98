"""Embedding benchmark from the command line (not a test).

    .venv/bin/python benchmarks/embed_benchmark.py --out runs/embed            # digits + Fashion-MNIST 10k
    .venv/bin/python benchmarks/embed_benchmark.py --out runs/embed --quick    # digits, few epochs
    .venv/bin/python benchmarks/embed_benchmark.py --datasets fashion-mnist --models dmvae

Writes embed_results.csv and embed_results.md into --out and prints the table.
"""
import argparse
import sys
from pathlib import Path

# Run from a checkout: the repository root first, whatever the install state.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphmoe.bench.embed import EMBEDDERS, GRAPH_WEIGHTS, run_embed_benchmark  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/embed")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--datasets", nargs="*", choices=["digits", "fashion-mnist"])
    parser.add_argument("--models", nargs="*", choices=list(EMBEDDERS))
    parser.add_argument("--graph-weights", nargs="*", type=float, default=list(GRAPH_WEIGHTS))
    parser.add_argument("--n-fashion", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-raw", action="store_true", help="skip clustering the raw input")
    args = parser.parse_args(argv)
    table = run_embed_benchmark(args.out, quick=args.quick, datasets=args.datasets,
                                models=args.models, graph_weights=args.graph_weights,
                                n_fashion=args.n_fashion, random_state=args.seed,
                                num_threads=args.threads, include_raw=not args.no_raw)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
