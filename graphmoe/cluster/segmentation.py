"""``Segmentation``: what every segmenter (HDBSCAN, MST cuts) returns."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .condensed import CondensedTree

__all__ = ["Segmentation"]


@dataclass
class Segmentation:
    """Result of a segmenter: flat labels and where they sit in the condensed tree.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,)
        Cluster of each sample, -1 = noise.
    selected : ndarray of shape (n_clusters,)
        Condensed-tree node of each label.
    tree : CondensedTree
    """

    labels: np.ndarray
    selected: np.ndarray
    tree: CondensedTree
