"""The embedding benchmark writes its tables and scores sensibly (tiny run)."""
import pandas as pd

from graphmoe.bench.embed import run_embed_benchmark


def test_quick_benchmark_tables(tmp_path):
    table = run_embed_benchmark(tmp_path, quick=True, verbose=False, models=["ae"],
                                graph_weights=(5.0,), num_threads=1)
    assert set(table["model"]) == {"raw", "ae"}
    assert set(table["clusterer"]) == {"cc-hdbscan", "cc-mst", "kmeans", "gmm"}
    on_disk = pd.read_csv(tmp_path / "embed_results.csv")
    assert len(on_disk) == len(table) == 8
    assert (tmp_path / "embed_results.md").read_text().startswith("| dataset |")
    assert table["acc"].between(0, 1).all() and (table["train_s"] >= 0).all()
    raw_kmeans = table.query("model == 'raw' and clusterer == 'kmeans'")["ari"].item()
    assert raw_kmeans >= 0.5  # k-means on digit pixels: ARI about 0.67
    ae_mst = table.query("model == 'ae' and clusterer == 'cc-mst'")["ari"].item()
    assert ae_mst >= 0.6
