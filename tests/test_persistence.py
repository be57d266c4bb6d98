"""graphmoe.save / graphmoe.load: identical answers after a round trip, and no code on load."""
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import graphmoe
from graphmoe import ConnectivityClustering, GraphMoEClassifier, GraphMoERegressor, KNNGraph
from graphmoe.embed import DMVAE, VAE, AutoEncoder, VaDE


def _data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.3, size=(30, 3)) for c in (0.0, 3.0, 6.0)])
    y = X @ np.array([1.0, -2.0, 0.5]) + np.repeat([0.0, 5.0, -3.0], 30)
    labels = np.repeat([0, 1, 2], 30)
    X_new = np.vstack([rng.normal(3.0, 2.0, size=(12, 3)), X[:4]])
    return X, y, labels, X_new


def _moe(cls, gate, expert):
    return cls(gate=gate, expert=expert, n_experts=3, epochs=3, random_state=0)


# (name, estimator, what to fit on, the answers that must survive the round trip)
CASES = [
    ("knn", KNNGraph(n_neighbors=5, random_state=0), "X", ("kneighbors",)),
    ("cc-hdbscan", ConnectivityClustering(min_cluster_size=5, random_state=0), "X",
     ("predict", "predict_proba")),
    ("cc-mst", ConnectivityClustering(method="mst", min_cluster_size=5, random_state=0), "X",
     ("predict", "predict_proba")),
    ("ae", AutoEncoder(epochs=3, random_state=0), "X", ("transform",)),
    ("vae", VAE(epochs=3, random_state=0), "X", ("transform",)),
    ("vade", VaDE(epochs=3, random_state=0), "X", ("transform",)),
    ("dmvae", DMVAE(epochs=3, random_state=0), "X", ("transform",)),
] + [
    (f"reg-{gate}-{expert}", _moe(GraphMoERegressor, gate, expert), "y", ("predict", "route"))
    for gate in ("graph", "dmvae", "softmax", "kmeans") for expert in ("mlp", "gnn")
] + [
    (f"clf-{gate}-{expert}", _moe(GraphMoEClassifier, gate, expert), "labels",
     ("predict", "predict_proba", "route"))
    for gate, expert in (("graph", "mlp"), ("dmvae", "gnn"), ("softmax", "mlp"))
]


def _fit(est, target):
    X, y, labels, _ = _data()
    return est.fit(X) if target == "X" else est.fit(X, y if target == "y" else labels)


def _answers(est, methods, X_new):
    out = {}
    for m in methods:
        value = getattr(est, m)(X_new)
        out[m] = value if isinstance(value, tuple) else (value,)
    return out


@pytest.mark.parametrize("name, est, target, methods", CASES, ids=[c[0] for c in CASES])
def test_round_trip_gives_identical_answers(name, est, target, methods, tmp_path):
    X_new = _data()[3]
    est = _fit(est, target)
    before = _answers(est, methods, X_new)
    path = tmp_path / f"{name}.gmoe"
    graphmoe.save(est, path)
    loaded = graphmoe.load(path)
    assert type(loaded) is type(est) and loaded.get_params().keys() == est.get_params().keys()
    after = _answers(loaded, methods, X_new)
    for m in methods:
        for a, b in zip(before[m], after[m]):
            np.testing.assert_array_equal(a, b, err_msg=f"{name}.{m}")
    # the file is a zip of JSON + safetensors: no pickle anywhere
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["arrays.safetensors", "manifest.json", "state.json"]
        assert b"\x80\x04" not in zf.read("state.json")


def test_loaded_estimator_keeps_shared_parts_and_training_answers(tmp_path):
    X, y, _, _ = _data()
    est = _moe(GraphMoERegressor, "graph", "gnn").fit(X, y)
    graphmoe.save(est, tmp_path / "m.gmoe")
    loaded = graphmoe.load(tmp_path / "m.gmoe")
    assert loaded.knn_ is loaded.clustering_.knn_  # shared once, not copied
    assert loaded.module_.gate is loaded.gate_
    cc = loaded.clustering_
    G = loaded.gate_scaler_.transform(loaded.scaler_.transform(X))  # the clustered space
    np.testing.assert_array_equal(cc.predict(G), cc.labels_)
    np.testing.assert_array_equal(loaded.hierarchy_.parent_, est.hierarchy_.parent_)


