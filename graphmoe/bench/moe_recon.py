"""The SMoE-VAE question on Fashion-MNIST: reconstruction experts routed without labels or by them.

Every mixture is a :class:`~graphmoe.GraphMoERegressor` fitted on ``X -> X``
(the targets are the inputs) whose experts are bottleneck MLPs with no skip
path, so an expert cannot copy its input and has to compress it. Only the
router changes:

* ``graph`` -- the connectivity clusters of the kNN graph (no labels);
* ``dmvae`` -- the DMVAE gate, started from those clusters (no labels);
* ``labels`` -- the class labels, at fit *and* at prediction time (the
  package's ``gate="oracle"``; its ``gate="labels"`` would route new points
  by a kNN vote instead). With ``E != 10`` experts the classes are regrouped
  (:class:`LabelGroups`): for ``E < 10`` the classes whose mean images are
  closest are merged (Ward), for ``E > 10`` the most spread classes are split
  by k-means inside the class; a test point goes to the sub-cluster of its own
  class whose centroid is nearest.

Metrics per (gate, E, seed): test reconstruction MSE (pixels in [0, 1]); the
MSE of predicting the mean training image as a floor to beat; the linear
separability of the routing (a logistic regression on the pixels, trained on
the training points' top-1 experts, scored on the test points' top-1
experts) and its balanced accuracy, next to the chance level of the plain
accuracy (the largest expert's share); the class
purity of the experts; the fit time. The SMoE-VAE paper reports lower MSE and
more separable routing without labels (93.4 % vs 85.1 %).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..moe import GraphMoERegressor
from .report import markdown_table

__all__ = ["run_recon_benchmark", "LabelGroups", "FULL", "QUICK"]

#: sizes and budgets; ``distill_epochs`` is the DMVAE gate's, cut from 100 to fit one CPU thread
FULL = {"n_train": 3000, "n_test": 1000, "epochs": 30, "batch_size": 128, "pca": 50,
        "hidden_dims": (64, 8, 64), "distill_epochs": 40}
QUICK = {"n_train": 600, "n_test": 200, "epochs": 15, "batch_size": 128, "pca": 30,
         "hidden_dims": (64, 8, 64), "distill_epochs": 20}
COLUMNS = ["gate", "n_experts", "seed", "mse", "mse_mean_image", "separability",
           "separability_balanced", "chance", "purity", "experts_used", "fit_s"]


class LabelGroups:
    """Class labels regrouped into ``n_groups`` routing groups (merged or split classes).

    Parameters
    ----------
    n_groups : int
    random_state : int, optional

    Attributes
    ----------
    group_of_class_ : ndarray (merging, ``n_groups <= n_classes``) or None
    centroids_ : dict class -> (k_c, d) centroids (splitting) or None
    """

    def __init__(self, n_groups, random_state=None):
        self.n_groups = int(n_groups)
        self.random_state = random_state

    def fit(self, X, y):
        from sklearn.cluster import AgglomerativeClustering, KMeans

        self.classes_ = np.unique(y)
        self.group_of_class_, self.centroids_ = None, None
        if self.n_groups <= len(self.classes_):
            means = np.stack([X[y == c].mean(axis=0) for c in self.classes_])
            self.group_of_class_ = (np.arange(len(self.classes_))
                                    if self.n_groups == len(self.classes_) else
                                    AgglomerativeClustering(self.n_groups).fit_predict(means))
            return self
        spread = np.array([((X[y == c] - X[y == c].mean(axis=0)) ** 2).sum()
                           for c in self.classes_])
        k = np.ones(len(self.classes_), dtype=int)
        for _ in range(self.n_groups - len(self.classes_)):
            # split where the within-class scatter per sub-cluster is largest
            k[np.argmax(spread / k)] += 1
        self.centroids_, self.offset_ = {}, np.concatenate([[0], np.cumsum(k)[:-1]])
        for c, kc in zip(self.classes_, k):
            self.centroids_[c] = KMeans(kc, n_init=3, random_state=self.random_state).fit(
                X[y == c]).cluster_centers_
        return self

    def transform(self, X, y):
        """Routing group ``(n,)`` of each point, from its class (and pixels when splitting)."""
        codes = np.searchsorted(self.classes_, y)
        if self.centroids_ is None:
            return self.group_of_class_[codes]
        groups = np.empty(len(y), dtype=np.int64)
        for i, c in enumerate(self.classes_):
            rows = codes == i
            d2 = ((X[rows, None, :] - self.centroids_[c][None]) ** 2).sum(axis=2)
            groups[rows] = self.offset_[i] + d2.argmin(axis=1)
        return groups


def _separability(X, top1, Xt, top1t):
    """Held-out accuracy and balanced accuracy of a linear classifier predicting the top-1 expert.

    The balanced accuracy (mean per-expert recall) is the fair number when one
    expert takes most points: plain accuracy then starts at that expert's share.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    if len(np.unique(top1)) < 2:  # a single expert: any classifier is trivially right
        pred = np.full(len(top1t), top1[0])
    else:
        pred = LogisticRegression(max_iter=300).fit(X, top1).predict(Xt)
    return float(np.mean(pred == top1t)), float(balanced_accuracy_score(top1t, pred))


