"""The DMVAE gate: a Gumbel-softmax mixture VAE whose categorical encoder routes."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..._validation import check_random_state
from .base import Gate, GateOutput, split_logit_row

__all__ = ["DMVAEGate"]


def _soft_cross_entropy(logits, target):
    return -(target * torch.log_softmax(logits, dim=-1)).sum(dim=1).mean()


class DMVAEGate(Gate):
    """Route by ``q(c | z)`` of a DMVAE; its negative ELBO is the gate's auxiliary loss.

    Initialised from the hierarchy: :meth:`fit` distils ``q(c | z)`` from the
    clusters' soft membership (cross-entropy plus the ELBO, ``distill_epochs``
    passes), then sets each mixture component's prior mean and log-variance
    to the statistics of its cluster's latent codes. Without a membership it
    only pre-trains the ELBO (the seed paper's DVMoE).

    Parameters
    ----------
    in_features, n_experts : int
    latent_dim : int, default=8
    hidden_dims : tuple of int, default=(64, 64)
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
    temperature : float, default=1.0
        Gumbel-softmax temperature during training.
    distill_epochs : int, default=100
    learning_rate : float, default=5e-3
        Of the distillation.
    anchor_weight : float, default=1.0
        Weight of the cross-entropy to the hierarchy's membership kept in the
        gate's loss during joint training, so that the task loss refines the
        routing without dissolving it.
    init : {"hierarchy", "none"}, default="hierarchy"
        "none" ignores the membership: ELBO pre-training only, no anchor (DVMoE).
    """

    trainable = True

    def __init__(self, in_features, n_experts, latent_dim=8, hidden_dims=(64, 64),
                 likelihood="gaussian", temperature=1.0, distill_epochs=100, learning_rate=5e-3,
                 anchor_weight=1.0, init="hierarchy"):
        super().__init__(n_experts)
        from ...embed import DMVAEModule

        self.in_features, self.latent_dim = int(in_features), int(latent_dim)
        self.hidden_dims, self.likelihood = tuple(hidden_dims), likelihood
        self.temperature, self.distill_epochs = float(temperature), int(distill_epochs)
        self.learning_rate, self.anchor_weight = float(learning_rate), float(anchor_weight)
        if init not in ("hierarchy", "none"):
            raise ValueError(f"init must be 'hierarchy' or 'none', got {init!r}.")
        self.init = init
        self.module = DMVAEModule(self.in_features, self.n_experts, self.latent_dim,
                                  self.hidden_dims, likelihood)

    def reset_parameters(self):
        self.module.reset_parameters()

    def forward(self, z, prior=None):
        """``prior`` (training only): the hierarchy's membership, kept as a distillation anchor."""
        out = self.module(z, temperature=self.temperature)
        loss, _ = self.module.elbo_loss(z, out)
        if prior is not None and self.anchor_weight:
            loss = loss + self.anchor_weight * _soft_cross_entropy(out.logits, prior)
        return GateOutput(torch.softmax(out.logits, dim=-1), loss)

    def embedding(self, z):
        return self.module.encode(z)[0]

    def fit(self, Z, *, membership=None, groups=None, random_state=None, batch_size=256):
        rng = check_random_state(random_state)
        if self.init == "none":  # the seed paper's DVMoE: no knowledge of the hierarchy
            membership = None
        z = torch.as_tensor(Z, dtype=torch.float32)
        target = None if membership is None else torch.as_tensor(membership, dtype=torch.float32)
        optimizer = torch.optim.Adam(self.module.parameters(), lr=self.learning_rate)
        for _ in range(self.distill_epochs):
            for idx in np.array_split(rng.permutation(len(z)), max(1, len(z) // batch_size)):
                idx = torch.as_tensor(idx)
                out = self.module(z[idx], temperature=self.temperature)
                loss, _ = self.module.elbo_loss(z[idx], out)
                if target is not None:
                    loss = loss + _soft_cross_entropy(out.logits, target[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        if target is not None:
            self.init_priors(z, target)
        self.train_prior_ = membership
        return self

    @torch.no_grad()
    def init_priors(self, z, membership):
        """Set component ``c``'s prior to the membership-weighted moments of the latent means."""
        mu = self.module.encode(z)[0]
        w = membership / membership.sum(dim=0, keepdim=True).clamp_min(1e-8)  # (n, K)
        mean = w.T @ mu
        var = w.T @ mu.pow(2) - mean.pow(2)
        used = membership.sum(dim=0) > 1e-6  # an empty cluster keeps its prior
        self.module.prior_means.data[used] = mean[used]
        self.module.prior_logvars.data[used] = var[used].clamp_min(1e-4).log()

    def _component_parameters(self):
        """Names of the parameters indexed by mixture component (first axis)."""
        last = [name for name, m in self.module.categorical.named_modules()
                if isinstance(m, nn.Linear)][-1]
        return {"prior_means", "prior_logvars", f"categorical.{last}.weight",
                f"categorical.{last}.bias"}

    @torch.no_grad()
    def resize(self, kept, n_experts):
        """Rebuild for ``n_experts`` components; old component ``kept[j]`` becomes ``j``.

        Parameters that do not depend on the number of components (the
        encoders and the decoder) are carried over unchanged, so a
        re-clustering does not throw away what the gate has learned.
        """
        from ...embed import DMVAEModule

        old, k_indexed = self.module.state_dict(), self._component_parameters()
        kept = torch.as_tensor(np.asarray(kept, dtype=np.int64))
        self.n_experts = int(n_experts)
        self.module = DMVAEModule(self.in_features, self.n_experts, self.latent_dim,
                                  self.hidden_dims, self.likelihood)
        for name, value in self.module.state_dict().items():
            if name in k_indexed:  # rows are components: survivors first, spawned ones fresh
                value[:len(kept)] = old[name][kept]
            elif old[name].shape == value.shape:
                value.copy_(old[name])
        return self

    @torch.no_grad()
    def reseed_expert(self, dead, donor):
        last = [m for m in self.module.categorical.modules() if isinstance(m, nn.Linear)][-1]
        split_logit_row(last, dead, donor)
        means = self.module.prior_means
        means[dead] = means[donor] + 0.1 * torch.randn_like(means[donor])
        self.module.prior_logvars[dead] = self.module.prior_logvars[donor]

    def __repr__(self):
        return (f"{type(self).__name__}({self.in_features}, n_experts={self.n_experts}, "
                f"latent_dim={self.latent_dim})")