def test_row_lookup_is_rebuilt_not_stored(tmp_path):
    # The exact-row lookup hashes rows, and Python's hashes change between
    # processes: the file holds the rows only and the table is rebuilt on load.
    X, _, _, X_new = _data()
    cc = ConnectivityClustering(min_cluster_size=5, random_state=0).fit(X)
    graphmoe.save(cc, tmp_path / "cc.gmoe")
    with zipfile.ZipFile(tmp_path / "cc.gmoe") as zf:
        assert b'"_table"' not in zf.read("state.json")
    loaded = graphmoe.load(tmp_path / "cc.gmoe")
    np.testing.assert_array_equal(loaded._lookup.find(X), np.arange(len(X)))
    np.testing.assert_array_equal(loaded.predict(np.vstack([X, X_new])),
                                  cc.predict(np.vstack([X, X_new])))


def _arrays_in(path):
    from safetensors.numpy import load

    with zipfile.ZipFile(path) as zf:
        return load(zf.read("arrays.safetensors"))


def _holds_rows(path, X):
    return any(a.shape == X.shape and np.allclose(a, X, atol=1e-6)
               for a in _arrays_in(path).values())


def test_training_rows_stored_only_where_prediction_needs_them(tmp_path):
    X, y, _, X_new = _data()
    graphmoe.save(AutoEncoder(epochs=2, random_state=0).fit(X), tmp_path / "ae.gmoe")
    assert not any(a.shape[0] == X.shape[0] for a in _arrays_in(tmp_path / "ae.gmoe").values()
                   if a.ndim)
    graphmoe.save(KNNGraph(n_neighbors=5).fit(X), tmp_path / "knn.gmoe")
    assert _holds_rows(tmp_path / "knn.gmoe", X)  # kNN queries need them
    dmvae = _moe(GraphMoERegressor, "dmvae", "mlp").fit(X, y)
    graphmoe.save(dmvae, tmp_path / "lean.gmoe")
    graphmoe.save(dmvae, tmp_path / "full.gmoe", keep_training_data=True)
    G = dmvae.gate_scaler_.transform(dmvae.scaler_.transform(X))  # what was clustered
    assert _holds_rows(tmp_path / "full.gmoe", G)
    assert not _holds_rows(tmp_path / "lean.gmoe", G)  # a learned gate routes without them
    assert not _holds_rows(tmp_path / "lean.gmoe", X)
    lean = graphmoe.load(tmp_path / "lean.gmoe")
    assert dmvae.clustering_.knn_ is not None  # the estimator itself is untouched
    np.testing.assert_array_equal(lean.hierarchy_.parent_, dmvae.hierarchy_.parent_)
    np.testing.assert_array_equal(lean.predict(X_new), dmvae.predict(X_new))
    graph = _moe(GraphMoERegressor, "graph", "mlp").fit(X, y)
    graphmoe.save(graph, tmp_path / "graph.gmoe")
    assert _holds_rows(tmp_path / "graph.gmoe",  # the graph gate routes through them
                       graph.gate_scaler_.transform(graph.scaler_.transform(X)))


def test_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        graphmoe.save(ConnectivityClustering(), tmp_path / "x.gmoe")
    assert not (tmp_path / "x.gmoe").exists()


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_and_joblib_files_are_refused_without_running_them(tmp_path):
    marker = tmp_path / "pwned"
    crafted = tmp_path / "model.pkl"
    crafted.write_bytes(pickle.dumps(_Evil(marker)))
    with pytest.raises(ValueError, match="looks like a pickle/joblib file; graphmoe.load never"):
        graphmoe.load(crafted)
    import joblib

    joblib.dump(_Evil(marker), tmp_path / "model.joblib")
    with pytest.raises(ValueError, match="not a graphmoe model file"):
        graphmoe.load(tmp_path / "model.joblib")
    assert not marker.exists()
    with pytest.raises(ValueError, match="is a directory"):
        graphmoe.load(tmp_path)


@pytest.fixture
def saved(tmp_path):
    X = _data()[0]
    path = tmp_path / "cc.gmoe"
    graphmoe.save(ConnectivityClustering(min_cluster_size=5).fit(X), path)
    return path


