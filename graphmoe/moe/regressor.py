"""GraphMoERegressor: clusters of the kNN graph become regression experts."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin

from .._checkpoint import fit_transaction
from .._validation import check_targets
from ._base import BaseGraphMoE

__all__ = ["GraphMoERegressor"]


def _numeric(y):
    """Object arrays of numbers become float; anything else is an unknown target type."""
    y = np.asarray(y)
    if y.dtype.kind == "O":
        try:
            return y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError("Unknown label type: regression targets must be numbers.") from None
    return y


class GraphMoERegressor(RegressorMixin, BaseGraphMoE):
    """Mixture-of-experts regression whose experts are the clusters of a kNN graph.

    The inputs are standardised and (optionally) embedded; a kNN graph of the
    embedding is segmented by connectivity into clusters; each cluster gets
    an expert trained on its members plus a ``halo`` of graph neighbours; a
    gate (``gate=``) routes every point to its ``top_k`` experts.
    Every expert starts as the weighted least-squares affine fit to the
    points initially routed to it (its MLP part zeroed), whatever the gate,
    so training only has to learn what is not linear.

    Parameters
    ----------
    embedder : None, {"ae", "vae", "dmvae"} or transformer, default=None
        Representation the graph, clusters and gate work on; None uses the
        standardised features.
    clustering : ConnectivityClustering, optional
        Unfitted; cloned and fitted on the embedding. Default:
        ``ConnectivityClustering(method="mst", n_clusters=n_experts)``.
    expert : {"mlp", "gnn"}, default="mlp"
    gate : str, default="graph"
        One of "graph", "dmvae", "softmax", "kmeans", "gmm", "labels",
        "oracle", "dfcp" (see :mod:`graphmoe.nn.gates`).
        "labels" and "oracle" need ``groups`` at fit ("oracle" also at predict).
    n_experts : int, optional
        Required by the centroid and softmax gates; for graph gates it sets
        the number of MST clusters of the default clustering.
    top_k : int, default=2
    hierarchical : bool, default=False
        With ``gate="graph"``: replace the flat graph routing by a learned
        softmax at every internal node of the cluster tree (a hierarchical
        mixture of experts, coarse to fine), distilled from the graph routing.
    halo : int, default=0
        Graph hops around an expert's members it also trains on: a point
        ``d`` hops away weighs ``max(soft membership, halo_decay ** d)`` in
        the expert's own loss. 0 (members only) by default for regression:
        when every cluster has its own target map, a neighbour's points pull
        an expert off its map (interleaved spirals: halo 1 raises the test
        MSE from 3e-8 to 3e-4); the classifier's default is 1.
    hidden_dims : tuple of int, default=(32, 32)
        MLP expert widths (GNN experts use the first as their width).
    hops, conv : GNN expert radius and layer ("sage", "gcn", "gat").
    gate_params : dict, optional
        Extra arguments of the gate class (e.g. ``latent_dim`` of the DMVAE gate).
    epochs : int, default=60
    recluster_every : int, optional
        Re-embed (DMVAE gate latent means), re-cluster and re-match the experts
        every that many epochs.
    batch_size, learning_rate, weight_decay : optimisation (Adam).
    expert_loss_coef, load_balance_loss_coef, entropy_loss_coef, gate_loss_coef : float
        Weights of each expert's members+halo loss, the Switch load-balance
        loss, the routing entropy and the gate's own loss (DMVAE negative ELBO).
    collapse_threshold : float, default=0.1
        An expert whose load falls below this fraction of the fair share is
        collapsed and re-seeded (learned gates) or logged (fixed routers).
    device : str, default="cpu"
    num_threads : int, optional
    random_state : int, RandomState or None
        Seeds everything random in ``fit``; torch's global random state is left
        untouched (``fit`` draws from a forked copy).
    verbose : bool, default=False
    checkpoint_dir : str, path-like or None, default=None
        Folder for ``GraphMoERegressor.ckpt`` (``GraphMoEClassifier.ckpt``),
        written atomically every ``checkpoint_every`` epochs and after the last:
        weights, Adam and cosine-schedule states, expert/cluster bookkeeping
        after re-clusterings, ``history_`` and the random states, as plain
        tensors read back with ``torch.load(weights_only=True)``. A graphmoe
        embedder (``embedder="ae"`` ...) checkpoints into the same folder.
        Resume with ``fit(X, y, resume=checkpoint_dir)``.
    checkpoint_every : int, default=10
        Epochs between checkpoints.
    halo_decay : float in [0, 1], default=0.5
        Weight ratio of one more hop in the halo (see ``halo``).
    expert_params : dict or callable, optional
        The expert factory. A dict adds keyword arguments of the expert class
        (``MLPExpert`` or ``GNNExpert``), e.g. ``{"skip": False, "hidden_dims":
        (64, 8, 64)}`` for bottleneck experts that cannot copy their input; a
        callable ``expert_params(in_features, out_features)`` returns each
        expert (a ``torch.nn.Module`` called as ``expert(x)``). Regression
        experts with a skip path start as their least-squares affine fit.
        A model with a callable cannot be saved with :func:`graphmoe.save`.
    parent_experts : bool, default=False
        Hierarchical experts (MLP only, graph gates): experts whose clusters
        are siblings in the cluster tree share a parent expert, and each is
        ``parent(x) + child(x)`` (:class:`~graphmoe.nn.experts.ResidualExpert`):
        the parent learns what siblings share from all their points, the
        child how its own cluster differs.
    shared_expert : tuple of int, "auto" or None, default=None
        Hidden widths of one MLP expert shared by all experts (the root of
        the cluster tree; MLP experts only): every expert computes
        ``shared(x) + own(x)``, so the shared expert learns what all clusters
        have in common from every point, with its linear skip path, and the
        routed experts (built without a skip path unless ``expert_params``
        says otherwise) only how their cluster differs. ``"auto"`` (the
        classifier's default) is ``(128, 128)`` for MLP experts and none for
        GNN experts or a callable ``expert_params``; the regressor's default
        is None (its benchmarks' clusters each have their own affine map).
    pair_experts : bool, default=True
        With the graph gate: a point whose membership is split between two
        experts goes to one of them, chosen by a contrast of the pair (its
        training neighbours in either cluster vote for the expert that fits
        them better), instead of a blend of both. Blending two experts that
        disagree is wrong for both: on interleaved spirals this takes the
        test MSE from 3,000x to below 1x that of oracle routing.

    Attributes
    ----------
    module_ : GraphMoE
    experts_ : torch.nn.ModuleList
    hierarchy_ : ClusterHierarchy or None
    clustering_ : fitted ConnectivityClustering or None
    cluster_of_expert_ : ndarray, cluster served by each expert (graph gates)
    history_ : list of dict, one record per epoch and per event
        (``cluster``, ``recluster``, ``collapse``).
    n_features_in_ : int

    Notes
    -----
    ``fit`` is all-or-nothing: if it raises (``FloatingPointError`` when the
    loss or a weight becomes non-finite, ``KeyboardInterrupt``, an error in
    the clustering or the gate distillation, ...) the estimator is left as it
    was before the call: unfitted after a first fit, with no training data
    attached. A fit resumed from a checkpoint with the same data, parameters
    and integer ``random_state`` reaches the predictions of an uninterrupted
    fit, bit for bit on the CPU. (On CUDA the device's random state is
    checkpointed too, but nondeterministic kernels may make runs differ.)

    Examples
    --------
    >>> from graphmoe import GraphMoERegressor, datasets
    >>> X, arm = datasets.make_pinwheel_spirals(200, random_state=0)
    >>> y = datasets.make_affine_targets(X, arm, random_state=0)
    >>> model = GraphMoERegressor(random_state=0).fit(X, y)
    >>> experts, weights = model.route(X[:3])
    """

    _task = "regression"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, groups=None, resume=None):
        """Fit to ``X (n, d)`` and ``y (n,)`` or ``(n, n_targets)``.

        ``groups`` only for label gates. ``resume``: a checkpoint file or folder
        written with ``checkpoint_dir`` to continue an interrupted fit from
        (same data, parameters and integer ``random_state``). If ``fit`` raises
        (including ``KeyboardInterrupt``), the estimator is left as it was.
        """
        with fit_transaction(self):
            self._validate_params()
            X = self._check_fit_input(X, y)
            y = check_targets(_numeric(y), X.shape[0])
            self._y_1d = y.ndim == 1
            y2 = y.reshape(len(y), -1)
            self.y_mean_, self.y_scale_ = y2.mean(axis=0), y2.std(axis=0)
            self.y_scale_[self.y_scale_ == 0] = 1.0
            self._n_outputs = y2.shape[1]
            target = torch.as_tensor((y2 - self.y_mean_) / self.y_scale_, dtype=torch.float32)
            return self._fit(X, target, groups, resume)

    def predict(self, X, groups=None):
        """Predictions ``(n,)`` (or ``(n, n_targets)``); ``groups`` only for ``gate="oracle"``."""
        out = self._forward_new(X, groups)[0].astype(np.float64)
        out = out * self.y_scale_ + self.y_mean_
        return out[:, 0] if self._y_1d else out
