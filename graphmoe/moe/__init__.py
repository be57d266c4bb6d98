"""GraphMoE: the clusters of a kNN graph become a mixture of experts.

``GraphMoE`` is the torch module (gate + experts + sparse top-k dispatch);
``GraphMoERegressor`` and ``GraphMoEClassifier`` are the scikit-learn
estimators that build it from a connectivity clustering and train it.
"""
from .classifier import GraphMoEClassifier
from .losses import load_balance_loss, routing_entropy
from .matching import ExpertMatch, collapsed_experts, match_experts
from .module import GraphMoE, MoEOutput
from .regressor import GraphMoERegressor

__all__ = ["GraphMoE", "MoEOutput", "GraphMoERegressor", "GraphMoEClassifier",
           "match_experts", "ExpertMatch", "collapsed_experts", "load_balance_loss",
           "routing_entropy"]
