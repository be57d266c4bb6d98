"""The ``graphmoe bench ...`` subcommands: their arguments and what they run.

``graphmoe.cli`` builds the top-level parser and hands the ``bench`` subparser
here (``add_bench_parser``); ``run_bench`` runs the chosen benchmark. Every
option of the former ``benchmarks/*.py`` scripts is an option here.
"""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_bench_parser", "run_bench"]


def _modes(args):
    if args.true_k is None:
        return ("true-k", "no-true-k")
    return ("true-k",) if args.true_k else ("no-true-k",)


def _run_cluster(args, usage_error):
    from .cluster import run_cluster_benchmark
    from .report import method_summary

    if args.battery is not None and not Path(args.battery).is_dir():
        raise usage_error(f"battery folder '{args.battery}' does not exist")
    table = run_cluster_benchmark(
        args.out, datasets=args.datasets, battery=args.battery, methods=args.methods,
        modes=_modes(args), n_jobs=args.jobs, quick=args.quick, max_samples=args.max_samples,
        random_state=args.random_state, verbose=not args.quiet)
    summary = method_summary(table)[["ari", "ami", "acc", "total_time_s", "runs_ok"]]
    print(summary.round(3).to_string())


def _run_moe(args):
    if args.recon:
        from .._progress import set_torch_threads
        from .moe_recon import run_recon_benchmark

        set_torch_threads(1)  # tiny networks: more threads only add contention
        table = run_recon_benchmark(args.out, quick=args.quick, n_experts=tuple(args.experts),
                                    gates=tuple(args.gates), n_train=args.n_train,
                                    n_test=args.n_test, seeds=tuple(args.seeds),
                                    verbose=not args.quiet)
    else:
        from .moe import run_moe_benchmark

        table = run_moe_benchmark(args.out, quick=args.quick, seeds=tuple(args.seeds),
                                  verbose=not args.quiet, tasks=args.tasks,
                                  methods=args.methods)
    print(table.to_string(index=False, max_rows=40))


def _run_embed(args):
    from .embed import run_embed_benchmark

    table = run_embed_benchmark(args.out, quick=args.quick, verbose=not args.quiet,
                                datasets=args.datasets, models=args.models,
                                graph_weights=args.graph_weights, n_fashion=args.n_fashion,
                                random_state=args.random_state, num_threads=args.threads,
                                include_raw=not args.no_raw)
    print(table.to_string(index=False, max_rows=40, float_format=lambda v: f"{v:.3f}"))


def _run_scale(args):
    from .scale import run_scale_benchmark

    run_scale_benchmark(args.out, datasets=args.datasets, quick=args.quick, max_n=args.max_n,
                        true_k=args.true_k, timeout=args.timeout, max_rss_gb=args.max_rss_gb,
                        sizes=args.sizes, second_fit=args.second_fit,
                        random_state=args.random_state,
                        methods=("graphmoe", "evoc") if args.evoc else ("graphmoe",),
                        verbose=not args.quiet)


def _run_throughput(args):
    from .throughput import run_throughput_benchmark

    tables = run_throughput_benchmark(
        args.out, datasets=tuple(args.datasets), gates=tuple(args.gates),
        n_experts=args.experts, epochs=args.epochs, rounds=args.rounds,
        latency=not args.no_latency, gnn=args.gnn, quick=args.quick, verbose=not args.quiet)
    for name, table in tables.items():
        print(f"== {name}\n{table.round(3).to_string(index=False)}")


def run_bench(args, usage_error=ValueError):
    """Run the benchmark ``args.what`` names; ``usage_error`` is raised for bad input."""
    if args.what == "throughput":
        _run_throughput(args)
    elif args.what == "cluster":
        _run_cluster(args, usage_error)
    elif args.what == "moe":
        _run_moe(args)
    elif args.what == "scale":
        _run_scale(args)
    else:
        _run_embed(args)
    return 0


