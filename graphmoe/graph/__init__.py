"""kNN graphs and the graph routines of connectivity clustering.

``KNNGraph`` builds the symmetric, bridged kNN distance graph; the functions
turn it into HDBSCAN's mutual reachability graph and its minimum spanning tree.
"""
from .components import bridge_components
from .knn import KNNGraph, distance_floor, knn_to_csr
from .mst import minimum_spanning_edges
from .reachability import core_distances, mutual_reachability_graph

__all__ = ["KNNGraph", "bridge_components", "core_distances", "distance_floor",
           "knn_to_csr", "minimum_spanning_edges", "mutual_reachability_graph"]
