"""Throughput of partitioned assignment on Dask against in-process predict.

    python benchmarks/dask_assign.py [--n 500000] [--chunk 50000] [--sample 5000]

Fits a ConnectivityClustering and a GraphMoERegressor (graph gate, MLP
experts) on a ``--sample``-row sample of pinwheel spirals, then assigns
``--n`` rows three ways on this machine: in-process ``predict`` on a numpy
array, and :func:`graphmoe.distributed.predict_blocks` on a ``LocalCluster``
of 2 workers (threads, then processes; 1 thread each). The rows are generated
inside the workers block by block (as if read from storage there), and the
in-process run gets the same rows. Prints points/s and the ratio to
in-process as a Markdown table; the cluster's start-up and the workers' first
(cold: imports, numba kernels) 1,000-row call are timed apart.
"""
import argparse
import time

import numpy as np
import pandas as pd

from graphmoe.bench.report import markdown_table


def spiral_block(block_id, rows):
    """Row block ``block_id``: ``rows`` pinwheel points of its own seed (float64)."""
    from graphmoe.datasets import make_pinwheel_spirals

    X, _ = make_pinwheel_spirals(n_per_arm=rows // 5, n_arms=5, random_state=1000 + block_id)
    return X


def lazy_rows(n, chunk):
    import dask.array as da

    blocks = [da.from_delayed(_delayed_block(i, chunk), shape=(chunk, 2), dtype=np.float64)
              for i in range(n // chunk)]
    return da.concatenate(blocks)


def _delayed_block(i, chunk):
    import dask

    return dask.delayed(spiral_block, pure=True)(i, chunk)


def fit_models(sample):
    from graphmoe import ConnectivityClustering, GraphMoERegressor
    from graphmoe.datasets import make_affine_targets, make_pinwheel_spirals

    X, groups = make_pinwheel_spirals(n_per_arm=sample // 5, random_state=0)
    y = make_affine_targets(X, groups, random_state=0)
    cc = ConnectivityClustering(random_state=0).fit(X)
    moe = GraphMoERegressor(n_experts=5, epochs=3, random_state=0).fit(X, y)
    return {"ConnectivityClustering": cc, "GraphMoERegressor": moe}


def time_dask(models, Xd, processes, reference):
    from dask.distributed import Client, LocalCluster

    from graphmoe.distributed import predict_blocks

    rows, engine = [], f"dask, 2 {'processes' if processes else 'threads'}"
    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                      dashboard_address=None) as cluster, Client(cluster):
        startup = time.perf_counter() - start
        for name, model in models.items():
            t0 = time.perf_counter()
            # cold workers import graphmoe and load numba kernels on their first task
            predict_blocks(model, Xd[:1000]).compute()
            warmup = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = predict_blocks(model, Xd).compute()
            seconds = time.perf_counter() - t0
            # labels: exact; float32 networks: last-bit noise from the batch split
            diff = float(np.abs(out - reference[name]).max() / np.abs(reference[name]).max())
            rows.append({"estimator": name, "engine": engine, "seconds": seconds,
                         "startup_s": startup, "warmup_s": warmup,
                         "max_rel_diff": diff})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=5_000)
    args = parser.parse_args(argv)
    if args.n % args.chunk:
        parser.error("--n must be a multiple of --chunk")
    models = fit_models(args.sample)
    Xd = lazy_rows(args.n, args.chunk)
    X = Xd.compute(scheduler="synchronous")
    rows, reference = [], {}
    for name, model in models.items():
        t0 = time.perf_counter()
        reference[name] = model.predict(X)
        rows.append({"estimator": name, "engine": "in-process predict",
                     "seconds": time.perf_counter() - t0, "startup_s": 0.0, "warmup_s": 0.0,
                     "max_rel_diff": 0.0})
    for processes in (False, True):
        rows += time_dask(models, Xd, processes, reference)
    table = pd.DataFrame(rows)
    table["points_per_s"] = (args.n / table["seconds"]).round(-2).astype(int)
    base = table[table.engine == "in-process predict"].set_index("estimator")["points_per_s"]
    table["vs_in_process"] = (table["points_per_s"] / table["estimator"].map(base)).round(2)
    table["seconds"] = table["seconds"].round(2)
    table[["startup_s", "warmup_s"]] = table[["startup_s", "warmup_s"]].round(1)
    print(f"n={args.n:,} rows in {args.n // args.chunk} blocks, models fitted on "
          f"{args.sample:,}\n")
    print(markdown_table(table, floatfmt='.3g', index=False))


if __name__ == "__main__":
    main()