# ----------------------------------------------------------------------------- parsers

def _add_cluster(what, positive_int, add_common):
    from ..datasets import BUILTIN
    from .methods import get_methods

    c = what.add_parser(
        "cluster", help="clustering roster x datasets -> results.csv/.md and plots",
        description="Compare graphmoe's connectivity clustering with k-means, GMM, spectral, "
                    "agglomerative, HDBSCAN (and genieclust, fast_hdbscan, Leiden, EVoC, "
                    "UMAP + HDBSCAN when installed) on built-in data and/or a benchmark-"
                    "battery folder. Scores: ARI, AMI, NMI, Hungarian accuracy (best over "
                    "reference labellings, noise points of the reference left out).")
    defaults = [name for name, entry in BUILTIN.items() if entry.bench_default]
    c.add_argument("--datasets", nargs="+", metavar="NAME", choices=list(BUILTIN),
                   help=f"built-ins: {' '.join(BUILTIN)} (default: {' '.join(defaults)}; "
                        "fashion-mnist is a 5000-image subsample, minutes more)")
    c.add_argument("--battery", metavar="DIR",
                   help="folder of <name>.data.gz + <name>.labels0.gz ... (label 0 = noise)")
    roster = [m.name for m in get_methods(include_unavailable=True)]
    c.add_argument("--methods", nargs="+", metavar="NAME", choices=roster,
                   help="roster entries to run (default: all installed): " + " ".join(roster))
    c.add_argument("--true-k", action=argparse.BooleanOptionalAction, default=None,
                   help="only with (--true-k) or only without (--no-true-k) the true number "
                        "of clusters (default: both)")
    c.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                   help="parallel runs (default 1)")
    c.add_argument("--max-samples", type=positive_int, default=10_000, metavar="N",
                   help="subsample larger datasets to this size (default 10000)")
    c.add_argument("--random-state", type=int, default=0)
    add_common(c, "runs/bench-cluster")


def _add_scale(what, positive_int, add_common):
    from .scale import SIZES

    s = what.add_parser(
        "scale", help="ConnectivityClustering time / memory / ARI against n",
        description="Fit ConnectivityClustering on Fashion-MNIST 10k/30k/70k and 50-D blobs "
                    "100k/300k/1M, each size in a fresh process (first and second fit), with "
                    "peak RSS, ARI, a per-stage breakdown and the log-log slope of time vs n.")
    s.add_argument("--datasets", nargs="+", metavar="NAME", choices=sorted(SIZES),
                   help="fashion-mnist, blobs50 and/or blobs200 (default: all)")
    s.add_argument("--max-n", type=positive_int, default=None, metavar="N",
                   help="leave out sizes above N")
    s.add_argument("--sizes", type=positive_int, nargs="+", metavar="N",
                   help="these sizes for every dataset instead of the defaults")
    s.add_argument("--true-k", action=argparse.BooleanOptionalAction, default=True,
                   help="give the estimator the true number of clusters (default: yes)")
    s.add_argument("--timeout", type=positive_int, default=3600, metavar="S",
                   help="kill one size's process after S seconds (default 3600)")
    s.add_argument("--second-fit", action=argparse.BooleanOptionalAction, default=True,
                   help="also time a second fit in the same process (default: yes)")
    s.add_argument("--max-rss-gb", type=float, default=8.0, metavar="GB",
                   help="kill one size's process when its RSS passes GB (default 8)")
    s.add_argument("--random-state", type=int, default=0)
    s.add_argument("--evoc", action="store_true",
                   help="also time EVoC on every size, in its own fresh process")
    add_common(s, "runs/bench-scale")


