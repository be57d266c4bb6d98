"""Gates side by side with default parameters (issue 9 part 1): test MSE / accuracy,
agreement of the DMVAE gate with the hierarchy, and predict latency / saved size.

    python benchmarks/gate_benchmark.py spirals             # 5 arms x 400 / 5 x 400, ~5 min
    python benchmarks/gate_benchmark.py digits              # accuracy, graph vs dmvae
    python benchmarks/gate_benchmark.py fashion --n 10000   # Fashion-MNIST subset
    python benchmarks/gate_benchmark.py scale --n 70000     # latency and file size

Every row is ``GraphMoERegressor(gate=..., random_state=seed)`` (classifier for
digits/fashion) with default parameters; k-means and softmax get ``n_experts=5``.
Variants of the DMVAE gate: ``dmvae-soft`` (``gate_params={"hard": False,
"train_routing": "gate"}``, the blended routing of 0.2.0), ``dmvae-hard`` (one
expert per point, training rows to their cluster's: the classifier's default
before the soft membership routing), ``dmvae-frozen`` (``{"joint": False}``),
``dmvae-norefine`` (no refinement to the pair contrasts) and ``dmvae-noteacher``
(neither that nor the jittered copies labelled by the hierarchy),
``dmvae-member`` / ``dmvae-cluster`` (training rows routed by the hierarchy's
soft membership / one-hot to their cluster: ``train_routing``) and
``dmvae-member-soft`` / ``dmvae-cluster-soft`` (either, and the gate's top 2 at
predict; ``dmvae-member-soft`` is the classifier's default).
``fit s`` is CPU seconds of this process.
``agree`` is the share of the test points that the DMVAE gate sends first to
the expert the hierarchy's routing (kNN query into the clustering) sends them to;
``by hierarchy`` the score of the same fitted experts routed by that kNN query
instead of the gate (the graph gate's routing; pair contrasts aside). With more
than one seed, each gate's score is paired with the graph gate's of the same seed:
mean difference ± sd and wins / ties / losses (a tie: equal scores).
"""
import argparse
import os
import tempfile
import time

import numpy as np
import torch

import graphmoe
from graphmoe import GraphMoEClassifier, GraphMoERegressor
from graphmoe.bench.moe import _classification_data, _regression_data
from graphmoe.cluster.proba import cluster_proba, normalize_rows
from graphmoe.moe._inputs import as_tensor
from graphmoe.moe.training import predict_batches
from graphmoe.nn.gates.base import Gate


def agreement(model, X):
    """Share of rows whose first expert is the hierarchy's first choice (graph gates only)."""
    if model.clustering_ is None or model.clustering_.knn_ is None:
        return float("nan")
    G = model.gate_scaler_.transform(model.scaler_.transform(X))
    P = cluster_proba(model.clustering_, G)[:, model.cluster_of_expert_]
    return float(np.mean(model.gate_proba(X).argmax(1) == P.argmax(1)))


def by_hierarchy(model, X):
    """The model's output on ``X`` with its gate replaced by the hierarchy's kNN routing."""
    if model.clustering_ is None or not model.gate_.trainable:
        return None
    data = model._data(model._check_X(X))
    G = data.gate_input.cpu().numpy()
    P = normalize_rows(cluster_proba(model.clustering_, G)[:, model.cluster_of_expert_])
    data = data._replace(prior=as_tensor(P, device=model.device))
    gate, model.module_.gate = model.module_.gate, Gate(P.shape[1])
    try:
        return predict_batches(model.module_, data, context=model._context())[0]
    finally:
        model.module_.gate = gate


def paired_summary(scores, seeds, gates, better="higher"):
    """Print each gate's score minus the graph gate's, paired by seed."""
    if "graph" not in gates or len(seeds) < 2:
        return
    print(f"\n| gate - graph | mean ± sd | wins / ties / losses |\n|---|---|---|")
    for name in gates:
        if name == "graph":
            continue
        d = np.array([scores[s, name] - scores[s, "graph"] for s in seeds])
        if better == "lower":
            d = -d
        print(f"| {name} | {d.mean():+.4f} ± {d.std(ddof=1):.4f} | "
              f"{np.sum(d > 0)} / {np.sum(d == 0)} / {np.sum(d < 0)} |", flush=True)


