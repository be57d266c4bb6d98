"""Gates (routers), one per file; every one usable through ``gate=`` of the estimators.

The names below are those of the registry (:mod:`graphmoe.nn.gates.registry`),
the one place that maps a name to how its gate is built.

=========  ======================================================  =========
name       routes by                                               learned
=========  ======================================================  =========
graph      connectivity clustering's soft membership (kNN query)   no
dmvae      DMVAE's q(c|x), distilled from the hierarchy            yes
softmax    a linear softmax gate ("Deep MoE")                      yes
kmeans     nearest k-means centroid                                no
gmm        Gaussian-mixture posterior                              no
labels     given group labels (kNN vote for new points)            no
oracle     the true groups, also at prediction                     no
dfcp       k-means + kNN refinement of uncertain points            no
=========  ======================================================  =========

``HierarchicalGate`` (``hierarchical=True`` with the graph gate) puts a
softmax at each internal node of the cluster tree, distilled from the graph
routing: a hierarchical mixture of experts, coarse to fine.
"""
from ...cluster.proba import cluster_proba  # re-exported: its home is graphmoe.cluster
from .base import Gate, GateOutput
from .dfcp import DFCPGate
from .dmvae import DMVAEGate
from .gmm import GMMGate
from .graph import GraphGate
from .hierarchical import HierarchicalGate, expert_tree
from .kmeans import KMeansGate
from .labels import LabelsGate
from .oracle import OracleGate
from .registry import gate_entry, gate_names, make_gate, register_gate
from .softmax import SoftmaxGate

#: the registered gate names (``gate=`` of the estimators), from :mod:`.registry`
GATES = gate_names()

__all__ = ["Gate", "GateOutput", "GraphGate", "DMVAEGate", "SoftmaxGate", "KMeansGate",
           "GMMGate", "LabelsGate", "OracleGate", "DFCPGate", "HierarchicalGate", "GATES",
           "cluster_proba", "expert_tree", "make_gate", "register_gate", "gate_names",
           "gate_entry"]
