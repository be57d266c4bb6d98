"""The GNN expert: message passing over the kNN graph, inductive by kNN attachment."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["GNNExpert", "NeighborhoodContext"]

_CONVS = ("sage", "gcn", "gat")


def _fanouts(num_neighbors, hops):
    """``num_neighbors`` as a tuple of one positive fanout per hop."""
    values = [num_neighbors] * hops if isinstance(num_neighbors, int) else list(num_neighbors)
    if len(values) != hops or any(int(f) < 1 for f in values):
        raise ValueError(f"num_neighbors must be a positive int or {hops} positive ints "
                         f"(one per hop), got {num_neighbors!r}.")
    return tuple(int(f) for f in values)


def _sample_columns(neighbors, fanout):
    """``fanout`` of the ``k`` columns of each row of ``neighbors (m, k)``, without replacement.

    On a kNN graph every node has ``k`` neighbours, so uniform sampling
    without replacement is a random permutation per row, cut: no loop.
    """
    if fanout >= neighbors.shape[1]:
        return neighbors
    keys = torch.rand(neighbors.shape, device=neighbors.device)
    return neighbors.gather(1, keys.argsort(dim=1)[:, :fanout])


def _make_conv(kind, in_channels, out_channels):
    from torch_geometric.nn import GATConv, GCNConv, SAGEConv

    if kind == "sage":
        return SAGEConv(in_channels, out_channels)
    if kind == "gcn":
        return GCNConv(in_channels, out_channels)
    if kind == "gat":
        return GATConv(in_channels, out_channels, heads=1)
    raise ValueError(f"conv must be one of {_CONVS}, got {kind!r}.")


class GNNExpert(nn.Module):
    r"""An expert that aggregates a point's ``hops``-hop kNN neighbourhood.

    ``hops`` message-passing layers (torch-geometric SAGE, GCN or GAT) run over
    a subgraph whose target nodes are the routed points; a linear head reads
    the targets out. A linear skip path keeps affine targets easy to fit, as in
    :class:`MLPExpert`.

    Parameters
    ----------
    in_features, out_features : int
    hidden_dim : int, default=32
    hops : int, default=1
        Number of message-passing layers, i.e. the neighbourhood radius.
    conv : {"sage", "gcn", "gat"}, default="sage"
    skip : bool, default=True
    num_neighbors : int or sequence of int, default=10
        Neighbours sampled per node at each hop (one value for every hop, or
        one per hop) when a training batch's neighbourhood is over
        ``max_nodes``: torch-geometric ``NeighborLoader``'s scheme.
    max_nodes : int or None, default=100_000
        Node budget of one expert call. A training batch whose full
        ``hops``-hop neighbourhood may hold more nodes samples neighbours
        instead; inference stays exact and runs the targets in chunks that
        fit. None: always the full neighbourhood (full-batch).

    Shapes
    ------
    ``x (n_nodes, in_features)``, ``edge_index (2, n_edges)`` (source -> target)
    -> ``(n_targets, out_features)``, the first ``n_targets`` nodes being the
    targets (all nodes when ``n_targets`` is None).
    """

    needs_graph = True

    def __init__(self, in_features, out_features, hidden_dim=32, hops=1, conv="sage", skip=True,
                 num_neighbors=10, max_nodes=100_000):
        super().__init__()
        if int(hops) < 1:
            raise ValueError(f"hops must be >= 1, got {hops}.")
        self.num_neighbors = _fanouts(num_neighbors, int(hops))
        if max_nodes is not None and int(max_nodes) < 1:
            raise ValueError(f"max_nodes must be None or >= 1, got {max_nodes}.")
        self.max_nodes = None if max_nodes is None else int(max_nodes)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.hidden_dim, self.hops, self.conv = int(hidden_dim), int(hops), conv
        widths = [self.in_features] + [self.hidden_dim] * self.hops
        self.convs = nn.ModuleList(_make_conv(conv, a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.head = nn.Linear(self.hidden_dim, self.out_features)
        self.skip = nn.Linear(self.in_features, self.out_features) if skip else None
        self.reset_parameters()

    def reset_parameters(self):
        for layer in self.convs:
            layer.reset_parameters()
        self.head.reset_parameters()
        if self.skip is not None:
            self.skip.reset_parameters()

    @torch.no_grad()
    def init_linear(self, weight, bias):
        """Start as the affine map ``x @ weight.T + bias``: skip path set, graph head zeroed."""
        if self.skip is None:
            raise ValueError("init_linear needs the skip path (skip=True).")
        self.skip.weight.copy_(weight)
        self.skip.bias.copy_(bias)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x, edge_index, n_targets=None):
        h = x
        for layer in self.convs:
            h = torch.relu(layer(h, edge_index))
        n = x.shape[0] if n_targets is None else int(n_targets)
        out = self.head(h[:n])
        return out + self.skip(x[:n]) if self.skip is not None else out

    def __repr__(self):
        return (f"{type(self).__name__}({self.in_features}, {self.out_features}, "
                f"hidden_dim={self.hidden_dim}, hops={self.hops}, conv={self.conv!r})")


class NeighborhoodContext:
    """The training graph that GNN experts aggregate over.

    Query points (training or new) are attached to the training graph through
    their kNN indices into the training set; ``subgraph`` then builds the
    ``hops``-hop neighbourhood of a set of query points, with the queries as
    the first nodes. Training nodes keep their own features, so a new point
    is aggregated exactly like a training point with the same neighbours.

    With ``num_neighbors`` the neighbourhood is sampled as torch-geometric's
    ``NeighborLoader`` does (a uniform sample of at most ``num_neighbors[h]``
    neighbours per node at hop ``h``), so its size is bounded by the number
    of targets times the fanouts, whatever the size of the graph. PyG's own
    loader needs ``pyg-lib`` or ``torch-sparse`` for its sampler, which this
    project does not install; on a kNN graph (fixed degree ``k``) sampling is
    a per-row permutation, done here with torch ops.

    Parameters
    ----------
    train_features : Tensor (n_train, d)
    train_neighbors : LongTensor (n_train, k), neighbours excluding the point itself.

    Attributes
    ----------
    n_sampled : int, calls of :meth:`subgraph` that sampled neighbours.
    """

    def __init__(self, train_features, train_neighbors):
        self.train_features = train_features
        self.train_neighbors = train_neighbors
        self.n_sampled = 0

    def size_bound(self, n_targets, k, hops):
        """An upper bound on the nodes of the full ``hops``-hop neighbourhood of ``n_targets``."""
        reach = sum(k ** h for h in range(1, hops + 1))
        return n_targets + min(len(self.train_features), n_targets * reach)

    def subgraph(self, x_targets, target_neighbors, hops, num_neighbors=None):
        """Return ``(x_sub, edge_index, n_targets)`` for targets with given neighbours.

        ``x_targets (r, d)``, ``target_neighbors (r, k)`` indices into the
        training set; ``num_neighbors`` (one fanout per hop) samples the
        neighbourhood, None keeps all of it.
        """
        pick = (lambda nb, h: nb) if num_neighbors is None else \
            (lambda nb, h: _sample_columns(nb, num_neighbors[h]))
        self.n_sampled += num_neighbors is not None
        first = pick(target_neighbors, 0)
        r, k = first.shape
        device = x_targets.device
        src = [first.reshape(-1)]  # training ids, mapped below
        dst = [torch.arange(r, device=device).repeat_interleave(k)]
        dst_is_train = [torch.zeros(r * k, dtype=torch.bool, device=device)]
        reached = torch.unique(first)
        frontier = reached
        for h in range(1, hops):
            nb = pick(self.train_neighbors[frontier], h)
            src.append(nb.reshape(-1))
            dst.append(frontier.repeat_interleave(nb.shape[1]))
            dst_is_train.append(torch.ones(nb.numel(), dtype=torch.bool, device=device))
            new = torch.unique(nb)
            frontier = new[~torch.isin(new, reached)]
            reached = torch.unique(torch.cat([reached, frontier]))
        # reached is sorted: training id -> local id r + position
        src = r + torch.searchsorted(reached, torch.cat(src))
        dst, is_train = torch.cat(dst), torch.cat(dst_is_train)
        dst = torch.where(is_train, r + torch.searchsorted(reached, dst), dst)
        x_sub = torch.cat([x_targets, self.train_features[reached]], dim=0)
        return x_sub, torch.stack([src, dst]), r
