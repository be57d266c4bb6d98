"""Expert networks: an MLP and a GNN that aggregates over the kNN graph."""
from .gnn import GNNExpert, NeighborhoodContext
from .mlp import MLPExpert
from .residual import ResidualExpert

__all__ = ["MLPExpert", "GNNExpert", "NeighborhoodContext", "ResidualExpert", "make_expert"]


def make_expert(kind, in_features, out_features, **kwargs):
    """Build an expert by name: ``"mlp"`` or ``"gnn"``."""
    if kind == "mlp":
        return MLPExpert(in_features, out_features, **kwargs)
    if kind == "gnn":
        return GNNExpert(in_features, out_features, **kwargs)
    raise ValueError(f"expert must be 'mlp' or 'gnn', got {kind!r}.")
