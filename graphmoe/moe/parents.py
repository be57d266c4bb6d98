"""Parent + child (hierarchical) experts: which weights are an expert's own, and regrouping.

With ``parent_experts=True`` sibling experts are
:class:`~graphmoe.nn.experts.ResidualExpert` s that hold *one* parent module
object between them; with ``shared_expert`` every expert is, around that, a
``ResidualExpert`` of the one root expert shared by all. Whatever rebuilds or
re-initialises single experts (collapse reseeding, re-clustering) must touch
only an expert's own weights (its innermost child) and keep each family on its
one shared parent.
"""
from __future__ import annotations

import copy
from collections import Counter

import numpy as np

from ..nn.experts import ResidualExpert

__all__ = ["own_weights", "split_parents", "regroup_parents", "share_root"]


def own_weights(expert):
    """The module holding ``expert``'s own weights: the innermost child of parent + child."""
    while isinstance(expert, ResidualExpert):
        expert = expert.child
    return expert


def split_parents(experts, shared=False):
    """``(children, parents, root)`` of ``experts``: their own modules and shared ones.

    ``parents[e]`` is expert ``e``'s sibling-family parent (None when it has
    none); ``root`` the expert shared by all (``shared=True``: the outermost
    parent of every expert) or None.
    """
    root = None
    if shared and len(experts):
        root = experts[0].parent
        experts = [e.child for e in experts]
    children = [own_weights(e) for e in experts]
    parents = [e.parent if isinstance(e, ResidualExpert) else None for e in experts]
    return children, parents, root


def regroup_parents(children, old_parents, group, new_parent):
    """Put ``children`` into families ``group`` (``-1``: no parent), reusing old parents.

    Each family gets the parent object most of its members had (ties: the
    first member's); when that parent already leads an earlier family, a
    copy of it; when none of its members had one, ``new_parent()``. Members
    of a family always share the one parent object.

    Parameters
    ----------
    children : list of nn.Module, ``(E,)``
    old_parents : list of nn.Module or None, ``(E,)``
    group : array-like of int, ``(E,)``
    new_parent : callable ``() -> nn.Module``

    Returns
    -------
    list of ``(E,)`` experts: ``ResidualExpert(parent, child)`` or the bare child.
    """
    group = np.asarray(group, dtype=np.int64)
    if len(children) != len(group) or len(old_parents) != len(group):
        raise ValueError(f"children, old_parents and group differ in length: {len(children)}, "
                         f"{len(old_parents)}, {len(group)}.")
    claimed, parent_of = set(), {}
    for g in np.unique(group[group >= 0]):
        had = [old_parents[i] for i in np.flatnonzero(group == g) if old_parents[i] is not None]
        if not had:
            parent_of[g] = new_parent()
            continue
        votes = Counter(id(p) for p in had)
        parent = max(had, key=lambda p: votes[id(p)])  # max keeps the first of a tie
        parent_of[g] = copy.deepcopy(parent) if id(parent) in claimed else parent
        claimed.add(id(parent))
    return [ResidualExpert(parent_of[g], c) if g >= 0 else c for c, g in zip(children, group)]


def share_root(experts, root):
    """Every expert as ``ResidualExpert(root, expert)``: ``root`` is one module shared by all."""
    return [ResidualExpert(root, e) for e in experts]
