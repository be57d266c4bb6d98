"""Periodic re-clustering during GraphMoE training: re-embed, re-cluster, re-match experts."""
from __future__ import annotations

import copy

import torch
from sklearn.base import clone

from ..nn.gates import cluster_proba
from .matching import match_experts
from .module import GraphMoE
from .parents import split_parents

__all__ = ["recluster"]


def recluster(est, expert_of_point, rng, epoch):
    """Re-embed with the gate, re-cluster, and match the new clusters to the experts."""
    G = est._train_data.gate_input
    with torch.no_grad():
        est.module_.eval()
        emb = est.gate_.embedding(G)
    if emb is None:
        est.history_.append({"epoch": epoch, "event": "recluster",
                             "action": "skipped: the gate learns no embedding"})
        return
    emb = emb.cpu().numpy()
    clustering = clone(est.clustering_).fit(emb)
    n_new = int(clustering.n_clusters_)
    if n_new < 1:
        est.history_.append({"epoch": epoch, "event": "recluster",
                             "action": "skipped: no cluster found"})
        return
    est._recluster_embedding = emb  # a checkpoint rebuilds the clustering from it
    match = match_experts(expert_of_point, clustering.labels_, est.module_.n_experts, n_new)
    # own weights only: a spawned copy of a parent + child expert copies the child, and
    # the families of the new tree are put back on shared parents below
    children, parents, root = split_parents(est.module_.experts,
                                            shared=est._shared_widths is not None)
    old_parents = [parents[k] for k in match.kept]
    experts = [children[k] for k in match.kept]
    for donor in match.spawned_from:
        experts.append(copy.deepcopy(children[donor]) if donor >= 0 else est._new_expert())
        old_parents.append(parents[donor] if donor >= 0 else None)
    est.clustering_ = clustering
    est._membership = cluster_proba(clustering)
    est.cluster_of_expert_ = match.cluster_of_expert
    experts = est._attach_parents(experts, old_parents, root)
    # only a learned gate has an embedding to re-cluster on (the DMVAE's latent mean)
    est.gate_.resize(match.kept, len(experts))
    est.gate_.distill_epochs = max(1, est.gate_.distill_epochs // 3)
    est.gate_.cpu()
    est.gate_.fit(G.cpu().numpy(), membership=est._membership[:, match.cluster_of_expert],
                  random_state=int(rng.randint(2**31 - 1)))
    est.module_ = GraphMoE(experts, est.gate_, top_k=est.top_k, task=est._task).to(est.device)
    est.history_.append({
        "epoch": epoch, "event": "recluster", "n_clusters": n_new,
        "kept": match.kept.tolist(), "retired": match.retired.tolist(),
        "spawned_from": match.spawned_from.tolist(),
        "action": f"kept {len(match.kept)}, spawned {len(match.spawned_from)}, "
                  f"retired {len(match.retired)}",
    })
