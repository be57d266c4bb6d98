"""Multilayer perceptrons shared by the encoders and decoders.

Two default stacks: a small one for low-dimensional data (spirals, tabular)
and the d-500-500-2000-z stack of DEC/VaDE for images. The switch is the
input width, because a 2000-unit layer on 2-D input only slows training down.
"""
from __future__ import annotations

from torch import nn

__all__ = ["MLP", "default_hidden_dims"]

#: inputs at least this wide get the image-sized DEC/VaDE stack.
IMAGE_FEATURES = 256


def default_hidden_dims(n_features):
    """Hidden widths for an encoder of ``n_features`` inputs (decoder mirrors them)."""
    if n_features >= IMAGE_FEATURES:
        return (500, 500, 2000)
    if n_features >= 32:
        return (256, 256)
    return (128, 128)


class MLP(nn.Module):
    """Linear layers with ReLU between them and no activation after the last.

    Parameters
    ----------
    dims : sequence of int
        Layer widths ``(in, hidden..., out)``; at least two entries.

    Shapes
    ------
    input (n, dims[0]) -> output (n, dims[-1])
    """

    def __init__(self, dims):
        super().__init__()
        dims = [int(d) for d in dims]
        if len(dims) < 2:
            raise ValueError(f"an MLP needs at least input and output widths, got {dims}.")
        self.dims = dims
        layers = []
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(dims) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self):
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                # Kaiming-uniform suits the ReLUs; zero bias keeps the first codes centred.
                nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.net(x)

    def __repr__(self):
        return f"{self.__class__.__name__}({'-'.join(str(d) for d in self.dims)})"

