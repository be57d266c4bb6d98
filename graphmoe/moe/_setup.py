"""Building the pieces of a GraphMoE fit: embedding, clustering, gate, experts, halo."""
from __future__ import annotations

import inspect

import numpy as np
import torch
import scipy.sparse as sp
from sklearn.base import clone

from ..nn import gates as G

__all__ = ["make_embedder", "make_clustering", "make_gate", "halo_weights",
           "hop_distances", "GRAPH_GATES", "check_device"]

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


def make_gate(gate, *, in_features, n_experts, clustering, gate_params, hierarchical=False,
              pair_experts=True):
    """Instantiate the gate named ``gate`` (not yet fitted) from the gate registry.

    A gate with ``train_routing`` (the DMVAE gate) routes as the graph gate
    would unless ``gate_params`` set either: without ``pair_experts`` (the
    classifier's default) training rows by the hierarchy's soft membership
    and new points by the gate's ``top_k`` (``hard=False``), so that the
    experts train exactly as under the graph gate; with them, one expert per
    point (the gate's own defaults).

    A gate that takes ``random_state`` (the DMVAE gate) gets torch's current
    seed, which the estimator has just set from its own ``random_state``: its
    weights are then drawn from a stream of their own, and the experts,
    built next from the global stream, start as they do under the graph gate,
    so that the two gates' fits differ only in routing.
    """
    params = dict(gate_params or {})
    signature = inspect.signature(G.gate_entry(gate).cls).parameters
    if (not hierarchical and not pair_experts and "train_routing" in signature
            and "train_routing" not in params and "hard" not in params):
        params.update(train_routing="membership", hard=False)
    if (not hierarchical and "random_state" not in params
            and "random_state" in signature):
        params["random_state"] = torch.initial_seed() % 2**32
    return G.make_gate(gate, in_features=in_features, n_experts=n_experts,
                       clustering=clustering, hierarchical=hierarchical, **params)


def hop_distances(graph, first, n_experts, max_hops):
    """Graph hops ``(n, E)`` from each point to expert ``e``'s members (``first == e``).

    ``max_hops + 1`` marks "farther than ``max_hops``"; the graph is made
    symmetric, so a hop is an edge in either direction.
    """
    n = len(first)
    dist = np.full((n, n_experts), max_hops + 1, dtype=np.int64)
    reach = np.zeros((n, n_experts), dtype=bool)
    reach[np.arange(n), first] = True
    dist[reach] = 0
    if max_hops and graph is not None:
        adjacency = (sp.csr_matrix(graph) != 0).astype(np.float64)
        adjacency = adjacency.maximum(adjacency.T)
        frontier = reach.astype(np.float64)
        for hop in range(1, int(max_hops) + 1):
            frontier = (adjacency @ frontier) > 0
            new = frontier & ~reach
            dist[new] = hop
            reach |= frontier
            frontier = frontier.astype(np.float64)
    return dist


def halo_weights(prior, graph, halo, decay=0.5):
    """Per-expert training weights ``(n, E)``: members plus ``halo`` hops, decaying with the hop.

    A point's weight is 1 for the expert it is routed to first (its members);
    a point ``d`` hops (``1 <= d <= halo``) from an expert's members gets
    ``max(soft membership, decay ** d)``, so the halo widens each expert's
    training set with neighbours that count less the farther they are;
    beyond ``halo`` hops the weight is 0.
    """
    prior = np.asarray(prior, dtype=float)
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"halo_decay must be in [0, 1], got {decay!r}.")
    first = prior.argmax(axis=1)
    dist = hop_distances(graph, first, prior.shape[1], int(halo or 0))
    halo_w = np.where(dist <= (halo or 0), np.maximum(prior, float(decay) ** dist), 0.0)
    return np.where(dist == 0, 1.0, halo_w)


def check_device(device):
    """A clear ValueError for a device torch cannot parse, or CUDA on a CPU-only build."""
    try:
        parsed = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device={device!r} is not a torch device ({err}).") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but torch finds no CUDA device.")