#: benchmark name -> (gate, gate_params)
VARIANTS = {"dmvae-soft": ("dmvae", {"hard": False, "train_routing": "gate"}),
            "dmvae-hard": ("dmvae", {"hard": True}),
            "dmvae-frozen": ("dmvae", {"joint": False}),
            "dmvae-norefine": ("dmvae", {"refine_contrasts": False}),
            "dmvae-member": ("dmvae", {"train_routing": "membership", "hard": True}),
            "dmvae-cluster": ("dmvae", {"train_routing": "cluster", "hard": True}),
            "dmvae-member-soft": ("dmvae", {"train_routing": "membership", "hard": False}),
            "dmvae-cluster-soft": ("dmvae", {"train_routing": "cluster", "hard": False}),

            "dmvae-noteacher": ("dmvae", {"teacher_rows": 0, "refine_contrasts": False})}


def _params(name):
    gate, gate_params = VARIANTS.get(name, (name, None))
    extra = {"n_experts": 5} if gate in ("kmeans", "softmax", "gmm") else {}
    if gate_params:
        extra["gate_params"] = gate_params
    return gate, extra


def spirals(args):
    print("| task | seed | gate | test MSE | agree | fit CPU s |\n|---|---|---|---|---|---|")
    for task in ("interleaved", "pinwheel"):
        for seed in args.seeds:
            X, y, _, Xt, yt, _ = _regression_data(task, 400, 400, seed)
            for name in args.gates:
                gate, extra = _params(name)
                start = time.process_time()
                m = GraphMoERegressor(gate=gate, random_state=seed, **extra).fit(X, y)
                fit = time.process_time() - start
                mse = np.mean((m.predict(Xt) - yt) ** 2)
                print(f"| {task} | {seed} | {name} | {mse:.3g} | {agreement(m, Xt):.4f} | "
                      f"{fit:.0f} |", flush=True)


def classification(args):
    settings = {"n_train": args.n, "n_test": args.n_test}
    print("| task | seed | n_train | gate | accuracy | by hierarchy | agree | fit CPU s |\n"
          "|---|---|---|---|---|---|---|---|")
    scores = {}
    for seed in args.seeds:
        X, y, Xt, yt = _classification_data(args.command, settings, seed)
        for name in args.gates:
            gate, extra = _params(name)
            start = time.process_time()
            m = GraphMoEClassifier(gate=gate, random_state=seed, **extra).fit(X, y)
            fit = time.process_time() - start
            acc = scores[seed, name] = float(np.mean(m.predict(Xt) == yt))
            routed = by_hierarchy(m, Xt)
            hier = "-" if routed is None else f"{np.mean(m.classes_[routed.argmax(1)] == yt):.4f}"
            print(f"| {args.command} | {seed} | {len(X)} | {name} | {acc:.4f} | {hier} | "
                  f"{agreement(m, Xt):.4f} | {fit:.0f} |", flush=True)
    paired_summary(scores, args.seeds, args.gates)


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def scale(args):
    """Interleaved spirals with ``n`` training rows; epochs=3 (latency and size only)."""
    X, y, _, Xt, _, _ = _regression_data("interleaved", args.n // 5, 2000, args.seed)
    folder = tempfile.mkdtemp()
    print("| gate | n_train | saved MiB | predict 10,000 rows ms | predict 1 row ms | "
          "held-out agree |\n|---|---|---|---|---|---|")
    for gate in ("graph", "dmvae"):
        m = GraphMoERegressor(gate=gate, epochs=3, random_state=args.seed).fit(X, y)
        path = os.path.join(folder, f"{gate}.gmoe")
        graphmoe.save(m, path)
        loaded = graphmoe.load(path)
        batch = _median_seconds(lambda: loaded.predict(Xt), 3)
        one = _median_seconds(lambda: loaded.predict(Xt[:1]), 20)
        distilled = getattr(m.gate_, "distill_", None)
        agree = f"{distilled.agreement:.4f}" if distilled is not None else "-"
        print(f"| {gate} | {len(X)} | {os.path.getsize(path) / 2**20:.2f} | {batch * 1e3:.0f} | "
              f"{one * 1e3:.1f} | {agree} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("spirals", "digits", "fashion", "scale"))
    parser.add_argument("--gates", nargs="+", default=None,
                        help="gates or variants (dmvae-soft, dmvae-frozen); default: graph "
                             "dmvae kmeans softmax (spirals), graph dmvae (digits, fashion)")
    parser.add_argument("--n", type=int, default=10000, help="training rows (fashion, scale)")
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0, help="scale only")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.gates is None:
        args.gates = (["graph", "dmvae", "kmeans", "softmax"] if args.command == "spirals"
                      else ["graph", "dmvae"])
    {"spirals": spirals, "digits": classification, "fashion": classification,
     "scale": scale}[args.command](args)


if __name__ == "__main__":
    main()
