"""ARI of graphmoe's clustering against k-means, GMM and the hdbscan library, over seeds.

    python benchmarks/cluster_floors.py [--seeds 10] [--out runs/cluster-floors] [--fashion]

Runs ``graphmoe bench cluster`` once per seed (the seed draws the moons and
spirals and seeds every method) on moons, pinwheel, interleaved spirals and
digits (``--fashion``: also the 5,000-image Fashion-MNIST subsample) and
prints the mean and minimum ARI per dataset, method and mode as Markdown.
"""
import argparse
import sys
from pathlib import Path

import pandas as pd

from graphmoe.bench.report import markdown_table
from graphmoe.cli import main as graphmoe

METHODS = ["graphmoe-hdbscan", "graphmoe-mst", "kmeans", "gmm", "hdbscan-lib"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--fashion", action="store_true")
    parser.add_argument("--out", default="runs/cluster-floors")
    args = parser.parse_args(argv)
    names = ["moons", "pinwheel", "spirals", "digits"] + (["fashion-mnist"] if args.fashion
                                                          else [])
    tables = []
    for seed in range(args.seeds):
        out = Path(args.out) / f"seed-{seed}"
        code = graphmoe(["bench", "cluster", "--datasets", *names, "--methods", *METHODS,
                         "--random-state", str(seed), "--out", str(out), "--quiet"])
        if code:
            return code
        tables.append(pd.read_csv(out / "results.csv"))
    runs = pd.concat(tables)
    summary = runs.groupby(["dataset", "mode", "method"], sort=False)["ari"].agg(
        ari_mean="mean", ari_min="min", runs="count")
    table = markdown_table(summary)
    print(table)
    (Path(args.out) / "floors.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
