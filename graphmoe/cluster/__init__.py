"""Connectivity clustering: HDBSCAN and MST cuts on a kNN graph, one cluster hierarchy.

``ConnectivityClustering`` is the estimator; ``ClusterHierarchy`` the tree of
nested (and, with a halo, overlapping) clusters it produces. The two
segmenters live in ``graphmoe.cluster.hdbscan_segment`` and
``graphmoe.cluster.mst_segment`` (functions of the same names);
``method_choice.segment_graph`` runs one or both and keeps the partition of
larger modularity (``modularity.partition_modularity``).
"""
from .condensed import CondensedTree, condensed_tree, single_linkage_tree
from .estimator import ConnectivityClustering
from .hierarchy import ClusterHierarchy
from .membership import route_membership, training_membership
from .modularity import partition_modularity
from .mst_segment import propagate_labels
from .segmentation import Segmentation
from .selection import labels_from_selection, select_eom, select_n_clusters

__all__ = ["ClusterHierarchy", "ConnectivityClustering", "CondensedTree", "Segmentation",
           "condensed_tree", "labels_from_selection", "partition_modularity", "propagate_labels",
           "route_membership", "select_eom", "select_n_clusters", "single_linkage_tree",
           "training_membership"]