def _add_moe(what, positive_int, add_common):
    from .moe import FULL

    p = what.add_parser("moe", help="GraphMoE vs dense, softmax, k-means, GMM, DMVAE gates",
                        description="GraphMoE against its baselines on the same tasks, seeds "
                                    "and budget; --recon: the SMoE-VAE reconstruction question.")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="S",
                   help="random seeds, one run each (default: 0 1 2; --recon: 0)")
    p.add_argument("--tasks", nargs="+", choices=list(FULL), metavar="TASK",
                   help="tasks to run (default: all): " + " ".join(FULL))
    p.add_argument("--methods", nargs="+", metavar="NAME", help="methods to run (default: all)")
    p.add_argument("--recon", action="store_true",
                   help="the SMoE-VAE question instead: Fashion-MNIST reconstruction experts "
                        "routed by graph / DMVAE gates vs by class labels")
    p.add_argument("--experts", type=positive_int, nargs="+", default=[5, 10, 15], metavar="E",
                   help="--recon: numbers of experts (default: 5 10 15)")
    p.add_argument("--gates", nargs="+", choices=["graph", "dmvae", "labels"],
                   default=["graph", "dmvae", "labels"], help="--recon: gates compared")
    p.add_argument("--n-train", type=positive_int, default=None, metavar="N")
    p.add_argument("--n-test", type=positive_int, default=None, metavar="N")
    add_common(p, "runs/bench-moe")


def _add_embed(what, positive_int, add_common):
    from .embed import EMBEDDERS, GRAPH_WEIGHTS

    p = what.add_parser("embed", help="AutoEncoder, VAE, VaDE, DMVAE embeddings",
                        description="AutoEncoder, VAE, VaDE, DMVAE embeddings, with and "
                                    "without the graph loss, scored by clustering their codes.")
    p.add_argument("--datasets", nargs="+", choices=["digits", "fashion-mnist"])
    p.add_argument("--models", nargs="+", choices=list(EMBEDDERS))
    p.add_argument("--graph-weights", nargs="+", type=float, default=list(GRAPH_WEIGHTS))
    p.add_argument("--n-fashion", type=positive_int, default=10_000, metavar="N")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N", help="torch threads")
    p.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0)
    p.add_argument("--no-raw", action="store_true", help="skip clustering the raw input")
    add_common(p, "runs/bench-embed")


def _add_throughput(what, positive_int, add_common):
    from .throughput import DATASETS, GATES

    p = what.add_parser(
        "throughput", help="MoE training samples/s vs softmax MoEs; route/predict latency",
        description="Training samples/s of GraphMoE (graph, DMVAE and softmax gates) against "
                    "a dense hand-rolled softmax MoE of equal size on digits and Fashion-MNIST "
                    "10k; route/predict latency at batch 1, 256, 65536; --gnn: GNN-expert "
                    "memory vs n, full-graph vs full-neighbourhood vs sampled.")
    p.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    p.add_argument("--gates", nargs="+", choices=GATES, default=list(GATES))
    p.add_argument("--experts", type=positive_int, default=10, metavar="E")
    p.add_argument("--epochs", type=positive_int, default=2, metavar="N",
                   help="epochs per timed round (default 2)")
    p.add_argument("--rounds", type=positive_int, default=5, metavar="R",
                   help="timed rounds; each method keeps its best (default 5)")
    p.add_argument("--no-latency", action="store_true", help="skip the latency table")
    p.add_argument("--gnn", action="store_true", help="also the GNN-expert memory table")
    add_common(p, "runs/bench-throughput")


def add_bench_parser(sub, parser_class, positive_int, add_common):
    """Add ``bench`` and its subcommands to the top-level subparsers ``sub``."""
    bench = sub.add_parser("bench", help="benchmarks: cluster | scale | moe | embed | throughput",
                           description="Run a benchmark and write its table and plots.")
    what = bench.add_subparsers(dest="what", metavar="{cluster,scale,moe,embed,throughput}",
                                required=True, parser_class=parser_class)
    for add in (_add_cluster, _add_scale, _add_moe, _add_embed, _add_throughput):
        add(what, positive_int, add_common)
