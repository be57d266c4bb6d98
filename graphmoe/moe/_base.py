"""The estimator shared by GraphMoERegressor and GraphMoEClassifier: parameters and ``fit``.

The work is split by job: :mod:`._inputs` (validation, embedding, forward
tensors), :mod:`._build` (clustering, gate, experts), :mod:`._fitting`
(the training schedule) and :mod:`._inspect` (routing and fitted structure).
"""
from __future__ import annotations

import numbers
import os

import torch
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .. import _checkpoint as ckpt
from .._progress import set_torch_threads
from .._validation import check_random_state
from ..nn.gates import gate_entry, gate_names
from . import _setup
from ._build import BuildMixin
from ._fitting import FittingMixin
from ._inputs import InputsMixin, as_tensor
from ._inspect import InspectMixin
from .module import GraphMoE
from .training import MoEData

__all__ = ["BaseGraphMoE"]


class _RegisteredGate(StrOptions):
    """``gate=``: a name of the gate registry *now*, so that a gate registered after
    import (:func:`graphmoe.nn.gates.register_gate`) is accepted."""

    def __init__(self):
        super().__init__(set())

    @property
    def options(self):
        return set(gate_names())

    @options.setter
    def options(self, value):  # the registry is the one source; nothing to store
        pass


class BaseGraphMoE(InputsMixin, BuildMixin, FittingMixin, InspectMixin, BaseEstimator):
    """Parameters and the fit transaction; see the subclasses for the parameters."""

    _parameter_constraints = {
        "embedder": [None, StrOptions({"ae", "vae", "dmvae"}), HasMethods(["fit", "transform"])],
        "clustering": [None, HasMethods(["fit"])],
        "expert": [StrOptions({"mlp", "gnn"})],
        "gate": [_RegisteredGate()],
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
        "halo_decay": [Interval(numbers.Real, 0, 1, closed="both")],
        "pair_experts": ["boolean"],
        "expert_params": [None, dict, callable],
        "parent_experts": ["boolean"],
        "shared_expert": [None, StrOptions({"auto"}), "array-like"],
    }

    _task = None  # "regression" | "classification", set by subclasses

    # Model files written before these parameters existed restore without them; these
    # class-level values are how those models were built (no pair or parent experts,
    # the halo's weights of then), so that they predict as they did. ``__init__`` sets
    # every parameter on the instance, so new estimators never read them.
    pair_experts = False
    parent_experts = False
    expert_params = None
    halo_decay = 0.5
    shared_expert = None

    def __init__(self, embedder=None, clustering=None, expert="mlp", gate="graph",
                 n_experts=None, top_k=2, hierarchical=False, halo=0, hidden_dims=(32, 32),
                 hops=1, conv="sage",
                 gate_params=None, epochs=60, recluster_every=None, batch_size=256,
                 learning_rate=5e-3, weight_decay=0.0, expert_loss_coef=1.0,
                 load_balance_loss_coef=0.01, entropy_loss_coef=0.0, gate_loss_coef=0.1,
                 collapse_threshold=0.1, device="cpu", num_threads=None, random_state=None,
                 verbose=False, checkpoint_dir=None, checkpoint_every=10, halo_decay=0.5,
                 pair_experts=True, expert_params=None, parent_experts=False,
                 shared_expert=None):
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
        self.halo_decay = halo_decay
        self.pair_experts = pair_experts
        self.expert_params = expert_params
        self.parent_experts = parent_experts
        self.shared_expert = shared_expert

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

    def _check_structure(self, groups, n_rows):
        if gate_entry(self.gate).cls.needs_groups and groups is None:
            raise ValueError(f"gate={self.gate!r} needs group labels: call fit(X, y, groups=...).")
        if groups is not None and len(groups) != n_rows:
            raise ValueError(f"groups has {len(groups)} entries but X has {n_rows} rows.")
        if self.parent_experts and self.expert != "mlp":
            raise ValueError(f"parent_experts=True needs expert='mlp', got {self.expert!r}.")
        self._check_shared_expert()

    def _fit_body(self, X, target, groups, rng):
        self._check_structure(groups, X.shape[0])
        self.train_x_shape_ = X.shape
        self.scaler_ = StandardScaler().fit(X)
        self.embedder_ = _setup.make_embedder(self.embedder, self.random_state)
        Xs, G = self._embed(X, fit=True)
        self.history_ = []
        target = self._complete_targets(G, target)
        self._fit_graph(G)
        self._build_gate(G, groups, rng)
        experts = self._make_experts(self.gate_.n_experts)
        # gates are fitted (distilled) on the CPU, then everything moves to ``device``
        self.module_ = GraphMoE(experts, self.gate_, top_k=self.top_k,
                                task=self._task).to(self.device)
        dev = self.device
        self.train_x_ = as_tensor(Xs, device=dev) if self.expert == "gnn" else None
        self._train_data = MoEData(as_tensor(Xs, device=dev), as_tensor(G, device=dev),
                                   target.to(dev), None,
                                   as_tensor(self.knn_.indices_, torch.long, dev)
                                   if self.expert == "gnn" else None)
        self._train_loop(rng)
        return self

    def _complete_targets(self, G, target):
        """Hook: the classifier pseudo-labels unlabelled rows here."""
        return target
