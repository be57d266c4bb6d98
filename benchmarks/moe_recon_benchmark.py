"""Reconstruction experts on Fashion-MNIST routed by the graph, the DMVAE or the labels.

    python benchmarks/moe_recon_benchmark.py --out runs/bench-recon          # ~10 minutes
    python benchmarks/moe_recon_benchmark.py --out runs/q --quick            # < 1 minute
    python benchmarks/moe_recon_benchmark.py --out runs/s --experts 10 --gates graph labels

The SMoE-VAE paper's question: do experts routed without labels reconstruct
better, and is their routing more linearly separable, than label routing?
"""
import argparse
import sys
from pathlib import Path

# run from a checkout without installing: the repository root first on the path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphmoe.bench.moe_recon import run_recon_benchmark  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench-recon")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--experts", nargs="*", type=int, default=[5, 10, 15])
    parser.add_argument("--gates", nargs="*", choices=["graph", "dmvae", "labels"],
                        default=["graph", "dmvae", "labels"])
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)  # tiny networks: more threads only add contention
    except ImportError:
        pass
    results = run_recon_benchmark(args.out, quick=args.quick, n_experts=tuple(args.experts),
                                  gates=tuple(args.gates), n_train=args.n_train,
                                  n_test=args.n_test, seeds=tuple(args.seeds))
    print(open(f"{args.out}/results.md").read())
    return results


if __name__ == "__main__":
    main()
