"""Building the pieces of a GraphMoE fit: embedding, clustering, gate, experts, halo."""
from __future__ import annotations

import numpy as np
import torch
import scipy.sparse as sp
from sklearn.base import clone

from ..nn import gates as G
from ..nn.experts import make_expert

__all__ = ["make_embedder", "make_clustering", "make_gate", "make_experts", "halo_weights",
           "GRAPH_GATES", "check_device"]

#: gates that are initialised from a connectivity clustering
GRAPH_GATES = ("graph", "dmvae")


def make_embedder(embedder, random_state):
    """None (raw standardised features), a name, or an unfitted transformer (cloned)."""
    if embedder is None:
        return None
    if isinstance(embedder, str):
        from .. import embed

        classes = {"ae": embed.AutoEncoder, "vae": embed.VAE, "dmvae": embed.DMVAE}
        if embedder not in classes:
            raise ValueError(f"embedder must be None, one of {sorted(classes)} or an estimator, "
                             f"got {embedder!r}.")
        return classes[embedder](random_state=random_state)
    if not hasattr(embedder, "fit_transform") and not hasattr(embedder, "transform"):
        raise TypeError(f"embedder must have fit/transform, got {type(embedder).__name__}.")
    return clone(embedder)


def make_clustering(clustering, n_experts, n_samples, random_state):
    """The ConnectivityClustering to fit: a clone of the given one, or a default.

    Default: MST cuts that cover every sample (no noise points to route
    by guesswork), the number of clusters found from the tree's stability,
    or exactly ``n_experts`` when that is set. The default's neighbourhoods
    shrink for tiny data sets (fewer than 16 rows).
    """
    if clustering is not None:
        return clone(clustering)
    from ..cluster import ConnectivityClustering

    sizes = {"n_neighbors": min(15, n_samples - 1),
             "min_cluster_size": min(15, max(2, n_samples // 5))}
    n_clusters = None if n_experts is None else int(n_experts)
    return ConnectivityClustering(method="mst", n_clusters=n_clusters,
                                  random_state=random_state, **sizes)


def make_gate(gate, *, in_features, n_experts, clustering, gate_params, hierarchical=False):
    """Instantiate the gate named ``gate`` (not yet fitted) from the gate registry."""
    return G.make_gate(gate, in_features=in_features, n_experts=n_experts,
                       clustering=clustering, hierarchical=hierarchical,
                       **dict(gate_params or {}))


def make_experts(kind, n_experts, in_features, out_features, expert_params):
    return [make_expert(kind, in_features, out_features, **dict(expert_params or {}))
            for _ in range(int(n_experts))]


def halo_weights(prior, graph, halo):
    """Per-expert training weights ``(n, E)``: members plus ``halo`` hops, by soft membership.

    A point's members-of weight is 1 for the expert it is routed to first; a
    point within ``halo`` graph hops of an expert's members gets that
    expert's soft membership as weight (zero when the membership is hard).
    """
    prior = np.asarray(prior, dtype=float)
    n, n_experts = prior.shape
    first = prior.argmax(axis=1)
    members = np.zeros_like(prior, dtype=bool)
    members[np.arange(n), first] = True
    reach = members.copy()
    if halo and graph is not None:
        adjacency = (sp.csr_matrix(graph) != 0).astype(np.float64)
        adjacency = adjacency.maximum(adjacency.T)
        frontier = members.astype(np.float64)
        for _ in range(int(halo)):
            frontier = (adjacency @ frontier) > 0
            reach |= frontier
            frontier = frontier.astype(np.float64)
    return np.where(members, 1.0, np.where(reach, prior, 0.0))


def check_device(device):
    """A clear ValueError for a device torch cannot parse, or CUDA on a CPU-only build."""
    try:
        parsed = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device={device!r} is not a torch device ({err}).") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but torch finds no CUDA device.")
