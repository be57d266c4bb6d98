"""How the files beside this script were written: graphmoe 0.1.0 as landed at commit 9d5e779.

    git worktree add --detach /tmp/old 9d5e779
    PYTHONPATH=/tmp/old python tests/data/models_0_1/make_files.py tests/data/models_0_1
"""
import sys, numpy as np, torch
torch.set_num_threads(1)
import graphmoe
from graphmoe.embed import AutoEncoder, VAE, VaDE, DMVAE
from sklearn.datasets import make_moons
out = sys.argv[1]
print(graphmoe.__file__)
X, y = make_moons(240, noise=0.05, random_state=0)
X = X.astype(np.float32)
t = (X @ np.array([1.0, -2.0], dtype=np.float32) + (y * 3.0)).astype(np.float32)
Xq = X[::7] + 0.01
models = {
    "regressor_graph": graphmoe.GraphMoERegressor(epochs=3, random_state=0),
    "regressor_dmvae": graphmoe.GraphMoERegressor(gate="dmvae", n_experts=2, epochs=3, random_state=0),
    "classifier_gnn": graphmoe.GraphMoEClassifier(expert="gnn", epochs=3, random_state=0),
    "clustering": graphmoe.ConnectivityClustering(random_state=0),
    "ae": AutoEncoder(n_components=2, epochs=3, random_state=0),
    "vae": VAE(n_components=2, epochs=3, random_state=0),
    "vade": VaDE(n_components=2, n_clusters=2, epochs=3, random_state=0),
    "dmvae": DMVAE(n_components=2, n_clusters=2, epochs=3, random_state=0),
}
preds = {}
for name, m in models.items():
    if name.startswith("regressor"):
        m.fit(X, t); preds[name] = m.predict(Xq)
    elif name.startswith("classifier"):
        m.fit(X, y); preds[name] = m.predict_proba(Xq)
    elif name == "clustering":
        m.fit(X); preds[name] = m.predict(Xq)
    else:
        m.fit(X); preds[name] = m.transform(Xq)
    graphmoe.save(m, f"{out}/{name}.gmoe")
np.savez(f"{out}/expected.npz", Xq=Xq, **preds)
