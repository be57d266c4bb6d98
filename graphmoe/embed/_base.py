"""The estimator shared by every embedder: validation, scaling, training loop.

Subclasses provide the torch module (``_build_module``), the minibatch
objective (``_loss``) and, when they need more than one training phase,
``_fit_module``. Everything else lives here: input checks, the likelihood
choice, standardisation for Gaussian data, seeding, threads, device, and
:meth:`BaseEmbedder._train` (Adam, minibatches, early stopping on a held-out
split, a NaN/inf guard that restores the last good weights, a tqdm bar).
"""
from __future__ import annotations

import copy
import numbers
import os
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import _checkpoint as ckpt
from ..distributed.data_parallel import DataParallel, LossModule
from .._progress import progress, set_torch_threads
from .._validation import check_data, check_feature_names, check_features, check_random_state
from .graph_loss import input_neighbors, sample_neighbors
from ._resume import ResumableTrainingMixin, TrainingHistory
from .likelihood import LIKELIHOODS, choose_likelihood, mean_from_output, negative_log_likelihood
from .networks import default_hidden_dims

__all__ = ["BaseEmbedder", "TrainingHistory", "sampling_generator"]

#: rows per forward pass when encoding or decoding without gradients.
_INFERENCE_BATCH = 4096


def sampling_generator(random_state):
    """A torch generator for ``sample``: seeded by ``random_state``, or fresh OS entropy.

    ``torch.seed()`` would reseed (and so change) the caller's global generator.
    """
    seed = (int(random_state) if random_state is not None
            else int(np.random.SeedSequence().entropy % 2**63))
    return torch.Generator().manual_seed(seed)


