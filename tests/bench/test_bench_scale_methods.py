"""The scaling benchmark's competitors and its worker-process hygiene."""
import subprocess
import sys

import psutil
import pytest

from graphmoe.bench import scale


def test_unknown_method_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown scaling method"):
        scale.run_scale_benchmark(tmp_path, datasets=["blobs50"], sizes=[300], methods=("umap",),
                                  verbose=False)


def test_watch_returns_when_the_worker_is_gone():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert scale._watch(proc, psutil, timeout=5, max_rss_gb=1.0) is None


def test_a_worker_is_killed_and_reaped_when_the_watch_is_interrupted(monkeypatch):
    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                  stdout=kwargs.get("stdout"), stderr=kwargs.get("stderr")))
        return started[-1]

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(scale.subprocess, "Popen", popen)
    monkeypatch.setattr(scale, "_watch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        scale._run_fresh("blobs50", 300, True, 0, timeout=60, max_rss_gb=1.0)
    assert started and started[0].returncode is not None  # killed and waited for


def test_evoc_rows_have_the_same_keys_as_graphmoe_rows():
    pytest.importorskip("evoc")
    X, y = scale.load_scale_data("blobs50", 600)
    row = scale._fit_evoc(X, y, {"random_state": 0, "n_clusters": 20})
    assert {"time_s", "cpu_s", "ari", "n_clusters", "noise_frac"} <= set(row)
    assert row["ari"] > 0.9