def _purity(top1, y):
    """Share of points whose expert's most common class is their own."""
    table = pd.crosstab(top1, y).to_numpy()
    return float(table.max(axis=1).sum() / len(y))


def _fit_one(gate, n_experts, X, y, Xt, yt, settings, seed, model_params=None):
    """One mixture and its metrics; ``model_params`` overrides GraphMoERegressor arguments."""
    from sklearn.decomposition import PCA

    groups = groups_t = None
    params = {"gate": gate, "n_experts": n_experts}
    if gate == "labels":
        grouping = LabelGroups(n_experts, random_state=seed).fit(X, y)
        groups, groups_t = grouping.transform(X, y), grouping.transform(Xt, yt)
        params["gate"] = "oracle"  # true groups at prediction time too
    if gate == "dmvae":
        params["gate_params"] = {"distill_epochs": settings["distill_epochs"]}
    # graph and gate work on PCA scores: Euclidean kNN on 784 standardised pixels
    # mostly measures the noise of near-constant border pixels
    # bottleneck experts without the skip path: for X -> X an affine skip would be the
    # identity, a perfect and meaningless reconstruction
    model = GraphMoERegressor(
        embedder=PCA(settings["pca"], random_state=seed), top_k=1,
        expert_params={"skip": False, "hidden_dims": settings["hidden_dims"]},
        epochs=settings["epochs"],
        batch_size=settings["batch_size"], learning_rate=2e-3, load_balance_loss_coef=0.0,
        num_threads=1, random_state=seed, **{**params, **(model_params or {})})
    start = time.perf_counter()
    model.fit(X, X, groups=groups)
    fit_s = time.perf_counter() - start
    top1 = model.route(X, groups=groups)[0][:, 0]
    top1t = model.route(Xt, groups=groups_t)[0][:, 0]
    recon = model.predict(Xt, groups=groups_t)
    counts = np.bincount(top1t, minlength=model.n_experts_)
    separability, balanced = _separability(X, top1, Xt, top1t)
    return {"gate": gate, "n_experts": int(model.n_experts_), "seed": seed,
            "mse": float(np.mean((recon - Xt) ** 2)),
            "mse_mean_image": float(np.mean((Xt - X.mean(axis=0)) ** 2)),
            "separability": separability, "separability_balanced": balanced,
            "chance": float(counts.max() / len(top1t)),
            "purity": _purity(top1t, yt), "experts_used": int((counts > 0).sum()),
            "fit_s": fit_s}