@contextmanager
def _torch_threads(num_threads):
    # None leaves torch's own setting alone: the user's torch.set_num_threads is respected.
    previous = torch.get_num_threads()
    if num_threads is not None:
        set_torch_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class BaseEmbedder(ResumableTrainingMixin, TransformerMixin, BaseEstimator):
    """Common parameters and training machinery of the graphmoe embedders.

    Not meant to be used directly; see :class:`AutoEncoder`, :class:`VAE`,
    :class:`VaDE` and :class:`DMVAE` for the parameters.
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_dims": ["array-like", None],
        "likelihood": [StrOptions({"auto", *LIKELIHOODS})],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "graph_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "patience": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "num_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X, y=None, resume=None):
        """Train the model on ``X`` of shape (n_samples, n_features); ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        resume : str or path-like, optional
            Continue an interrupted fit from a checkpoint written with
            ``checkpoint_dir``: a checkpoint file, or a folder (its
            ``<ClassName>.ckpt``; a folder without one starts afresh). Needs the
            same data and parameters and an integer ``random_state``; the result
            is then the one an uninterrupted fit reaches.

        Returns
        -------
        self

        Notes
        -----
        A fit either completes or changes nothing: if it raises (a
        ``FloatingPointError`` from a non-finite loss, a ``KeyboardInterrupt``,
        ...), the estimator is left as it was before the call (unfitted after a
        first fit). The last good weights then live in the latest checkpoint
        when ``checkpoint_dir`` is set.
        """
        self._validate_params()
        with ckpt.fit_transaction(self):  # a refit that fails validation changes nothing
            check_feature_names(self, X, reset=True)
            X = check_data(X, estimator=self, min_samples=2)
            signature = (ckpt.fit_signature(self, X)
                         if resume is not None or self.checkpoint_dir else None)
            state = None if resume is None else ckpt.load_checkpoint(resume, self, signature)
            self._fit_checked(X, state, signature)
        return self

    def _fit_checked(self, X, state, signature):
        self.n_features_in_ = X.shape[1]
        self.likelihood_ = choose_likelihood(X, self.likelihood)
        self.hidden_dims_ = (tuple(int(h) for h in self.hidden_dims)
                             if self.hidden_dims is not None
                             else default_hidden_dims(X.shape[1]))
        self._fit_scaler(X)
        X_scaled = self._scale(X)
        rng = check_random_state(self.random_state)
        self._rng, self._resume = rng, state
        self._signature = signature
        self.device_ = self._resolve_device()
        try:
            with ckpt.forked_torch_rng(self.device_), _torch_threads(self.num_threads):
                torch.manual_seed(int(rng.randint(2**31 - 1)))
                self._neighbors = (input_neighbors(X_scaled, self.n_neighbors, rng)
                                   if self.graph_weight > 0 else None)
                self.module_ = self._build_module().to(self.device_)
                self.history_ = {}
                if state is not None:
                    self.history_ = {k: TrainingHistory(v) for k, v in state["history"].items()}
                    for name, value in state["extras"].items():
                        setattr(self, name, value.numpy() if torch.is_tensor(value) else value)
                self._fit_module(X_scaled)
        finally:
            if hasattr(self, "module_"):
                self.module_.eval()
            # training-only state: nothing of X stays attached to a fitted model
            for name in ("_rng", "_neighbors", "_resume", "_signature", "_hold_assignments"):
                self.__dict__.pop(name, None)

    def _resume_phase(self):
        """The training phase the checkpoint being resumed was written in, or None."""
        return None if self._resume is None else self._resume["phase"]

    def _checkpoint_extras(self):
        """Fitted attributes set between phases that a checkpoint must carry (subclasses)."""
        return {}

    def _fit_module(self, X):
        """One training phase on the model objective (subclasses add pretraining)."""
        self.history_["train"] = self._train(X, self._loss, self.epochs, desc=type(self).__name__,
                                             phase="train")

    def _resolve_device(self):
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was requested but torch finds no CUDA device.")
        return torch.device(self.device)

    def _fit_scaler(self, X):
        # Gaussian data are standardised so that a unit-variance likelihood fits every scale.
        if self.likelihood_ == "gaussian":
            self.mean_ = X.mean(axis=0)
            # Relative to each column's magnitude: an absolute floor (1e-12) took every
            # column of data around 1e-13 for a constant one and collapsed the embedding.
            peak = np.abs(X).max(axis=0)
            peak = np.where(peak > 0, peak, 1.0)
            scale = (X / peak).std(axis=0) * peak  # no underflow in the squares
            self.scale_ = np.where(scale > 1e-12 * peak, scale, 1.0)
        else:
            self.mean_ = np.zeros(X.shape[1])
            self.scale_ = np.ones(X.shape[1])

    def _scale(self, X):
        return self._scaled64(X).astype(np.float32)

    def _scaled64(self, X):
        return (X - self.mean_) / self.scale_

    # -- the training loop ---------------------------------------------------------------
    def _split(self, n):
        order = self._rng.permutation(n)
        n_val = int(round(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 1:
            return order, order[:0]
        return order[n_val:], order[:n_val]

    def _train(self, X, loss_fn, epochs, *, desc, phase, on_epoch=None, use_graph=True):
        """Minimise ``loss_fn(x_batch, x_neighbors_or_None)`` with Adam.

        Early stopping watches the loss on a held-out split (graph term off) and
        restores the best weights. A non-finite loss or weight restores the
        weights of the last completed epoch and raises ``FloatingPointError``.
        With ``checkpoint_dir`` set, the loop state (weights, optimizer, RNG
        states, early-stopping state) is saved every ``checkpoint_every``
        epochs and at the end of the phase; a fit resumed in ``phase`` picks it
        up here.

        Under ``torchrun`` the loop is data-parallel (DDP): every rank draws the
        same global batches and trains on its share of each; rank 0 alone shows
        the bar and writes checkpoints (:mod:`graphmoe.distributed`).

        Returns
        -------
        TrainingHistory
        """
        X_t = torch.from_numpy(X).to(self.device_)
        loop = self._start_loop(len(X), phase)
        neighbors = self._neighbors if use_graph else None
        par = DataParallel(LossModule(self.module_, loss_fn), self.device_, len(X))
        bar = progress(range(loop.epoch, epochs), verbose=self.verbose and par.is_main, desc=desc)
        for epoch in ([] if loop.finished else bar):
            if on_epoch is not None:
                on_epoch(epoch, epochs)
            train_loss = self._train_epoch(X_t, loop.train_idx, par, loop.optimizer,
                                           loop.generator, neighbors, loop.last_good)
            loop.last_good = copy.deepcopy(self.module_.state_dict())
            loop.history["train_loss"].append(train_loss)
            postfix = {"loss": f"{train_loss:.4g}"}
            if len(loop.val_idx):
                val_loss = self._evaluate(X_t, loop.val_idx, loss_fn, par)
                loop.history["val_loss"].append(val_loss)
                postfix["val"] = f"{val_loss:.4g}"
                if not np.isfinite(loop.best_val) or \
                        val_loss < loop.best_val - 1e-4 * abs(loop.best_val):
                    loop.best_val, loop.best_state, loop.wait = val_loss, loop.last_good, 0
                else:
                    loop.wait += 1
            bar.set_postfix(**postfix)
            loop.epoch, loop.finished = epoch + 1, (epoch + 1 == epochs
                                                    or loop.wait >= self.patience)
            due = loop.finished or loop.epoch % self.checkpoint_every == 0
            if self.checkpoint_dir and par.is_main and due:
                self._save_checkpoint(phase, loop)
            if loop.finished:
                break
        if len(loop.val_idx):
            self.module_.load_state_dict(loop.best_state)
        history = loop.history
        history["n_epochs"] = len(history["train_loss"])
        return history

    def _train_epoch(self, X_t, train_idx, par, optimizer, generator, neighbors, last_good):
        """One pass; ``par`` (:class:`DataParallel`) runs this rank's share of each batch."""
        module = self.module_
        module.train()
        order = train_idx[torch.randperm(len(train_idx), generator=generator).numpy()]
        total, count = 0.0, 0
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            # drawn for the whole global batch: the generator advances as in one process
            pos = None if neighbors is None else sample_neighbors(neighbors, batch, generator)
            mine, n_mine = par.shard(np.arange(len(batch)))
            x_pos = None if pos is None else X_t[pos[mine]]
            loss, _ = par.module(X_t[batch[mine]], x_pos)
            loss = par.global_means({"loss": loss}, {"loss": n_mine})[0]["loss"]
            if not torch.isfinite(loss):
                self._diverged(loss.item(), last_good)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            count += len(batch)
        if not all(torch.isfinite(p).all() for p in module.parameters()):
            self._diverged("non-finite weights", last_good)
        return total / max(count, 1)

    def _diverged(self, what, last_good):
        self.module_.load_state_dict(last_good)
        self.module_.eval()
        raise FloatingPointError(
            f"{type(self).__name__}: training diverged (loss {what}) at "
            f"learning_rate={self.learning_rate}. Lower learning_rate or check the scale of "
            "X. The estimator is left as before fit; the last good weights are in the latest "
            "checkpoint when checkpoint_dir is set.")

    @torch.no_grad()
    def _evaluate(self, X_t, idx, loss_fn, par=None):
        """Mean loss over rows ``idx``; with ``par``, each rank scores its share."""
        self.module_.eval()
        n_all = len(idx)
        if par is not None:
            mine, n_mine = par.shard(idx)
            idx = mine[:n_mine]
        total = 0.0
        for start in range(0, len(idx), _INFERENCE_BATCH):
            batch = idx[start:start + _INFERENCE_BATCH]
            loss, _ = loss_fn(X_t[batch], None)
            total += loss.item() * len(batch)
        if par is not None:
            total = float(par.all_sum([total])[0])
        return total / n_all

    # -- inference -----------------------------------------------------------------------
    def _check_input(self, X):
        check_is_fitted(self, "module_")
        check_feature_names(self, X, reset=False)
        try:
            X = check_data(X, estimator=self, min_samples=1)
        except ValueError as err:
            if "got 1-D" not in str(err):
                raise
            # sklearn's convention (and its estimator checks) name the fix this way
            raise ValueError(f"{err} Reshape your data accordingly.") from None
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        if self.likelihood_ == "bernoulli":
            choose_likelihood(X, "bernoulli")
        return X

    @torch.no_grad()
    def _batched(self, fn, X):
        """``fn(module, x)`` over ``X`` in batches; numpy float64 output(s).

        Inference runs on a float64 copy of the module: float32 matrix products
        differ in the last bits with the batch size, and a row's code should not
        depend on which other rows it is transformed with.
        """
        module = copy.deepcopy(self.module_).double().eval()
        outs = []
        for start in range(0, len(X), _INFERENCE_BATCH):
            xb = torch.from_numpy(np.asarray(X[start:start + _INFERENCE_BATCH], dtype=np.float64))
            res = fn(module, xb.to(self.device_))
            res = res if isinstance(res, tuple) else (res,)
            outs.append([r.detach().cpu().numpy() for r in res])
        merged = tuple(np.concatenate(parts) for parts in zip(*outs))
        return merged if len(merged) > 1 else merged[0]

    def transform(self, X):
        """The mean code of each row; (n_samples, n_components)."""
        X = self._check_input(X)
        return self._batched(self._encode_mean, self._scaled64(X))

    def inverse_transform(self, X):
        """Decode codes of shape (n_samples, n_components) back to data space (the mean)."""
        check_is_fitted(self, "module_")
        Z = check_data(X, name="codes", estimator=self, min_samples=1)
        check_features(Z, self.n_components, name="codes")
        X_hat = self._batched(
            lambda module, z: mean_from_output(module.decode(z), self.likelihood_), Z)
        return X_hat * self.scale_ + self.mean_

    def score(self, X, y=None):
        """Mean log-likelihood bound per row (higher is better); see the subclass."""
        X = self._check_input(X)
        X_t = torch.from_numpy(self._scale(X)).to(self.device_)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # the ELBO's Monte Carlo draw is fixed so score is repeatable
            return -self._evaluate(X_t, np.arange(len(X)), self._loss)

    def _reconstruction_nll(self, x, output):
        return negative_log_likelihood(x, output, self.likelihood_)

    def _more_tags(self):
        return {"preserves_dtype": [np.float64]}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        tags.non_deterministic = False
        return tags
