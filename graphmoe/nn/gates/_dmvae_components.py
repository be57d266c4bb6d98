"""The DMVAE gate's per-component parameters: resizing after a re-clustering, re-seeding."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .base import split_logit_row

__all__ = ["ComponentsMixin"]


class ComponentsMixin:
    """Operations on the parameters indexed by mixture component (one row per expert)."""

    def _logit_layer(self):
        return [m for m in self.module.categorical.modules() if isinstance(m, nn.Linear)][-1]

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
        old, k_indexed = self.module.state_dict(), self._component_parameters()
        kept = torch.as_tensor(np.asarray(kept, dtype=np.int64))
        self.n_experts = int(n_experts)
        self.module = self._build_module()
        # a frozen gate stays frozen: the optimizer (and a resumed checkpoint's) holds
        # only the parameters that train
        self.module.requires_grad_(not self.frozen)
        for name, value in self.module.state_dict().items():
            if name in k_indexed:  # rows are components: survivors first, spawned ones fresh
                value[:len(kept)] = old[name][kept]
            elif old[name].shape == value.shape:
                value.copy_(old[name])
        return self

    @torch.no_grad()
    def reseed_expert(self, dead, donor):
        if self.frozen:  # a frozen gate keeps routing as distilled (train_prior_ stays valid)
            return
        split_logit_row(self._logit_layer(), dead, donor)
        means = self.module.prior_means
        means[dead] = means[donor] + 0.1 * torch.randn_like(means[donor])
        self.module.prior_logvars[dead] = self.module.prior_logvars[donor]
