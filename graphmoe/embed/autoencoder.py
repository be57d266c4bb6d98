"""A deterministic autoencoder: the plainest embedder, and the pretraining stage of VaDE/DMVAE."""
from __future__ import annotations

from torch import nn

from ._base import BaseEmbedder
from .graph_loss import umap_contrastive_loss
from .networks import MLP

__all__ = ["AutoEncoder", "AutoEncoderModule"]


class AutoEncoderModule(nn.Module):
    """Encoder ``x -> z`` and mirrored decoder ``z -> output`` (logits or mean).

    Shapes
    ------
    x (n, in_features) -> z (n, latent_dim) -> output (n, in_features)
    """

    def __init__(self, in_features, latent_dim, hidden_dims):
        super().__init__()
        self.in_features, self.latent_dim = int(in_features), int(latent_dim)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.encoder = MLP([self.in_features, *self.hidden_dims, self.latent_dim])
        self.decoder = MLP([self.latent_dim, *reversed(self.hidden_dims), self.in_features])
        self.reset_parameters()

    def reset_parameters(self):
        self.encoder.reset_parameters()
        self.decoder.reset_parameters()

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))

    def __repr__(self):
        return (f"{self.__class__.__name__}(in_features={self.in_features}, "
                f"latent_dim={self.latent_dim}, hidden_dims={self.hidden_dims})")


class AutoEncoder(BaseEmbedder):
    """Deterministic autoencoder with an optional connectivity-preserving loss.

    Minimises the negative log-likelihood of the reconstruction (Bernoulli
    cross-entropy for data in [0, 1], squared error on standardised data
    otherwise) plus ``graph_weight`` times the kNN contrastive term of
    :mod:`graphmoe.embed.graph_loss`.

    Parameters
    ----------
    n_components : int, default=10
        Width of the code.
    hidden_dims : sequence of int or None, default=None
        Encoder widths (the decoder mirrors them). ``None``: (128, 128) below 32
        features, (256, 256) below 256, the DEC/VaDE (500, 500, 2000) above.
    likelihood : {"auto", "bernoulli", "gaussian"}, default="auto"
        ``"auto"``: Bernoulli when X lies in [0, 1], Gaussian otherwise.
    epochs : int, default=100
        Maximum passes over the training split.
    batch_size : int, default=256
    learning_rate : float, default=1e-3
        Adam step size.
    graph_weight : float, default=5.0
        Weight of the kNN-preserving term (0 switches it off). The default was
        chosen on sklearn digits, where it lifts MST-cut ARI on a 10-D AE code
        from 0.75 to 0.88 at a small cost in reconstruction (see the benchmark).
    n_neighbors : int, default=10
        Neighbours per point in the input kNN graph used by the graph term.
    validation_fraction : float, default=0.1
        Held-out share of rows for early stopping (0: no early stopping).
    patience : int, default=10
        Epochs without improvement of the held-out loss before stopping.
    device : {"cpu", "cuda", "auto"}, default="cpu"
    num_threads : int or None, default=None
        torch intra-op threads during fit (``None``: keep torch's current setting,
        see ``torch.set_num_threads``). Small networks train fastest on one thread.
    random_state : int, RandomState or None, default=None
        Seeds everything random in ``fit``. torch's global random state is
        left untouched (``fit`` works on a forked copy).
    verbose : bool, default=False
        Show a progress bar with the loss.
    checkpoint_dir : str, path-like or None, default=None
        Folder for ``<ClassName>.ckpt``, written atomically every
        ``checkpoint_every`` epochs and at the end of each training phase:
        weights, optimizer, early-stopping and RNG states (plain tensors,
        read back with ``torch.load(weights_only=True)``). Resume an
        interrupted fit with ``fit(X, resume=checkpoint_dir)``.
    checkpoint_every : int, default=10
        Epochs between checkpoints.

    Attributes
    ----------
    module_ : AutoEncoderModule
    likelihood_ : str
    hidden_dims_ : tuple of int
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation applied before the network (identity for Bernoulli data).
    history_ : dict
        Per-phase training curves.
    n_features_in_ : int

    Notes
    -----
    ``fit`` is all-or-nothing: when it raises (``FloatingPointError`` on a
    non-finite loss or weight, ``KeyboardInterrupt``, ...) the estimator is
    left as it was before the call. A fit resumed from a checkpoint with the
    same data, parameters and integer ``random_state`` reaches the same
    weights as an uninterrupted one (bit for bit on the CPU).

    Examples
    --------
    >>> from graphmoe.datasets import load_digits
    >>> from graphmoe.embed import AutoEncoder
    >>> X, _ = load_digits()
    >>> Z = AutoEncoder(n_components=10, epochs=5, random_state=0).fit_transform(X)
    >>> Z.shape
    (1797, 10)
    """

    def __init__(self, n_components=10, *, hidden_dims=None, likelihood="auto", epochs=100,
                 batch_size=256, learning_rate=1e-3, graph_weight=5.0, n_neighbors=10,
                 validation_fraction=0.1, patience=10, device="cpu", num_threads=None,
                 random_state=None, verbose=False, checkpoint_dir=None,
                 checkpoint_every=10):
        self.n_components = n_components
        self.hidden_dims = hidden_dims
        self.likelihood = likelihood
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.graph_weight = graph_weight
        self.n_neighbors = n_neighbors
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    def _build_module(self):
        return AutoEncoderModule(self.n_features_in_, self.n_components, self.hidden_dims_)

    def _encode_mean(self, module, x):
        return module.encode(x)

    def _loss(self, x, x_pos):
        z = self.module_.encode(x)
        nll = self._reconstruction_nll(x, self.module_.decode(z)).mean()
        terms = {"nll": nll.detach()}
        loss = nll
        if x_pos is not None:
            graph = umap_contrastive_loss(z, self.module_.encode(x_pos))
            terms["graph"] = graph.detach()
            loss = loss + self.graph_weight * graph
        return loss, terms

    def score(self, X, y=None):
        """Mean reconstruction log-likelihood per row (higher is better)."""
        return super().score(X, y)
