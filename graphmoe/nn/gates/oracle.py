"""Oracle routing: the generating group is known at training and at prediction time."""
from __future__ import annotations

import numpy as np

from .base import Gate, one_hot

__all__ = ["OracleGate"]


class OracleGate(Gate):
    """Route every point, training or new, by its true group (synthetic data only).

    The upper bound on routing quality: prediction needs ``groups`` too.
    """

    needs_groups = True

    def fit(self, Z, *, membership=None, groups=None, random_state=None):
        self.check_groups(groups, len(Z))
        self.classes_, codes = np.unique(np.asarray(groups), return_inverse=True)
        self.n_experts = len(self.classes_)
        self.train_prior_ = one_hot(codes, self.n_experts)
        return self

    def prior_proba(self, Z, groups=None):
        if groups is None:
            raise ValueError("gate='oracle' routes by the true groups: pass groups=... to "
                             "predict/route.")
        groups = np.asarray(groups)
        if len(groups) != len(Z):
            raise ValueError(f"groups has {len(groups)} entries but X has {len(Z)} rows.")
        codes = np.searchsorted(self.classes_, groups)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[codes] == groups):
            raise ValueError("groups holds values not seen at fit.")
        return one_hot(codes, self.n_experts)
