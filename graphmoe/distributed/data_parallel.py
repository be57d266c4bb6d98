"""Data-parallel training steps that compute what one process computes.

A global minibatch (the same row ids on every rank: every rank draws them
from the same seeded generator) is split across the ranks, each rank runs
forward and backward on its share, and DistributedDataParallel averages the
gradients. Losses that are means over rows (or ratios of sums, like the
experts' membership-weighted loss) are turned into per-rank *surrogates*
whose averaged gradient is the gradient of the global-batch loss, and whose
value is the global value; the Switch load balance ``E * sum_e f_e P_e`` is
built from counts and probability sums all-reduced over the ranks, never from
one rank's rows. So the loss curve of ``torchrun --nproc_per_node N`` is the
one-process curve up to float rounding.
"""
from __future__ import annotations

import torch
from torch import nn

from ._world import init_from_env

__all__ = ["DataParallel", "LossModule", "moe_global_losses"]


class LossModule(nn.Module):
    """``forward(*args)`` is ``loss_fn(*args)``: lets DDP hook a loss that calls module methods."""

    def __init__(self, module, loss_fn):
        super().__init__()
        self.module = module
        self.loss_fn = loss_fn

    def forward(self, *args):
        return self.loss_fn(*args)


def _with_value(surrogate, value):
    """``surrogate``'s gradient with ``value`` as its value."""
    value = torch.as_tensor(value, dtype=surrogate.dtype, device=surrogate.device)
    return surrogate + (value - surrogate.detach())


class DataParallel:
    """``module`` wrapped in DistributedDataParallel when run under torchrun, else as is.

    Parameters
    ----------
    module : torch.nn.Module
        Called through :attr:`module` in the training step so that DDP
        synchronises the gradients.
    device : str or torch.device
        Picks the backend of a process group created here (nccl for CUDA).
    n_rows : int, optional
        The training set's size on this rank; checked to be the same on all
        ranks (they must pass the same ``X``), so that no rank waits forever
        for a step that another never takes.

    Attributes
    ----------
    world : World
    module : torch.nn.Module
        The DDP wrapper, or ``module`` itself in a single process.
    """

    def __init__(self, module, device="cpu", n_rows=None):
        self.world = init_from_env(device)
        self.module = module
        if n_rows is not None:
            self.check_same_rows(n_rows)
        if self.world.active and any(p.requires_grad for p in module.parameters()):
            # a rank whose rows route to no point of an expert leaves it unused this step
            self.module = nn.parallel.DistributedDataParallel(module,
                                                              find_unused_parameters=True)

    @property
    def is_main(self):
        return self.world.is_main

    def shard(self, idx):
        """This rank's share of a global batch ``idx``: ``(rows, n_rows)``.

        Rank ``r`` takes rows ``r, r + size, ...``. A rank left without rows
        (a batch smaller than the world) borrows the first row with weight 0,
        so that every rank runs the same number of synchronised steps.
        """
        if not self.world.active:
            return idx, len(idx)
        rows = idx[self.world.rank::self.world.size]
        return (rows, len(rows)) if len(rows) else (idx[:1], 0)

    def check_same_rows(self, n_rows):
        """Raise ``ValueError`` on every rank unless all ranks train on ``n_rows`` rows."""
        if not self.world.active:
            return
        total, squares = (float(v) for v in self.all_sum([n_rows, float(n_rows) ** 2]))
        if squares * self.world.size != total ** 2:  # equal iff every rank has the same n
            raise ValueError(
                f"data-parallel training needs the same X on every rank: the "
                f"{self.world.size} ranks passed different numbers of rows (this rank "
                f"{n_rows}, mean {total / self.world.size:g}).")

    def any_rank(self, flag):
        """Whether ``flag`` is true on any rank (every rank gets the same answer).

        A rank that would stop alone (an error only it sees) asks this first,
        so that all stop together instead of the others waiting in the next
        collective for ever.
        """
        if not self.world.active:
            return bool(flag)
        return bool(self.all_sum([1.0 if flag else 0.0])[0] > 0)

    def all_sum(self, values):
        """Element-wise sum over the ranks of a float64 vector."""
        values = torch.as_tensor(values, dtype=torch.float64)
        if self.world.active:
            backend_device = self._reduce_device()
            values = values.to(backend_device)
            torch.distributed.all_reduce(values)
        return values.cpu()

    def _reduce_device(self):
        if torch.distributed.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def global_means(self, terms, weights, extra=None):
        """Global-batch values of per-rank means; also the all-summed ``extra`` vector.

        ``terms[t]`` is this rank's mean (a scalar tensor) over ``weights[t]``
        rows (or unit weights). Returns ``(means, extra_sum)``: ``means[t]``
        has the global weighted mean as its value, and a gradient that,
        averaged over the ranks by DDP, is the gradient of that global mean.
        """
        if not self.world.active:
            return dict(terms), extra
        names = list(terms)
        sums = [float(weights[t]) * float(terms[t].detach()) if weights[t] else 0.0
                for t in names]
        packed = [float(weights[t]) for t in names] + sums
        if extra is not None:
            packed += extra.detach().double().flatten().cpu().tolist()
        total = self.all_sum(packed)
        k = len(names)
        means = {}
        for i, t in enumerate(names):
            mass = float(total[i])
            scale = self.world.size * float(weights[t]) / mass if mass > 0 else 0.0
            means[t] = _with_value(terms[t] * scale, float(total[k + i]) / mass if mass > 0
                                   else 0.0)
        return means, None if extra is None else total[2 * k:]


def moe_global_losses(par, task, out, batch, task_kind, n_rows):
    """The GraphMoE step's task and auxiliary losses over the global batch.

    ``out`` is the module's output on this rank's ``batch`` of which the first
    ``n_rows`` rows count (0: a borrowed row). Returns ``(task, aux)`` as in
    one process: the load balance from all-reduced expert counts and
    probability sums, the other terms as row-weighted global means.
    """
    if not par.world.active:
        return task, out.aux_losses
    n = float(n_rows)
    labelled = n if task_kind == "regression" else float((batch.target >= 0).sum()) * (n > 0)
    mass = n if batch.expert_weights is None else float(batch.expert_weights.sum()) * (n > 0)
    terms = {"task": task, **{t: v for t, v in out.aux_losses.items() if t != "load_balance"}}
    weights = {t: n for t in terms}
    weights.update(task=labelled, expert=mass)
    probs = out.probs[:n_rows]
    n_experts = probs.shape[1]
    counts = torch.bincount(out.routing[0][:n_rows, 0], minlength=n_experts)
    extra = torch.cat([torch.tensor([n]), counts.double().cpu(), probs.sum(dim=0).double().cpu()])
    means, total = par.global_means(terms, weights, extra)
    n_all = float(total[0])
    frac = (total[1:1 + n_experts] / n_all).to(probs.dtype).to(probs.device)
    mean_probs = (total[1 + n_experts:] / n_all).to(probs.dtype).to(probs.device)
    surrogate = par.world.size * n_experts * (frac * probs.sum(dim=0)).sum() / n_all
    aux = {t: means[t] for t in out.aux_losses if t != "load_balance"}
    aux["load_balance"] = _with_value(surrogate, float(n_experts * (frac * mean_probs).sum()))
    return means["task"], aux
