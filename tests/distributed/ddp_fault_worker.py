"""A failure that only one rank sees: every rank must stop with an error, none hang.

``python -m torch.distributed.run --nproc_per_node 2 ddp_fault_worker.py FAULT`` with
FAULT ``clustering`` (the clustering fit raises on rank 0, the rank that runs it) or
``nan-routing`` (rank 1's gate routes no row, as NaN probabilities do).
"""
import sys

import numpy as np
import torch

torch.set_num_threads(1)

import graphmoe.moe.training as training  # noqa: E402
from graphmoe import ConnectivityClustering, GraphMoERegressor  # noqa: E402
from graphmoe.datasets import make_affine_targets, make_pinwheel_spirals  # noqa: E402
from graphmoe.distributed import current_world, init_from_env  # noqa: E402


class FailingClustering(ConnectivityClustering):
    def fit(self, X, y=None):
        raise ValueError("clustering failed on purpose")


def main(fault):
    X, groups = make_pinwheel_spirals(n_per_arm=30, n_arms=3, random_state=0)
    y = make_affine_targets(X, groups, random_state=0)
    params = dict(n_experts=3, hidden_dims=(8,), epochs=3, batch_size=32, random_state=0)
    if fault == "clustering":
        GraphMoERegressor(clustering=FailingClustering(), **params).fit(X, y)
    elif fault == "nan-routing":
        init_from_env()
        if current_world().rank == 1:
            forward = training._forward

            def no_routing(model, batch, context, with_target):
                out = forward(model, batch, context, with_target)
                return out._replace(output=None) if with_target else out  # training steps

            training._forward = no_routing
        GraphMoERegressor(gate="softmax", **params).fit(X, y)
    else:
        raise SystemExit(f"unknown fault {fault!r}")
    print("fit returned", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
