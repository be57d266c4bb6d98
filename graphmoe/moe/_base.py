"""The estimator shared by GraphMoERegressor and GraphMoEClassifier."""
from __future__ import annotations

import numbers
import os

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _checkpoint as ckpt
from .._progress import set_torch_threads
from .._validation import check_data, check_feature_names, check_random_state
from ..distributed import fit_on_rank0
from ..nn.experts import NeighborhoodContext
from ..nn.gates import GATES, cluster_proba
from . import _setup
from .checkpoint import (checkpointer, embedder_fit_params, restore_random_state,
                         restore_training_state)
from .module import GraphMoE
from .recluster import recluster
from .training import (MoEData, init_experts_linear, predict_batches, reseed_collapsed,
                       train_epochs)

__all__ = ["BaseGraphMoE"]


def _tensor(a, dtype=torch.float32, device="cpu"):
    return None if a is None else torch.as_tensor(np.asarray(a), dtype=dtype, device=device)


class BaseGraphMoE(BaseEstimator):
    """Shared fit/route/predict machinery; see the subclasses for the parameters."""

    _parameter_constraints = {
        "embedder": [None, StrOptions({"ae", "vae", "dmvae"}), HasMethods(["fit", "transform"])],
        "clustering": [None, HasMethods(["fit"])],
        "expert": [StrOptions({"mlp", "gnn"})],
        "gate": [StrOptions(set(GATES))],
        "n_experts": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "top_k": [Interval(numbers.Integral, 1, None, closed="left")],
        "hierarchical": ["boolean"],
        "halo": [Interval(numbers.Integral, 0, None, closed="left")],
        "hidden_dims": ["array-like"],
        "hops": [Interval(numbers.Integral, 1, None, closed="left")],
        "conv": [StrOptions({"sage", "gcn", "gat"})],
        "gate_params": [None, dict],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "recluster_every": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "expert_loss_coef": [Interval(numbers.Real, 0, None, closed="left")],
        "load_balance_loss_coef": [Interval(numbers.Real, 0, None, closed="left")],
        "entropy_loss_coef": [Interval(numbers.Real, 0, None, closed="left")],
        "gate_loss_coef": [Interval(numbers.Real, 0, None, closed="left")],
        "collapse_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "device": [str],
        "num_threads": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "checkpoint_dir": [None, str, os.PathLike],
        "checkpoint_every": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    _task = None  # "regression" | "classification", set by subclasses

    def __init__(self, embedder=None, clustering=None, expert="mlp", gate="graph",
                 n_experts=None, top_k=2, hierarchical=False, halo=1, hidden_dims=(32, 32),
                 hops=1, conv="sage",
                 gate_params=None, epochs=60, recluster_every=None, batch_size=256,
                 learning_rate=5e-3, weight_decay=0.0, expert_loss_coef=1.0,
                 load_balance_loss_coef=0.01, entropy_loss_coef=0.0, gate_loss_coef=0.1,
                 collapse_threshold=0.1, device="cpu", num_threads=None, random_state=None,
                 verbose=False, checkpoint_dir=None, checkpoint_every=10):
        self.embedder = embedder
        self.clustering = clustering
        self.expert = expert
        self.gate = gate
        self.n_experts = n_experts
        self.top_k = top_k
        self.hierarchical = hierarchical
        self.halo = halo
        self.hidden_dims = hidden_dims
        self.hops = hops
        self.conv = conv
        self.gate_params = gate_params
        self.epochs = epochs
        self.recluster_every = recluster_every
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.expert_loss_coef = expert_loss_coef
        self.load_balance_loss_coef = load_balance_loss_coef
        self.entropy_loss_coef = entropy_loss_coef
        self.gate_loss_coef = gate_loss_coef
        self.collapse_threshold = collapse_threshold
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    # ------------------------------------------------------------------ inputs
    def _embed(self, X, fit):
        Xs = self.scaler_.transform(X)
        if self.embedder_ is None:
            Z = Xs
        elif fit:
            Z = self.embedder_.fit(X, **embedder_fit_params(self)).transform(X)
        else:
            Z = self.embedder_.transform(X)
        if fit:
            self.gate_scaler_ = StandardScaler().fit(Z)
        return Xs, self.gate_scaler_.transform(Z)

    def _expert_params(self):
        if self.expert == "mlp":
            return {"hidden_dims": tuple(self.hidden_dims)}
        return {"hidden_dim": int(tuple(self.hidden_dims)[0]), "hops": self.hops,
                "conv": self.conv}

    def _data(self, X, groups=None):
        """MoEData of new inputs (no targets); kNN attachment for GNN experts."""
        Xs, G = self._embed(X, fit=False)
        prior = None if self.gate_.trainable else self.gate_.prior_proba(G, groups)
        neighbors = None
        if self.expert == "gnn":
            neighbors = self.knn_.kneighbors(G)[1]
        dev = self.device
        return MoEData(_tensor(Xs, device=dev), _tensor(G, device=dev), None,
                       _tensor(prior, device=dev), _tensor(neighbors, torch.long, dev))

    # --------------------------------------------------------------------- fit
    def _fit(self, X, target, groups, resume):
        """``target``: (n, out) float tensor (regression) or (n,) long, -1 unlabelled.

        Runs inside the subclass's :func:`fit_transaction`; global torch state (random
        generator, threads) is the caller's and is restored afterwards.
        """
        _setup.check_device(self.device)
        signature = (ckpt.fit_signature(self, X, target.numpy(), groups)
                     if resume is not None or self.checkpoint_dir else None)
        state = None if resume is None else ckpt.load_checkpoint(resume, self, signature)
        rng = check_random_state(self.random_state)
        previous = set_torch_threads(self.num_threads) if self.num_threads else None
        self._signature, self._resume, self._resume_from = signature, state, resume
        self._recluster_embedding = None
        try:
            with ckpt.forked_torch_rng(self.device):
                torch.manual_seed(int(rng.randint(2**31 - 1)))
                self._fit_body(X, target, groups, rng)
        finally:
            if previous is not None:
                torch.set_num_threads(previous)
            # training-only state: no training rows stay attached beyond what predict needs
            for name in ("_train_data", "_membership", "_recluster_embedding", "_resume",
                         "_resume_from", "_signature"):
                self.__dict__.pop(name, None)
        return self

    def _fit_body(self, X, target, groups, rng):
        if self.gate in ("labels", "oracle") and groups is None:
            raise ValueError(f"gate={self.gate!r} needs group labels: call fit(X, y, groups=...).")
        if groups is not None and len(groups) != X.shape[0]:
            raise ValueError(f"groups has {len(groups)} entries but X has {X.shape[0]} rows.")
        self.train_x_shape_ = X.shape
        self.scaler_ = StandardScaler().fit(X)
        self.embedder_ = _setup.make_embedder(self.embedder, self.random_state)
        Xs, G = self._embed(X, fit=True)
        self.history_ = []
        target = self._complete_targets(G, target)
        self._fit_graph(G)
        self._build_gate(G, groups, rng)
        experts = _setup.make_experts(self.expert, self.gate_.n_experts, Xs.shape[1],
                                      self._n_outputs, self._expert_params())
        # gates are fitted (distilled) on the CPU, then everything moves to ``device``
        self.module_ = GraphMoE(experts, self.gate_, top_k=self.top_k,
                                task=self._task).to(self.device)
        dev = self.device
        self.train_x_ = _tensor(Xs, device=dev) if self.expert == "gnn" else None
        self._train_data = MoEData(_tensor(Xs, device=dev), _tensor(G, device=dev),
                                   target.to(dev), None,
                                   _tensor(self.knn_.indices_, torch.long, dev)
                                   if self.expert == "gnn" else None)
        self._train_loop(rng)
        return self

    def _complete_targets(self, G, target):
        """Hook: the classifier pseudo-labels unlabelled rows here."""
        return target

    def _fit_graph(self, G):
        """Fit the connectivity clustering (graph gates) or a plain kNN graph (GNN experts)."""
        self.clustering_ = None
        self.knn_ = None
        if self.gate in _setup.GRAPH_GATES:
            self.clustering_ = fit_on_rank0(_setup.make_clustering(
                self.clustering, self.n_experts, G.shape[0], self.random_state), G, self.device)
            self.knn_ = self.clustering_.knn_
            self.history_.append({"epoch": 0, "event": "cluster",
                                  "n_clusters": int(self.clustering_.n_clusters_)})
        elif self.expert == "gnn":
            from ..graph import KNNGraph

            self.knn_ = KNNGraph(n_neighbors=min(15, G.shape[0] - 1),
                                 random_state=self.random_state).fit(G)

    def _build_gate(self, G, groups, rng):
        n_experts = self.n_experts
        if self.clustering_ is not None:
            n_experts = max(1, int(self.clustering_.n_clusters_))
        self.gate_ = _setup.make_gate(self.gate, in_features=G.shape[1], n_experts=n_experts,
                                      clustering=self.clustering_, gate_params=self.gate_params,
                                      hierarchical=self.hierarchical)
        membership = None if self.clustering_ is None else cluster_proba(self.clustering_)
        distill_epochs = getattr(self.gate_, "distill_epochs", None)
        if self._resume is not None and distill_epochs is not None:
            self.gate_.distill_epochs = 0  # the checkpoint holds the distilled gate
        self.gate_.fit(G, membership=membership, groups=groups,
                       random_state=int(rng.randint(2**31 - 1)))
        if distill_epochs is not None:
            self.gate_.distill_epochs = distill_epochs
        self.cluster_of_expert_ = getattr(self.gate_, "cluster_of_expert_",
                                          None if self.clustering_ is None
                                          else np.arange(self.gate_.n_experts))
        self._membership = membership

    @property
    def _uses_hierarchy(self):
        """Whether the experts' member + halo weights come from the clustering (not DVMoE)."""
        return self.clustering_ is not None and getattr(self.gate_, "init", "") != "none"

    @property
    def _coefs(self):
        return {"expert": self.expert_loss_coef if self._uses_hierarchy else 0.0,
                "load_balance": self.load_balance_loss_coef if self.gate_.trainable else 0.0,
                "entropy": self.entropy_loss_coef if self.gate_.trainable else 0.0,
                "gate": self.gate_loss_coef if self.gate_.trainable else 0.0}

    def _refresh_train_data(self):
        """Priors and members + halo weights of the current gate and clustering."""
        prior = self.gate_.train_prior_
        weights = None
        if self._uses_hierarchy:
            membership = self._membership[:, self.cluster_of_expert_]
            weights = _setup.halo_weights(membership, self.clustering_.graph_, self.halo)
        self._train_data = self._train_data._replace(
            prior=_tensor(prior, device=self.device),
            expert_weights=_tensor(weights, device=self.device))

    def _train_loop(self, rng):
        every = self.recluster_every or self.epochs
        state, self._resume = self._resume, None
        if state is not None:
            done = restore_training_state(self, state)
        else:
            done = 0
            if self._task == "regression":
                self._refresh_train_data()
                probs = predict_batches(self.module_, self._train_data,
                                        context=self._context())[3]
                init_experts_linear(self.module_, self._train_data, probs)
        while done < self.epochs:
            self._refresh_train_data()
            todo = min(every, self.epochs - done)
            start, optimizer_state = 0, None
            if state is not None:  # continue the interrupted block where it stopped
                start, optimizer_state = int(state["epoch"]), state["optimizer"]
                restore_random_state(self, state, rng)
                state = None
            train_epochs(self.module_, self._train_data, context=self._context(),
                         epochs=todo, batch_size=self.batch_size,
                         learning_rate=self.learning_rate, weight_decay=self.weight_decay,
                         coefs=self._coefs, rng=rng, history=self.history_, epoch0=done,
                         verbose=self.verbose, start=start, optimizer_state=optimizer_state,
                         on_epoch_end=checkpointer(self, done, rng))
            done += todo
            probs = predict_batches(self.module_, self._train_data, context=self._context())[3]
            reseed_collapsed(self.module_, probs, self.collapse_threshold, rng,
                             self.history_, done)
            if done < self.epochs and self.recluster_every:
                recluster(self, probs.argmax(axis=1), rng, done)

    def _context(self):
        if self.expert != "gnn":
            return None
        return NeighborhoodContext(self.train_x_,
                                   _tensor(self.knn_.indices_, torch.long, self.device))

    # ----------------------------------------------------------------- predict
    def _check_X(self, X):
        check_is_fitted(self, "module_")
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _check_fit_input(self, X, y):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             f"is None.")
        X_in, X = X, check_data(X, min_samples=3)
        validate_data(self, X, reset=True, skip_check_array=True)  # n_features_in_
        check_feature_names(self, X_in, reset=True)  # the caller's column names
        return X

    def _forward_new(self, X, groups=None):
        X = self._check_X(X)
        previous = set_torch_threads(self.num_threads) if self.num_threads else None
        try:
            data = self._data(X, groups)
            return predict_batches(self.module_, data, context=self._context())
        finally:
            if previous is not None:
                torch.set_num_threads(previous)

    def route(self, X, groups=None):
        """Experts each point is routed to and their weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), optional
            Only for ``gate="oracle"``.

        Returns
        -------
        experts : ndarray of shape (n_samples, top_k), int, most weighted first
        weights : ndarray of shape (n_samples, top_k), rows summing to 1
        """
        _, indices, weights, _ = self._forward_new(X, groups)
        return indices.astype(np.int64), weights.astype(np.float64)

    def gate_proba(self, X, groups=None):
        """Full gate probabilities ``(n_samples, n_experts_)``, rows summing to 1."""
        return self._forward_new(X, groups)[3].astype(np.float64)

    @property
    def experts_(self):
        """The fitted experts (``torch.nn.ModuleList``), one per cluster for graph gates."""
        check_is_fitted(self, "module_")
        return self.module_.experts

    @property
    def n_experts_(self):
        check_is_fitted(self, "module_")
        return self.module_.n_experts

    @property
    def hierarchy_(self):
        """The ClusterHierarchy the experts come from (None for non-graph gates)."""
        check_is_fitted(self, "module_")
        return None if self.clustering_ is None else self.clustering_.hierarchy_

    @property
    def expert_nodes_(self):
        """Hierarchy node served by each expert (None for non-graph gates)."""
        hierarchy = self.hierarchy_
        if hierarchy is None:
            return None
        if self.clustering_.n_clusters_ < 1:  # no cluster found: one expert for the root
            return np.array([hierarchy.root])
        return np.asarray(hierarchy.cluster_nodes)[self.cluster_of_expert_]
