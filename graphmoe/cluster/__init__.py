"""Connectivity clustering: HDBSCAN and MST cuts on a kNN graph, one cluster hierarchy.

``ConnectivityClustering`` is the estimator; ``ClusterHierarchy`` the tree of
nested (and, with a halo, overlapping) clusters it produces. The two
segmenters live in ``graphmoe.cluster.hdbscan_segment`` and
``graphmoe.cluster.mst_segment`` (functions of the same names).
"""
from .condensed import CondensedTree, condensed_tree, single_linkage_tree
from .estimator import ConnectivityClustering
from .hierarchy import ClusterHierarchy
from .membership import route_membership, training_membership
from .mst_segment import propagate_labels
from .segmentation import Segmentation
from .selection import labels_from_selection, select_eom, select_n_clusters

__all__ = ["ClusterHierarchy", "ConnectivityClustering", "CondensedTree", "Segmentation",
           "condensed_tree", "labels_from_selection", "propagate_labels", "route_membership",
           "select_eom", "select_n_clusters", "single_linkage_tree", "training_membership"]
