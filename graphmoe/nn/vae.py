"""The Gaussian encoder/decoder pair of the VAE family, as a torch building block."""
from __future__ import annotations

from torch import nn

from .gaussian import reparameterize
from .networks import MLP

__all__ = ["VAEModule", "LOGVAR_RANGE"]

#: log-variances are kept in this range so that exp() cannot overflow early in training.
LOGVAR_RANGE = (-12.0, 8.0)


class VAEModule(nn.Module):
    """Gaussian encoder ``x -> (mu, logvar)`` and decoder ``z -> output``.

    Shapes
    ------
    x (n, in_features) -> mu, logvar (n, latent_dim) -> output (n, in_features)
    """

    def __init__(self, in_features, latent_dim, hidden_dims):
        super().__init__()
        self.in_features, self.latent_dim = int(in_features), int(latent_dim)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.encoder = MLP([self.in_features, *self.hidden_dims, 2 * self.latent_dim])
        self.decoder = MLP([self.latent_dim, *reversed(self.hidden_dims), self.in_features])
        self.reset_parameters()

    def reset_parameters(self):
        self.encoder.reset_parameters()
        self.decoder.reset_parameters()

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar) if self.training else mu
        return self.decode(z), mu, logvar

    def __repr__(self):
        return (f"{self.__class__.__name__}(in_features={self.in_features}, "
                f"latent_dim={self.latent_dim}, hidden_dims={self.hidden_dims})")
