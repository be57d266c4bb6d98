"""The inner training loop of GraphMoE, batched inference, and collapse recovery."""
from __future__ import annotations

import copy
from typing import NamedTuple, Optional

import numpy as np
import torch

from .._progress import progress
from ..distributed.data_parallel import DataParallel, moe_global_losses
from .losses import task_loss
from .matching import collapsed_experts, expert_load
from .parents import own_weights

__all__ = ["MoEData", "train_epochs", "predict_batches", "reseed_collapsed",
           "init_experts_linear"]

LOSS_TERMS = ("expert", "load_balance", "entropy", "gate")


class MoEData(NamedTuple):
    """Row-aligned tensors of one data set; optional fields are None when unused.

    x (n, in) expert input · gate_input (n, d) · target (n, out) float or (n,) long ·
    prior (n, E) fixed-gate probabilities · neighbors (n, k) kNN ids into the
    training set (GNN experts) · expert_weights (n, E) members + halo weights.
    """

    x: torch.Tensor
    gate_input: torch.Tensor
    target: Optional[torch.Tensor] = None
    prior: Optional[torch.Tensor] = None
    neighbors: Optional[torch.Tensor] = None
    expert_weights: Optional[torch.Tensor] = None

    def rows(self, idx):
        return MoEData(*(None if t is None else t[idx] for t in self))


def _forward(model, batch, context, with_target):
    return model(batch.x, batch.gate_input, prior=batch.prior, context=context,
                 neighbors=batch.neighbors,
                 expert_weights=batch.expert_weights if with_target else None,
                 target=batch.target if with_target else None)


