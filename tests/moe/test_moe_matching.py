"""Hungarian re-matching keeps expert identities; collapse detection finds starving experts."""
import numpy as np

from graphmoe.moe import collapsed_experts, match_experts
from graphmoe.moe.matching import expert_load


def test_unchanged_clustering_keeps_every_identity():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 300)
    renamed = np.array([3, 0, 4, 1, 2])[labels]  # same partition, other names
    match = match_experts(labels, renamed, 5, 5)
    assert np.array_equal(match.kept, np.arange(5))
    assert len(match.retired) == 0 and len(match.spawned_from) == 0
    # expert e now serves the new name of its old cluster
    assert np.array_equal(match.cluster_of_expert, np.array([3, 0, 4, 1, 2]))


def test_split_spawns_from_the_parent_and_vanished_cluster_retires():
    old = np.repeat([0, 1, 2], 100)
    new = old.copy()
    new[50:100] = 3           # cluster 0 splits: its second half becomes new cluster 3
    new[200:] = 1             # old cluster 2 merges into 1
    match = match_experts(old, new, 3, 4)
    assert match.kept.tolist() == [0, 1]
    assert match.retired.tolist() == [2]
    # the remaining new clusters are 2 (empty) and 3; 3 spawns from expert 0
    assert match.cluster_of_expert[:2].tolist() == [0, 1]
    spawned = dict(zip(match.cluster_of_expert[2:].tolist(), match.spawned_from.tolist()))
    assert spawned[3] == 0 and spawned[2] == -1


def test_noise_points_are_ignored_in_the_overlap():
    old = np.array([0, 0, 1, 1, -1])
    new = np.array([1, 1, 0, -1, 0])
    match = match_experts(old, new, 2, 2)
    assert match.cluster_of_expert.tolist() == [1, 0]
    assert match.overlap.sum() == 3


def test_collapse_detection_uses_the_fair_share():
    probs = np.array([[0.97, 0.01, 0.02]] * 10)
    load = expert_load(probs)
    np.testing.assert_allclose(load.sum(), 1.0)
    assert collapsed_experts(load, threshold=0.1).tolist() == [1, 2]
    assert collapsed_experts(np.full(4, 0.25), threshold=0.5).tolist() == []
