"""graphmoe.nn.dmvae.DMVAEModule: the torch module of the DMVAE embedder and gate."""
import math

import numpy as np
import pytest
import torch

from graphmoe.embed import temperature_schedule
from graphmoe.nn.dmvae import DMVAEModule, DMVAEOutput


@pytest.fixture
def module():
    torch.manual_seed(0)
    return DMVAEModule(6, n_clusters=3, latent_dim=2, hidden_dims=(16,), likelihood="bernoulli")


def test_forward_shapes_and_named_fields(module):
    x = torch.rand(5, 6)
    out = module(x, temperature=0.7)
    assert isinstance(out, DMVAEOutput)
    assert out.recon.shape == (5, 6) and out.logits.shape == (5, 3)
    assert out.mu.shape == out.logvar.shape == out.z.shape == (5, 2)
    assert torch.all((out.recon >= 0) & (out.recon <= 1))
    torch.testing.assert_close(out.c.sum(1), torch.ones(5))
    torch.testing.assert_close(out.logits, module.categorical_logits(x))
    hard = module(x, hard=True).c
    assert set(hard.flatten().tolist()) <= {0.0, 1.0}
    assert module.prior_means.shape == module.prior_logvars.shape == (3, 2)


def test_eval_forward_is_deterministic_and_rows_are_independent(module):
    module.eval()
    x = torch.rand(7, 6)
    a, b = module(x), module(x[[3, 1, 0, 2, 6, 5, 4]])
    torch.testing.assert_close(a.logits[[3, 1, 0, 2, 6, 5, 4]], b.logits)
    torch.testing.assert_close(a.z, a.mu)


def test_elbo_loss_terms_and_gradients(module):
    x = torch.rand(8, 6)
    loss, terms = module.elbo_loss(x, module(x))
    assert set(terms) >= {"nll", "kl_z", "kl_c"}
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert 0 <= terms["kl_c"] <= math.log(3) + 1e-5
    torch.testing.assert_close(loss.detach(), terms["nll"] + terms["kl_z"] + terms["kl_c"])
    loss.backward()
    for name in ("prior_means", "prior_logvars"):
        assert getattr(module, name).grad is not None
    assert module.categorical.net[0].weight.grad.abs().sum() > 0


def test_reset_parameters_and_repr(module):
    before = module.categorical.net[0].weight.detach().clone()
    torch.manual_seed(1)
    module.reset_parameters()
    assert not torch.equal(before, module.categorical.net[0].weight)
    assert "DMVAEModule(in_features=6, n_clusters=3, latent_dim=2" in repr(module)
    with pytest.raises(ValueError, match="likelihood"):
        DMVAEModule(6, 3, 2, (4,), likelihood="poisson")


def test_sample_from_one_component(module):
    gen = torch.Generator().manual_seed(0)
    x, z, c = module.sample(50, cluster=1, generator=gen)
    assert x.shape == (50, 6) and torch.all(c == 1)
    torch.testing.assert_close(z.mean(0), module.prior_means[1].detach(), atol=0.5, rtol=0)


def test_temperature_schedule_anneals_to_the_floor_halfway():
    taus = [temperature_schedule(e, 100, 1.0, 0.5) for e in range(100)]
    assert taus[0] == 1.0 and np.all(np.diff(taus) <= 0)
    assert taus[50] == pytest.approx(0.5) and taus[-1] == 0.5
    assert taus[25] == pytest.approx(math.sqrt(0.5), rel=1e-6)
