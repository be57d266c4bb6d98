"""Partitioned assignment on Dask: the same answers as in-process calls, block by block."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="dask is an optional extra: pip install .[dask]")
distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")

from graphmoe import ConnectivityClustering, GraphMoERegressor  # noqa: E402
from graphmoe.datasets import make_affine_targets, make_pinwheel_spirals  # noqa: E402
from graphmoe.distributed import (predict_blocks, predict_proba_blocks, route_blocks,  # noqa: E402
                                  sample_rows, transform_blocks)
from graphmoe.embed import AutoEncoder  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client():
    # threads, not processes: two worker processes take ~10 s to start on a 2-core CI
    # machine; benchmarks/dask_assign.py runs the process cluster
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    X, groups = make_pinwheel_spirals(n_per_arm=150, n_arms=3, random_state=0)
    return X, make_affine_targets(X, groups, random_state=0)


def test_clustering_labels_match_in_process(client, data):
    X, _ = data
    Xd = da.from_array(X, chunks=(100, -1))
    sample = sample_rows(Xd, 300, random_state=0)  # fit on a sample, assign everything
    cc = ConnectivityClustering(random_state=0).fit(sample)
    labels = predict_blocks(cc, Xd)
    assert isinstance(labels, da.Array) and labels.shape == (len(X),)
    assert labels.npartitions == 5  # one task per row block, nothing gathered
    got = labels.compute()
    np.testing.assert_array_equal(got, cc.predict(X))
    assert len(np.unique(got)) >= 2
    np.testing.assert_array_equal(
        predict_proba_blocks(cc, Xd).compute(), cc.predict_proba(X))


def test_moe_and_embedder_match_in_process(client, data):
    X, y = data
    Xd = da.from_array(X, chunks=(128, 2))
    moe = GraphMoERegressor(n_experts=3, hidden_dims=(8,), epochs=2, random_state=0).fit(X, y)
    # float32 networks: the batch split may move the last bits
    np.testing.assert_allclose(predict_blocks(moe, Xd).compute(), moe.predict(X), rtol=1e-5)
    experts, weights = route_blocks(moe, Xd)
    ref_experts, ref_weights = moe.route(X)
    assert experts.dtype == np.int64 and experts.shape == ref_experts.shape
    np.testing.assert_array_equal(experts.compute(), ref_experts)
    np.testing.assert_allclose(weights.compute(), ref_weights, rtol=1e-5)
    ae = AutoEncoder(n_components=2, hidden_dims=(8,), epochs=2, random_state=0).fit(X)
    # columns split over two blocks are joined first: an estimator needs whole rows
    Z = transform_blocks(ae, da.from_array(X, chunks=(128, 1)))
    np.testing.assert_allclose(Z.compute(), ae.transform(X), rtol=1e-12)


def test_bad_inputs_are_named(data):
    X, _ = data
    cc = ConnectivityClustering(random_state=0).fit(X[:100])
    with pytest.raises(TypeError, match="must be a dask.array.Array"):
        predict_blocks(cc, X)
    with pytest.raises(ValueError, match="must be 2-D"):
        predict_blocks(cc, da.from_array(X[:, 0]))
    with pytest.raises(TypeError, match="has no method 'route'"):
        route_blocks(cc, da.from_array(X))
    with pytest.raises(ValueError, match=r"n_samples must be in \[1, 450\]"):
        sample_rows(da.from_array(X), 451)
    unknown = da.from_array(X)[da.from_array(X[:, 0] > 0)]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        predict_blocks(cc, unknown)


def test_core_import_leaves_dask_alone():
    code = ("import sys, graphmoe, graphmoe.moe, graphmoe.embed, graphmoe.cluster, "
            "graphmoe.distributed; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True).stdout
    assert out.strip() == "[]"
