"""The connectivity-preserving loss and its kNN lists."""
import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from graphmoe.embed.graph_loss import (assignment_agreement_loss, input_neighbors,
                                       sample_neighbors, umap_contrastive_loss)


def test_input_neighbors_match_exact_search(rng):
    X = rng.normal(size=(120, 4))
    ind = input_neighbors(X, 5, np.random.RandomState(0))
    ref = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    assert ind.shape == (120, 5)
    assert not np.any(ind == np.arange(120)[:, None])
    # approximate search may swap near-ties; the sets agree almost everywhere
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(ind, ref)])
    assert overlap >= 0.95


def test_sample_neighbors_draws_from_the_lists():
    neighbors = np.array([[1, 2], [0, 2], [0, 1]])
    gen = torch.Generator().manual_seed(0)
    batch = np.array([0, 1, 2, 0, 1, 2] * 20)
    drawn = sample_neighbors(neighbors, batch, gen)
    assert all(d in neighbors[b] for b, d in zip(batch, drawn))
    assert set(drawn[batch == 0]) == {1, 2}  # both neighbours get drawn


def test_contrastive_loss_prefers_neighbours_close_and_others_apart():
    torch.manual_seed(0)
    anchors = torch.randn(64, 2) * 5
    close = umap_contrastive_loss(anchors, anchors + 0.01)
    far = umap_contrastive_loss(anchors, anchors + 3.0)
    collapsed = umap_contrastive_loss(torch.zeros(64, 2), torch.zeros(64, 2))
    assert close < far
    assert close < collapsed  # the negatives punish putting everything in one spot


def test_agreement_loss_is_zero_for_shared_confident_clusters():
    one_hot = torch.eye(3)[[0, 1, 2, 0]]
    assert assignment_agreement_loss(one_hot, one_hot) == pytest.approx(0.0, abs=1e-5)
    uniform = torch.full((4, 3), 1 / 3)
    assert assignment_agreement_loss(uniform, uniform) == pytest.approx(np.log(3), rel=1e-4)
    assert assignment_agreement_loss(one_hot, one_hot.roll(1, dims=1)) > 10
