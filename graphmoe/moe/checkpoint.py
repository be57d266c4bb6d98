"""Checkpoints of the GraphMoE training loop, and how a resumed fit picks one up.

A resumed fit first replays the deterministic set-up of the original one
(scaling, the embedder resumed from its own finished checkpoint, the
clustering, the gate without its distillation, whose result the checkpoint
holds), then puts back what the training loop had changed:

* the expert count, the cluster each expert serves, the gate's size and the
  clustering after the last re-clustering (refitted on the gate embedding it
  was fitted on, saved in the checkpoint);
* every weight (experts and gate), the Adam and cosine-schedule states of
  the current block of epochs, ``history_``;
* the numpy and torch random states, so that the remaining epochs draw the
  same minibatches and Gumbel/Gaussian noise as the uninterrupted run.
"""
from __future__ import annotations

import os

import numpy as np
import torch
from sklearn.base import clone

from .. import _checkpoint as ckpt
from ..nn.gates import cluster_proba
from .module import GraphMoE

__all__ = ["training_state", "restore_training_state", "restore_random_state", "checkpointer",
           "embedder_fit_params"]


def _tensor_or_none(a, dtype=None):
    return None if a is None else torch.as_tensor(np.asarray(a), dtype=dtype)


def _numpy_or_none(t):
    return None if t is None else t.numpy()


def training_state(est, *, done, epoch, optimizer, schedule, rng):
    """Everything needed to continue after ``epoch`` epochs of the block starting at ``done``."""
    gate = est.gate_
    return {
        "meta": est._signature, "done": int(done), "epoch": int(epoch),
        "model": est.module_.state_dict(), "n_experts": int(est.module_.n_experts),
        "cluster_of_expert": _tensor_or_none(est.cluster_of_expert_, torch.long),
        "recluster_embedding": _tensor_or_none(est._recluster_embedding),
        "gate_train_prior": _tensor_or_none(gate.train_prior_, torch.float64),
        "gate_distill_epochs": int(getattr(gate, "distill_epochs", 0)),
        "optimizer": {"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict()},
        "history": list(est.history_),
        "torch_rng": ckpt.torch_rng_state(est.device), "numpy_rng": ckpt.numpy_rng_state(rng),
    }


def restore_training_state(est, state):
    """Rebuild the fitted structure of the checkpoint and load its weights; returns ``done``."""
    emb = _numpy_or_none(state["recluster_embedding"])
    if emb is not None:  # re-clustering is deterministic given its input and random_state
        est.clustering_ = clone(est.clustering_).fit(emb)
        est._membership = cluster_proba(est.clustering_)
        est._recluster_embedding = emb
    est.cluster_of_expert_ = _numpy_or_none(state["cluster_of_expert"])
    gate, n_experts = est.gate_, int(state["n_experts"])
    if gate.n_experts != n_experts:  # only a re-clustering gate changes size
        gate.resize(np.arange(0), n_experts)
    if hasattr(gate, "distill_epochs"):
        gate.distill_epochs = int(state["gate_distill_epochs"])
    gate.train_prior_ = _numpy_or_none(state["gate_train_prior"])
    experts = est._make_experts(n_experts)
    est.module_ = GraphMoE(experts, gate, top_k=est.top_k, task=est._task).to(est.device)
    est.module_.load_state_dict(state["model"])
    est.history_ = list(state["history"])
    return int(state["done"])


def restore_random_state(est, state, rng):
    """Put back the random states the interrupted run had at its checkpoint."""
    ckpt.set_torch_rng_state(state["torch_rng"], est.device)
    ckpt.set_numpy_rng_state(rng, state["numpy_rng"])


def checkpointer(est, done, rng):
    """The per-epoch hook that writes a checkpoint every ``checkpoint_every`` epochs."""
    if not est.checkpoint_dir:
        return None

    def on_epoch_end(epoch, optimizer, schedule):
        total = done + epoch
        if total % est.checkpoint_every == 0 or total == est.epochs:
            state = training_state(est, done=done, epoch=epoch, optimizer=optimizer,
                                   schedule=schedule, rng=rng)
            ckpt.save_checkpoint(state, ckpt.checkpoint_path(est.checkpoint_dir, est))
    return on_epoch_end


def embedder_fit_params(est):
    """A graphmoe embedder checkpoints into the same folder and resumes with its parent."""
    from ..embed._base import BaseEmbedder

    if not isinstance(est.embedder_, BaseEmbedder):
        return {}
    if est.checkpoint_dir is not None and est.embedder_.checkpoint_dir is None:
        est.embedder_.set_params(checkpoint_dir=est.checkpoint_dir,
                                 checkpoint_every=est.checkpoint_every)
    if est._resume_from is None:
        return {}
    folder = os.fspath(est._resume_from)
    return {"resume": folder if os.path.isdir(folder) else os.path.dirname(folder) or "."}
