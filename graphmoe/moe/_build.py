"""Building a GraphMoE fit's parts: the connectivity clustering, the gate and the experts."""
from __future__ import annotations

import inspect

import numpy as np
from torch import nn

from ..cluster.proba import cluster_proba
from ..distributed import fit_on_rank0
from ..nn.experts import make_expert
from ..nn.gates.hierarchical import expert_tree
from . import _setup
from .parents import regroup_parents, share_root

__all__ = ["BuildMixin", "parent_groups"]


def parent_groups(hierarchy, leaf_nodes):
    """Parent group of each expert: experts under the same lowest split of the tree share one.

    Returns ``(n_experts,)`` int, ``-1`` for an expert alone under its parent
    (then it gets no parent expert).
    """
    internal, routes = expert_tree(hierarchy, leaf_nodes)
    group = np.array([route[-1][0] if route else -1 for route in routes], dtype=np.int64)
    counts = np.bincount(group[group >= 0], minlength=len(internal))
    group[(group >= 0) & (counts[np.maximum(group, 0)] < 2)] = -1
    return group


class BuildMixin:
    """Fits the clustering and the gate, and makes the experts (flat or parent + child)."""

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
                                      hierarchical=self.hierarchical,
                                      pair_experts=self.pair_experts)
        membership = None if self.clustering_ is None else cluster_proba(self.clustering_)
        distill_epochs = getattr(self.gate_, "distill_epochs", None)
        if self._resume is not None and distill_epochs is not None:
            self.gate_.distill_epochs = 0  # the checkpoint holds the distilled gate
        # resuming: the checkpoint holds the distilled gate, so no teacher copies are drawn
        teacher = self._gate_teacher() if self._resume is None else {}
        self.gate_.fit(G, membership=membership, groups=groups,
                       random_state=int(rng.randint(2**31 - 1)), **teacher)
        if distill_epochs is not None:
            self.gate_.distill_epochs = distill_epochs
        self.cluster_of_expert_ = getattr(self.gate_, "cluster_of_expert_",
                                          None if self.clustering_ is None
                                          else np.arange(self.gate_.n_experts))
        self._membership = membership

    def _gate_teacher(self):
        """``teacher=`` for a gate that distils the hierarchy's routing of new points."""
        if self.clustering_ is None or "teacher" not in inspect.signature(self.gate_.fit).parameters:
            return {}
        return {"teacher": lambda Z: cluster_proba(self.clustering_, Z)}

    def _expert_kwargs(self):
        """Keyword arguments of the named expert class: the estimator's, then ``expert_params``."""
        if self.expert == "mlp":
            kwargs = {"hidden_dims": tuple(self.hidden_dims)}
            if self._shared_widths is not None:
                kwargs["skip"] = False  # the shared expert holds the one linear path
        else:
            kwargs = {"hidden_dim": int(tuple(self.hidden_dims)[0]), "hops": self.hops,
                      "conv": self.conv}
        return {**kwargs, **(self.expert_params if isinstance(self.expert_params, dict) else {})}

    #: widths of the shared expert that ``shared_expert="auto"`` gives MLP experts
    AUTO_SHARED_EXPERT = (128, 128)

    @property
    def _shared_widths(self):
        """Hidden widths of the shared expert, or None (none: GNN experts, a callable factory)."""
        if isinstance(self.shared_expert, str):  # "auto"
            if self.expert != "mlp" or callable(self.expert_params):
                return None
            return self.AUTO_SHARED_EXPERT
        return None if self.shared_expert is None else tuple(int(h) for h in self.shared_expert)

    def _check_shared_expert(self):
        """``shared_expert``: None, "auto" or positive hidden widths, with MLP experts."""
        if self.shared_expert is None or isinstance(self.shared_expert, str):
            return
        widths = np.asarray(self.shared_expert)
        if widths.ndim != 1 or not len(widths) or widths.dtype.kind not in "iu" \
                or (widths < 1).any():
            raise ValueError(f"shared_expert must be None, 'auto' or a sequence of positive "
                             f"hidden widths, got {self.shared_expert!r}.")
        if self.expert != "mlp":
            raise ValueError(f"shared_expert needs expert='mlp', got {self.expert!r}.")

    def _new_expert(self):
        """One expert: ``expert_params(in_features, out_features)`` when it is a callable."""
        d_in, d_out = self.train_x_shape_[1], self._n_outputs
        if callable(self.expert_params):
            expert = self.expert_params(d_in, d_out)
            if not isinstance(expert, nn.Module):
                raise TypeError(f"expert_params must return a torch.nn.Module, got "
                                f"{type(expert).__name__}.")
            return expert
        return make_expert(self.expert, d_in, d_out, **self._expert_kwargs())

    def _make_experts(self, n_experts):
        """``n_experts`` experts; with ``parent_experts`` siblings share a parent expert."""
        experts = [self._new_expert() for _ in range(int(n_experts))]
        return self._attach_parents(experts, [None] * len(experts))

    def _attach_parents(self, children, old_parents, root=None):
        """Experts of ``children``: families of the current tree on shared parents (if on).

        ``old_parents`` (one per child, None when it had none) are reused as
        :func:`~.parents.regroup_parents` says; new families get a new expert.
        With ``shared_expert`` all are wrapped around ``root`` (a new one if None).
        """
        leaves = self._expert_leaves(len(children)) if self.parent_experts else None
        experts = list(children)
        if leaves is not None:
            group = parent_groups(self.clustering_.hierarchy_, leaves)
            experts = regroup_parents(children, old_parents, group, self._new_expert)
        if self._shared_widths is None:
            return experts
        if root is None:
            root = make_expert("mlp", self.train_x_shape_[1], self._n_outputs,
                               hidden_dims=self._shared_widths)
        return share_root(experts, root)

    def _expert_leaves(self, n_experts):
        """Tree node of each expert, or None when the experts do not map onto the tree."""
        if (self.clustering_ is None or self.clustering_.n_clusters_ < 1
                or self.cluster_of_expert_ is None):
            return None
        nodes = np.asarray(self.clustering_.hierarchy_.cluster_nodes)
        if len(self.cluster_of_expert_) != n_experts or len(nodes) == 0:
            return None
        return nodes[self.cluster_of_expert_]
