"""Resumable training loops of the embedders: loop state, checkpoints, resumption.

A checkpoint of an embedder holds, besides the weights, everything the loop
of the current phase needs to go on exactly as an uninterrupted fit would:
the Adam state, the train/validation split, the early-stopping state (best
weights, best loss, patience counter), the minibatch generator and the torch
and numpy random states. Phases that ended before it (pretraining, the
mixture set-up) are carried by the weights, ``history_`` and the subclass's
``_checkpoint_extras``.
"""
from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import torch

from .. import _checkpoint as ckpt

__all__ = ["ResumableTrainingMixin", "TrainingHistory"]


class TrainingHistory(dict):
    """Per-epoch records of one training phase: ``train_loss``, ``val_loss`` and extras."""


class ResumableTrainingMixin:
    """Loop state of :meth:`BaseEmbedder._train`: fresh, restored or saved."""

    def _start_loop(self, n, phase):
        """Fresh loop state for ``phase``, or the state of the checkpoint being resumed."""
        module = self.module_
        loop = SimpleNamespace(epoch=0, finished=False, wait=0, best_val=np.inf,
                               history=TrainingHistory(train_loss=[], val_loss=[]))
        loop.train_idx, loop.val_idx = self._split(n)
        loop.generator = torch.Generator().manual_seed(int(self._rng.randint(2**31 - 1)))
        loop.optimizer = torch.optim.Adam(module.parameters(), lr=self.learning_rate)
        state = self._resume
        if state is not None and state["phase"] == phase:
            loop = self._restore_loop(loop, state)
            self._resume = None  # consumed: later phases start fresh
        loop.last_good = copy.deepcopy(module.state_dict())
        if not hasattr(loop, "best_state"):
            loop.best_state = loop.last_good
        return loop

    def _restore_loop(self, loop, state):
        s = state["loop"]
        self.module_.load_state_dict(state["model"])
        loop.optimizer.load_state_dict(state["optimizer"])
        loop.best_state = {k: v.to(self.device_) for k, v in s["best_state"].items()}
        loop.epoch, loop.finished, loop.wait = int(s["epoch"]), bool(s["finished"]), int(s["wait"])
        loop.best_val = float(s["best_val"])
        loop.train_idx, loop.val_idx = s["train_idx"].numpy(), s["val_idx"].numpy()
        loop.history = TrainingHistory({k: list(v) for k, v in s["history"].items()})
        loop.generator.set_state(s["generator"])
        ckpt.set_torch_rng_state(state["torch_rng"], self.device_)
        ckpt.set_numpy_rng_state(self._rng, state["numpy_rng"])
        return loop

    def _save_checkpoint(self, phase, loop):
        """Everything needed to continue ``phase`` after epoch ``loop.epoch``."""
        extras = {k: torch.from_numpy(np.asarray(v)) if isinstance(v, np.ndarray) else v
                  for k, v in self._checkpoint_extras().items()}
        state = {
            "meta": self._signature, "phase": phase, "extras": extras,
            "history": {k: dict(v) for k, v in self.history_.items()},
            "model": self.module_.state_dict(), "optimizer": loop.optimizer.state_dict(),
            "torch_rng": ckpt.torch_rng_state(self.device_),
            "numpy_rng": ckpt.numpy_rng_state(self._rng),
            "loop": {"epoch": loop.epoch, "finished": loop.finished, "wait": loop.wait,
                     "best_val": float(loop.best_val), "best_state": loop.best_state,
                     "train_idx": torch.from_numpy(np.asarray(loop.train_idx)),
                     "val_idx": torch.from_numpy(np.asarray(loop.val_idx)),
                     "history": dict(loop.history), "generator": loop.generator.get_state()},
        }
        ckpt.save_checkpoint(state, ckpt.checkpoint_path(self.checkpoint_dir, self))
