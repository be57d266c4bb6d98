"""Scaling curve of ConnectivityClustering: the same as ``graphmoe bench scale``.

    python benchmarks/cluster_scale.py                       # Fashion 10k-70k, blobs 100k-1M
    python benchmarks/cluster_scale.py --max-n 300000        # leave out the 1M run
    python benchmarks/cluster_scale.py --quick               # a smoke run

Every option of ``graphmoe bench scale --help`` is accepted.
"""
import sys

from graphmoe.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "scale", *sys.argv[1:]]))