def _rewrite(path, edit, fix_checksums=False):
    """Rewrite the model file with ``edit(members)`` applied (optionally re-hashing)."""
    import hashlib

    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    edit(members)
    if fix_checksums:
        manifest = json.loads(members["manifest.json"])
        for name in ("state.json", "arrays.safetensors"):
            manifest["sha256"][name] = hashlib.sha256(members[name]).hexdigest()
        members["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    path.write_bytes(buffer.getvalue())


def test_truncated_file_is_refused(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        graphmoe.load(saved)


def test_tampered_file_fails_its_checksum(saved):
    def flip_a_byte(members):
        blob = bytearray(members["arrays.safetensors"])
        blob[-1] ^= 0xFF
        members["arrays.safetensors"] = bytes(blob)

    _rewrite(saved, flip_a_byte)
    with pytest.raises(ValueError, match="checksum mismatch in arrays.safetensors"):
        graphmoe.load(saved)


def test_newer_format_version_is_refused(saved):
    def bump(members):
        manifest = json.loads(members["manifest.json"])
        manifest["format_version"] = 99
        members["manifest.json"] = json.dumps(manifest).encode()

    _rewrite(saved, bump)
    with pytest.raises(ValueError, match="format version 99, newer than this graphmoe reads"):
        graphmoe.load(saved)


@pytest.mark.parametrize("path", [["os", "system"], ["builtins", "eval"],
                                  ["subprocess", "Popen"], ["graphmoe.graphx", "X"]])
def test_class_outside_the_allowlist_is_refused(saved, path):
    def swap_class(members):
        state = json.loads(members["state.json"])
        state["root"]["cls"] = path
        members["state.json"] = json.dumps(state).encode()

    _rewrite(saved, swap_class, fix_checksums=True)  # a consistent but hostile file
    with pytest.raises(ValueError, match="not allowlisted|cannot be imported"):
        graphmoe.load(saved)


def test_interrupted_save_keeps_the_earlier_file(saved, monkeypatch):
    before = saved.read_bytes()
    est = graphmoe.load(saved)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "writestr", interrupt)
    with pytest.raises(KeyboardInterrupt):
        graphmoe.save(est, saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]  # no temporary file left behind
    monkeypatch.undo()
    assert graphmoe.load(saved).n_clusters_ == est.n_clusters_


def test_unstorable_attribute_names_itself(tmp_path):
    X = _data()[0]
    cc = ConnectivityClustering(min_cluster_size=5).fit(X)
    cc.callback_ = open(os.devnull)  # noqa: SIM115 - an object that is not data
    try:
        with pytest.raises(TypeError, match="TextIOWrapper"):
            graphmoe.save(cc, tmp_path / "x.gmoe")
    finally:
        cc.callback_.close()


def test_a_class_imported_into_an_allowed_module_is_refused(saved, tmp_path):
    """``graphmoe.bench.scale`` imports subprocess: ``Popen`` is reachable through it, but
    only classes *defined* in allowlisted modules may be named, and named tuples are
    built without calling their class."""
    from graphmoe.persistence._allowlist import resolve_class

    with pytest.raises(ValueError, match="imported there"):
        resolve_class(["graphmoe.bench.scale", "subprocess.Popen"])
    with pytest.raises(ValueError, match="imported there"):
        resolve_class(["graphmoe.persistence._archive", "zipfile.ZipFile"])
    marker = tmp_path / "ran"

    def hostile(members):
        members["state.json"] = json.dumps({"root": {
            "t": "namedtuple", "cls": ["graphmoe.bench.scale", "subprocess.Popen"],
            "v": [["touch", str(marker)]]}}).encode()

    _rewrite(saved, hostile, fix_checksums=True)
    with pytest.raises(ValueError, match="imported there"):
        graphmoe.load(saved)
    assert not marker.exists()


def test_lean_save_leaves_out_rows_kept_by_the_layout(tmp_path):
    """With more than 16 features the clustering lays the data out and its layout holds
    the same kNN graph: a learned-gate model must still be saved without training rows."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 20)) + 4 * rng.normal(size=(3, 20))[rng.integers(0, 3, 240)]
    y = X[:, 0] - X[:, 1]
    m = GraphMoERegressor(gate="dmvae", n_experts=3, epochs=2, random_state=0).fit(X, y)
    assert m.clustering_.layout_ is not None  # the case this test is about
    path = tmp_path / "lean.gmoe"
    graphmoe.save(m, path)
    with zipfile.ZipFile(path) as zf:
        blob = zf.read("arrays.safetensors")
    assert X.astype(np.float64).tobytes()[:64] not in blob
    assert X.astype(np.float32).tobytes()[:64] not in blob
    np.testing.assert_array_equal(graphmoe.load(path).predict(X), m.predict(X))
