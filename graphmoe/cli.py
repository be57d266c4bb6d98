"""The ``graphmoe`` command line: ``demo``, ``cluster FILE``, ``bench cluster|moe|embed``.

Errors print one line, ``graphmoe: error: ...``, never a traceback (set
``GRAPHMOE_DEBUG=1`` to see one). Exit codes: 0 success, 1 a failure while
running, 2 a usage error (bad arguments, an input file that is missing, a
directory, unreadable or not numeric), 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main", "build_parser", "read_matrix", "UsageError"]

EXAMPLES = """\
examples:
  graphmoe demo                              clustering + MoE on built-in data -> runs/demo/
  graphmoe cluster points.csv --out out/     labels, soft membership and the cluster tree
  graphmoe cluster X.npy --method mst --n-clusters 5
  graphmoe bench cluster --quick             the clustering roster on small built-ins
  graphmoe bench cluster --battery ~/clustering-data/wut --no-true-k --jobs 2
  graphmoe bench scale --max-n 70000        time and memory against n, fresh processes
  graphmoe bench moe --quick                 GraphMoE against its baselines
"""


class UsageError(Exception):
    """A problem with the command line or its input files (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage block before its message; one line reads better in scripts
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ----------------------------------------------------------------------------- input

def _is_number(text):
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _header_row(path, sep):
    """0 if the first line is a header (every field a name), None if it is data.

    A line mixing numbers and text is neither: a typo in the first data row
    ("0.5,0.2x") must not silently become a header and drop the row.
    """
    import pandas as pd

    first = pd.read_csv(path, sep=sep, header=None, nrows=1, engine="python", dtype=str,
                        keep_default_na=False).iloc[0]
    numeric = [_is_number(v) for v in first]
    if all(numeric):
        return None
    if not any(numeric):
        return 0
    bad = [f"{v!r} (column {i + 1})" for i, (v, ok) in enumerate(zip(first, numeric)) if not ok]
    raise UsageError(f"the first line of '{path}' mixes numbers and text ({', '.join(bad[:3])}):"
                     " a header line must hold only names, a data line only numbers")


def read_matrix(path):
    """Read a data matrix from ``.npy``, ``.csv``/``.tsv``/``.txt`` (optionally ``.gz``).

    A first line made only of names is a header; one that mixes names and
    numbers is an error. Raises :class:`UsageError` naming the file when it is
    missing, a directory, unreadable or not numeric.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"input '{path}' is a directory, not a data file")
    if not path.is_file():
        raise UsageError(f"input file '{path}' does not exist")
    try:
        if path.suffix == ".npy":
            import numpy as np

            X = np.load(path, allow_pickle=False)
        else:
            import pandas as pd

            sep = "\t" if ".tsv" in path.suffixes else None
            header = _header_row(path, sep)
            X = pd.read_csv(path, sep=sep, header=header, engine="python").to_numpy()
    except UsageError:
        raise
    except Exception as err:  # noqa: BLE001 - any parser error means the file is unusable
        raise UsageError(f"cannot read '{path}': {str(err).splitlines()[0]}") from None
    from ._validation import check_data

    try:
        return check_data(X, name=f"data in '{path}'")
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from None


# ----------------------------------------------------------------------------- commands

def _cmd_cluster(args):
    import numpy as np
    import scipy.sparse as sp

    X = read_matrix(args.file)
    from .cluster import ConnectivityClustering  # after reading: a bad file fails fast

    if args.n_neighbors >= len(X):
        raise UsageError(f"--n-neighbors {args.n_neighbors} must be below the number of "
                         f"rows in '{args.file}' ({len(X)})")
    if args.min_cluster_size > len(X):
        raise UsageError(f"--min-cluster-size {args.min_cluster_size} exceeds the number of "
                         f"rows in '{args.file}' ({len(X)})")
    cc = ConnectivityClustering(method=args.method, n_clusters=args.n_clusters,
                                min_cluster_size=args.min_cluster_size,
                                n_neighbors=args.n_neighbors, metric=args.metric,
                                random_state=args.random_state).fit(X)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savetxt(out / "labels.csv", cc.labels_, fmt="%d", header="label", comments="")
    sp.save_npz(out / "membership.npz", sp.csr_matrix(cc.membership_))
    cc.hierarchy_.to_pandas().to_csv(out / "hierarchy.csv", index=False)
    noise = float(np.mean(cc.labels_ < 0))
    print(f"{args.file}: {len(X)} points, {X.shape[1]} features -> {cc.n_clusters_} clusters "
          f"({noise:.1%} noise) by {args.method}")
    print(f"wrote {out / 'labels.csv'}, {out / 'membership.npz'} "
          f"(n x {cc.n_clusters_ + 1}, last column = noise), {out / 'hierarchy.csv'}")
    return 0


def _cmd_bench(args):
    from .bench.cli import run_bench

    return run_bench(args, usage_error=UsageError)


def _cmd_demo(args):
    from .bench.demo import run_demo

    run_demo(args.out, quick=args.quick, verbose=not args.quiet)
    return 0


# ----------------------------------------------------------------------------- parser

def _add_common(p, out_default):
    p.add_argument("--out", default=out_default, metavar="DIR",
                   help=f"output folder (default: {out_default})")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def _int_at_least(low):
    what = "a positive integer" if low == 1 else f"an integer >= {low}"

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    parse.__name__ = "positive_int" if low == 1 else f"int>={low}"
    return parse


_positive_int = _int_at_least(1)


def build_parser():
    """The argparse parser of the ``graphmoe`` command."""
    parser = _Parser(
        prog="graphmoe",
        description="graphmoe: discover mixture-of-experts structure without labels, by "
                    "segmenting a kNN graph by connectivity.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    from . import __version__

    parser.add_argument("--version", action="version", version=f"graphmoe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{demo,cluster,bench}", required=True,
                                parser_class=_Parser)
    demo = sub.add_parser("demo", help="clustering + MoE on built-in data, table and plots",
                          description="Cluster the built-in datasets (moons, pinwheel, "
                                      "spirals, digits) by connectivity and k-means, fit a "
                                      "GraphMoE regressor on the spirals, print a table and "
                                      "write plots.")
    _add_common(demo, "runs/demo")
    cl = sub.add_parser("cluster", help="cluster a CSV/NPY file: labels, membership, hierarchy",
                        description="Cluster the rows of FILE (.csv/.tsv/.txt[.gz] with an "
                                    "optional header line, or .npy) and write labels.csv, "
                                    "membership.npz (soft membership, last column = noise) "
                                    "and hierarchy.csv (the cluster tree).")
    cl.add_argument("file", metavar="FILE", help="data matrix, one row per point")
    cl.add_argument("--method", choices=["auto", "hdbscan", "mst"], default="auto",
                    help="segmenter; auto runs both and keeps the partition of larger "
                         "modularity (default: auto)")
    cl.add_argument("--n-clusters", type=_positive_int, default=None,
                    help="number of clusters (default: chosen from the tree)")
    cl.add_argument("--min-cluster-size", type=_int_at_least(2), default=15,
                    help="smallest cluster, >= 2 (default: 15)")
    cl.add_argument("--n-neighbors", type=_positive_int, default=15)
    cl.add_argument("--metric", choices=["euclidean", "cosine"], default="euclidean")
    cl.add_argument("--random-state", type=int, default=0)
    cl.add_argument("--out", default="runs/cluster", metavar="DIR",
                    help="output folder (default: runs/cluster)")
    from .bench.cli import add_bench_parser

    add_bench_parser(sub, _Parser, _positive_int, _add_common)
    return parser


_COMMANDS = {"demo": _cmd_demo, "cluster": _cmd_cluster, "bench": _cmd_bench}


def main(argv=None):
    """Run the ``graphmoe`` command; returns the exit code (0, 1 or 2)."""
    try:
        args = build_parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except UsageError as err:
        _report(err)
        return 2
    except SystemExit as done:  # --help and --version end through argparse's exit()
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        print("graphmoe: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - one readable line instead of a traceback
        _report(err, kind=type(err).__name__)
        return 1


def _report(err, kind=None):
    if os.environ.get("GRAPHMOE_DEBUG"):
        import traceback

        traceback.print_exception(err)
    text = " ".join(str(err).split()) or "unknown error"
    print(f"graphmoe: error: {kind + ': ' if kind else ''}{text}", file=sys.stderr)
