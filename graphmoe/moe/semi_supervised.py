"""Semi-supervised targets: labels spread over the kNN graph, kept where confident."""
from __future__ import annotations

import numpy as np
from sklearn.semi_supervised import LabelSpreading

__all__ = ["pseudo_label"]


def pseudo_label(Z, codes, threshold=0.9, n_neighbors=10, alpha=0.2):
    """Spread the known labels over a kNN graph of ``Z``; keep confident guesses.

    Parameters
    ----------
    Z : (n, d) representation the graph is built on
    codes : (n,) int, class codes with -1 for unlabelled rows
    threshold : float
        An unlabelled row gets its spread label when the spread distribution's
        largest probability reaches this; otherwise it stays -1 (unlabelled).

    Returns
    -------
    codes : (n,) int, given labels kept, confident pseudo-labels filled in
    confidence : (n,) float, 1 for given labels
    """
    codes = np.asarray(codes)
    k = int(min(n_neighbors, len(codes) - 1))
    spreading = LabelSpreading(kernel="knn", n_neighbors=k, alpha=alpha, max_iter=100)
    spreading.fit(Z, codes)
    dist = spreading.label_distributions_
    confidence = np.nan_to_num(dist.max(axis=1))
    guess = spreading.classes_[np.nan_to_num(dist).argmax(axis=1)]
    out = codes.copy()
    fill = (codes < 0) & (confidence >= threshold)
    out[fill] = guess[fill]
    confidence[codes >= 0] = 1.0
    return out, confidence
