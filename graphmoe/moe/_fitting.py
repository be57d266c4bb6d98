"""The training schedule of a GraphMoE estimator: weights, epoch blocks, re-clustering, contrasts."""
from __future__ import annotations

import numpy as np

from . import _setup
from ._inputs import as_tensor
from .checkpoint import checkpointer, restore_random_state, restore_training_state
from ..cluster.proba import cluster_proba, normalize_rows
from .contrast import contrast_prior, expert_losses
from .parents import own_weights
from .recluster import recluster
from .training import init_experts_linear, predict_batches, reseed_collapsed, train_epochs

__all__ = ["FittingMixin"]


def _has_skip(expert):
    """Whether an expert (or a parent + child expert's own child) has a skip path, if it says."""
    return getattr(own_weights(expert), "skip", True) is not None


class FittingMixin:
    """Trains the module: blocks of epochs between re-clusterings, then the pair contrasts."""

    @property
    def _uses_hierarchy(self):
        """Whether the experts' member + halo weights come from the clustering (not DVMoE)."""
        return self.clustering_ is not None and getattr(self.gate_, "init", "") != "none"

    @property
    def _coefs(self):
        trainable = self.gate_.trainable
        return {"expert": self.expert_loss_coef if self._uses_hierarchy else 0.0,
                "load_balance": self.load_balance_loss_coef if trainable else 0.0,
                "entropy": self.entropy_loss_coef if trainable else 0.0,
                "gate": self.gate_loss_coef if trainable else 0.0}

    @property
    def _contrasts(self):
        """Whether split memberships are settled by pair contrasts (fixed graph routers)."""
        return (bool(self.pair_experts) and self.clustering_ is not None
                and not self.gate_.trainable and self.gate in _setup.GRAPH_GATES)

    def _refresh_train_data(self):
        """Priors and members + halo weights of the current gate and clustering."""
        prior = self.gate_.train_prior_
        weights = None
        if self._uses_hierarchy:
            membership = self._membership[:, self.cluster_of_expert_]
            weights = _setup.halo_weights(membership, self.clustering_.graph_, self.halo,
                                          self.halo_decay)
        if self._contrasts:
            # a split training point trains only the expert of its own cluster; the votes
            # (losses) that route new points are set once the experts are trained
            self.contrast_owner_ = np.asarray(prior).argmax(axis=1)
            self.contrast_loss_ = -np.asarray(prior, dtype=np.float32)
            itself = np.arange(len(prior))[:, None]
            prior = contrast_prior(prior, itself, self.contrast_owner_, self.contrast_loss_)
        self._train_data = self._train_data._replace(
            prior=as_tensor(prior, device=self.device),
            expert_weights=as_tensor(weights, device=self.device))

    def _linear_start(self):
        """Regression experts start as their routed points' least-squares affine fits."""
        if self._task != "regression" or not all(map(_has_skip, self.module_.experts)):
            return  # no skip path to hold the affine map (e.g. reconstruction experts)
        self._refresh_train_data()
        probs = predict_batches(self.module_, self._train_data, context=self._context())[3]
        init_experts_linear(self.module_, self._train_data, probs)

    def _train_loop(self, rng):
        every = self.recluster_every or self.epochs
        state, self._resume = self._resume, None
        if state is not None:
            done = restore_training_state(self, state)
        else:
            done = 0
            self._linear_start()
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
        self._fit_contrasts()
        self._refine_gate(rng)

    def _fit_contrasts(self):
        """Each training point's loss under every expert: the votes of pair contrasts."""
        if not self._contrasts or self.expert != "mlp":
            return  # GNN experts keep the membership votes set before training
        data = self._train_data
        self.contrast_loss_ = expert_losses(self.module_, data.x, data.target,
                                            self._task).astype(np.float32)

    def _refine_gate(self, rng):
        """A learned gate that can (``refine``) learns the pair contrasts' routing of new points.

        Not when the fit re-clusters, whose clustering lives in the gate's latent space.
        """
        refine = getattr(self.gate_, "refine", None)
        if (refine is None or not self.pair_experts or self.clustering_ is None
                or self.expert != "mlp" or not self._uses_hierarchy
                or (self.recluster_every and self.recluster_every < self.epochs)):
            return
        data, columns = self._train_data, self.cluster_of_expert_
        losses = expert_losses(self.module_, data.x, data.target, self._task)
        owner = self._membership[:, columns].argmax(axis=1)
        knn = self.clustering_.knn_

        def teacher(Z):
            dist, ind = knn.kneighbors(Z)
            prior = normalize_rows(cluster_proba(self.clustering_, Z)[:, columns])
            return contrast_prior(prior, ind, owner, losses, distances=dist)

        result = refine(data.gate_input.cpu().numpy(), teacher,
                        random_state=int(rng.randint(2**31 - 1)))
        if result is not None:
            self.history_.append({"epoch": self.epochs, "event": "refine_gate",
                                  "epochs": result.epochs, "agreement": result.agreement})
