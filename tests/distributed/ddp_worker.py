"""Fit an AutoEncoder and a GraphMoERegressor; rank 0 saves curves and predictions.

Run as ``python ddp_worker.py OUT.npz`` (one process) or under
``python -m torch.distributed.run --nproc_per_node 2 ddp_worker.py OUT.npz``;
the test compares the two files.
"""
import sys

import numpy as np
import torch

torch.set_num_threads(1)

from graphmoe import GraphMoERegressor  # noqa: E402
from graphmoe.datasets import make_affine_targets, make_pinwheel_spirals  # noqa: E402
from graphmoe.distributed import current_world  # noqa: E402
from graphmoe.embed import AutoEncoder  # noqa: E402


def main(path):
    X, groups = make_pinwheel_spirals(n_per_arm=40, n_arms=3, random_state=0)
    y = make_affine_targets(X, groups, random_state=0)
    # 4 columns so that the autoencoder has something to compress
    X4 = np.hstack([X, np.sin(X)])
    # batch 25: the last batch of each epoch (7 rows) splits unevenly over 2 ranks
    ae = AutoEncoder(n_components=2, hidden_dims=(16,), epochs=6, batch_size=25, graph_weight=0.0,
                     validation_fraction=0.2, random_state=0).fit(X4)
    moe = GraphMoERegressor(gate="softmax", n_experts=3, hidden_dims=(8,), epochs=5,
                            batch_size=32, load_balance_loss_coef=0.5,
                            random_state=0).fit(X, y)
    graph = GraphMoERegressor(n_experts=3, hidden_dims=(8,), epochs=4, batch_size=32,
                              random_state=0).fit(X, y)
    if current_world().is_main:
        curve = lambda est, key: np.array([h[key] for h in est.history_  # noqa: E731
                                           if h["event"] == "epoch"])
        np.savez(path, ae_train=np.array(ae.history_["train"]["train_loss"]),
                 ae_val=np.array(ae.history_["train"]["val_loss"]), ae_Z=ae.transform(X4),
                 moe_loss=curve(moe, "loss"), moe_balance=curve(moe, "load_balance"),
                 moe_pred=moe.predict(X), graph_loss=curve(graph, "loss"),
                 graph_pred=graph.predict(X), graph_labels=graph.clustering_.labels_,
                 world=current_world().size)


if __name__ == "__main__":
    main(sys.argv[1])