def _markdown(results):
    """Mean (± sd over seeds) per (gate, E)."""
    metrics = ["mse", "separability", "separability_balanced", "chance", "purity",
               "experts_used", "fit_s"]
    rows = []
    for (gate, e), part in results.groupby(["gate", "n_experts"], sort=False):
        row = {"gate": gate, "E": e}
        for m in metrics:
            v = part[m].to_numpy(dtype=float)
            fmt = ("{:.4f}" if m == "mse" else "{:.1f}" if m in ("fit_s", "experts_used")
                   else "{:.3f}")
            row[m] = fmt.format(v.mean()) + (" ± " + fmt.format(v.std(ddof=1))
                                             if len(v) > 1 else "")
        rows.append(row)
    lines = [markdown_table(pd.DataFrame(rows), index=False)]
    floor = results["mse_mean_image"].mean()
    lines.append(f"\nMSE of predicting the mean training image: {floor:.4f}. "
                 "Separability: held-out accuracy of a logistic regression on the pixels "
                 "predicting the top-1 expert (balanced: mean recall per expert, chance 1/E); "
                 "chance: the largest expert's test share.")
    return "\n".join(lines) + "\n"


def _load(n_train, n_test, seed):
    from .. import datasets

    X, y = datasets.load_fashion_mnist("train", n_samples=n_train, random_state=seed)
    Xt, yt = datasets.load_fashion_mnist("test", n_samples=n_test, random_state=seed)
    return X.astype(np.float64), y, Xt.astype(np.float64), yt


def _run_grid(load, settings, n_experts, gates, seeds, verbose):
    """One row per (seed, E, gate)."""
    rows = []
    for seed in seeds:
        X, y, Xt, yt = load(settings["n_train"], settings["n_test"], seed)
        for e in n_experts:
            for gate in gates:
                row = _fit_one(gate, int(e), X, y, Xt, yt, settings, seed)
                rows.append(row)
                if verbose:
                    print(f"{gate:7s} E={e:2d} seed={seed} mse={row['mse']:.4f} "
                          f"sep={row['separability']:.3f} chance={row['chance']:.3f} "
                          f"purity={row['purity']:.3f} ({row['fit_s']:.1f} s)", flush=True)
    return rows


def run_recon_benchmark(out_dir, quick=False, n_experts=(5, 10, 15),
                        gates=("graph", "dmvae", "labels"), n_train=None, n_test=None,
                        seeds=(0,), verbose=True, data=None):
    """Reconstruction mixtures on Fashion-MNIST, routed by the graph, the DMVAE or the labels.

    Parameters
    ----------
    out_dir : str or Path
        Receives ``results.csv`` (one row per gate, E, seed) and ``results.md``.
    quick : bool, default=False
        600 training / 200 test images, E = 5, gates graph and labels (under a minute);
        the ``n_experts`` and ``gates`` arguments are then ignored.
    n_experts : tuple of int, default=(5, 10, 15)
    gates : tuple of {"graph", "dmvae", "labels"}
    n_train, n_test : int, optional
        Stratified subsample sizes (default 3,000 / 1,000; quick 600 / 200).
    seeds : tuple of int, default=(0,)
        One subsample and one fit per seed.
    verbose : bool, default=True
        Print one line per fit.
    data : callable, optional
        ``data(n_train, n_test, seed) -> (X, y, Xt, yt)`` replacing Fashion-MNIST
        (e.g. a synthetic stand-in).

    Returns
    -------
    pandas.DataFrame
        Columns ``gate, n_experts, seed, mse, mse_mean_image, separability,
        separability_balanced, chance, purity, experts_used, fit_s``; ``n_experts`` is
        the number of experts the mixture built.
    """
    settings = dict(QUICK if quick else FULL)
    if quick:
        n_experts, gates = (5,), ("graph", "labels")
    unknown = set(gates) - {"graph", "dmvae", "labels"}
    if unknown:
        raise ValueError(f"unknown gates {sorted(unknown)}; use graph, dmvae, labels.")
    settings["n_train"] = n_train or settings["n_train"]
    settings["n_test"] = n_test or settings["n_test"]
    load = data or _load
    # one BLAS thread: on small matrices more threads only contend (a 400-image
    # logistic regression took 15 s with the default pool on two busy cores, 0.5 s with one)
    with threadpool_limits(1):
        rows = _run_grid(load, settings, n_experts, gates, seeds, verbose)
    results = pd.DataFrame(rows, columns=COLUMNS)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "results.csv", index=False)
    (out / "results.md").write_text(_markdown(results))
    return results