def train_epochs(model, data, *, context, epochs, batch_size, learning_rate, coefs, rng,
                 history, epoch0=0, weight_decay=0.0, verbose=False, start=0,
                 optimizer_state=None, on_epoch_end=None):
    """Train ``model`` for ``epochs`` passes; append one record per epoch to ``history``.

    The loss is ``task + sum(coefs[t] * aux[t])`` over the terms of
    :data:`LOSS_TERMS`; ``coefs`` maps those names to floats. Adam, with the
    learning rate annealed (cosine) to zero over the call.

    ``start`` and ``optimizer_state`` (``{"optimizer": ..., "schedule": ...}``)
    continue an interrupted call after ``start`` epochs; ``on_epoch_end(k,
    optimizer, schedule)`` runs after each epoch (``k`` epochs done), e.g. to
    write a checkpoint. A non-finite loss or weight puts back the weights of
    the last completed epoch and raises ``FloatingPointError``.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:  # e.g. nothing learnable: a fixed router and no experts
        return
    # fused: one kernel over all parameters instead of ~10 small ops per tensor, which
    # was the largest cost of a training step with tens of small expert tensors
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    optimizer = torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay,
                                 fused=fused or None)
    n = data.x.shape[0]
    n_batches = max(1, int(np.ceil(n / batch_size)))
    # cosine decay to zero: the last epochs settle into the minimum instead of hovering
    # around it at the full step size (exact affine targets reach MSE ~1e-4 only so)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * n_batches)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state["optimizer"])
        schedule.load_state_dict(optimizer_state["schedule"])
    model.train()
    par = DataParallel(model, params[0].device, n)  # DDP under torchrun, else a no-op
    for epoch in progress(range(start, epochs), verbose=verbose and par.is_main,
                          desc="GraphMoE epochs"):
        last_good = copy.deepcopy(model.state_dict())
        sums = dict.fromkeys(("loss", "task", *LOSS_TERMS), 0.0)
        for idx in np.array_split(rng.permutation(n), n_batches):
            idx, n_mine = par.shard(idx)
            batch = data.rows(torch.as_tensor(idx))
            out = _forward(par.module, batch, context, with_target=True)
            # NaN gate probabilities route no row to any expert; under torchrun every
            # rank learns of it, so that none waits for the others in the next collective
            if par.any_rank(out.output is None):
                _diverged(model, last_good, "NaN routing", learning_rate)
            task = task_loss(out.output, batch.target, model.task)
            task, aux = moe_global_losses(par, task, out, batch, model.task, n_mine)
            loss = task + sum(coefs[t] * aux[t] for t in LOSS_TERMS if coefs[t])
            if not torch.isfinite(loss):
                _diverged(model, last_good, f"loss {loss.item()}", learning_rate)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            sums["loss"] += loss.item() / n_batches
            sums["task"] += task.item() / n_batches
            for t in LOSS_TERMS:
                sums[t] += float(aux[t].detach()) / n_batches
        # the last step can overflow the weights with a finite loss
        if not all(torch.isfinite(p).all() for p in params):
            _diverged(model, last_good, "non-finite weights", learning_rate)
        history.append({"epoch": epoch0 + epoch + 1, "event": "epoch", **sums})
        if on_epoch_end is not None and par.is_main:
            on_epoch_end(epoch + 1, optimizer, schedule)


def _diverged(model, last_good, what, learning_rate):
    model.load_state_dict(last_good)
    model.eval()
    raise FloatingPointError(
        f"GraphMoE training diverged ({what}) at learning_rate={learning_rate}; lower "
        "learning_rate or check the scale of X and y. The estimator is left as before fit; "
        "the last good weights are in the latest checkpoint when checkpoint_dir is set.")


@torch.no_grad()
def predict_batches(model, data, *, context, batch_size=4096):
    """Eval-mode forward in batches: ``(output, indices, weights, probs)`` as numpy arrays."""
    model.eval()
    outs = []
    for idx in np.array_split(np.arange(data.x.shape[0]), max(1, data.x.shape[0] // batch_size)):
        out = _forward(model, data.rows(torch.as_tensor(idx)), context, with_target=False)
        outs.append((out.output, out.routing[0], out.routing[1], out.probs))
    return tuple(torch.cat(parts).cpu().numpy() for parts in zip(*outs))


@torch.no_grad()
def reseed_collapsed(model, probs, threshold, rng, history, epoch):
    """Re-seed experts whose load fell below ``threshold`` of the fair share.

    A collapsed expert becomes a perturbed copy of the most loaded one; a
    learned gate that supports it (``reseed_expert``) splits that expert's
    region between the two. Fixed routers cannot shift load, nor can a gate
    that routes the training rows by their cluster (``routes_training_by_prior``),
    so for them the collapse is only logged. Returns the indices of the collapsed experts.
    """
    load = expert_load(probs)
    dead = collapsed_experts(load, threshold)
    gate = model.gate
    for e in dead:
        donor = int(np.argmax(load))
        action = "logged (fixed router)"
        if getattr(gate, "routes_training_by_prior", False):
            action = "logged (training rows routed by their cluster)"
        elif gate.trainable:
            # own weights only: a parent expert is shared with siblings and stays as it is
            target, source = own_weights(model.experts[e]), own_weights(model.experts[donor])
            target.load_state_dict(copy.deepcopy(source.state_dict()))
            for p in target.parameters():  # break the symmetry with the donor
                scale = 1e-2 * (p.std().item() if p.numel() > 1 else abs(p.item()))
                p.add_(scale * torch.as_tensor(rng.standard_normal(tuple(p.shape)),
                                               dtype=p.dtype, device=p.device))
            if hasattr(gate, "reseed_expert"):
                gate.reseed_expert(int(e), donor)
            action = f"re-seeded from expert {donor}"
        history.append({"epoch": epoch, "event": "collapse", "expert": int(e),
                        "load": float(load[e]), "action": action})
    return dead


@torch.no_grad()
def init_experts_linear(model, data, probs, ridge=1e-6):
    """Start every expert as the weighted least-squares affine fit to its points.

    Expert ``e`` gets the ridge solution of ``y ~ W x + b`` with sample
    weights ``probs[:, e]`` (its initial routing) on its skip path and a
    zeroed nonlinear part, so training starts from the best linear expert and
    the network only has to learn what is not linear (regression only).
    """
    X = data.x.cpu().numpy().astype(np.float64)
    Y = data.target.cpu().numpy().astype(np.float64).reshape(len(X), -1)
    Xa = np.hstack([X, np.ones((len(X), 1))])
    for e, expert in enumerate(model.experts):
        w = np.asarray(probs[:, e], dtype=np.float64)
        if w.sum() < Xa.shape[1] or not hasattr(expert, "init_linear"):
            continue  # too few points to pin an affine map down: keep the random start
        A = Xa.T @ (Xa * w[:, None]) + ridge * w.sum() * np.eye(Xa.shape[1])
        coef = np.linalg.solve(A, Xa.T @ (Y * w[:, None]))  # (d + 1, out)
        p = next(expert.parameters())
        expert.init_linear(torch.as_tensor(coef[:-1].T, dtype=p.dtype, device=p.device),
                           torch.as_tensor(coef[-1], dtype=p.dtype, device=p.device))
