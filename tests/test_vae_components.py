"""The VAE's pieces with real numbers: the Gaussian bottleneck (KL, sampling, warm-up,
free bits), the likelihoods in nats, and the likelihood bounds and latent usage."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from aekit.analysis.vae import active_units, elbo, iw_bound, kl_per_dimension, vae_metrics
from aekit.errors import ConfigError
from aekit.nn.bottlenecks import DeterministicBottleneck
from aekit.nn.gaussian import GaussianBottleneck
from aekit.nn.losses import BCELoss, MSELoss


def heads(mu, logvar, batch=1) -> torch.Tensor:
    """Encoder output (batch, 2 * code_dim) whose heads are the given mu and logvar."""
    h = torch.cat([torch.as_tensor(mu, dtype=torch.float32), torch.as_tensor(logvar, dtype=torch.float32)])
    return h.repeat(batch, 1)


# -- GaussianBottleneck ------------------------------------------------------
def test_analytic_kl_matches_monte_carlo():
    mu, logvar = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.2, -0.5, 1.0])
    torch.manual_seed(0)
    b = GaussianBottleneck(code_dim=3)
    code = b(heads(mu, logvar, batch=100_000))
    analytic = b.terms(code)["kl"].value[0].item()
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    monte_carlo = (q.log_prob(code.z) - p.log_prob(code.z)).sum(1).mean().item()
    assert monte_carlo == pytest.approx(analytic, rel=0.03)
    assert analytic == pytest.approx(0.5 * float((mu**2 + logvar.exp() - 1 - logvar).sum()))


def test_kl_is_exactly_zero_at_the_prior():
    b = GaussianBottleneck(code_dim=4)
    kl = b.terms(b(torch.zeros(7, 8)))["kl"]
    assert torch.equal(kl.value, torch.zeros(7))
    assert kl.loss_value is None and kl.weight == 1.0


def test_sample_has_the_posterior_mean_and_std_in_eval_mode_too():
    torch.manual_seed(0)
    b = GaussianBottleneck(code_dim=2).eval()
    code = b(heads([1.0, -2.0], [math.log(4.0), math.log(0.25)], batch=100_000))
    assert code.z.mean(0).tolist() == pytest.approx([1.0, -2.0], abs=0.03)
    assert code.z.std(0).tolist() == pytest.approx([2.0, 0.5], rel=0.01)
    assert torch.equal(code.mean, torch.tensor([[1.0, -2.0]]).expand(100_000, 2))


def test_logvar_is_clamped():
    code = GaussianBottleneck(code_dim=2)(heads([0.0, 0.0], [-100.0, 100.0]))
    assert code.logvar.tolist() == [[-30.0, 20.0]]
    assert torch.isfinite(code.z).all()


def test_gradients_reach_mu_and_logvar_through_z():
    # z = mu + eps * exp(logvar / 2): dz/dmu = 1, dz/dlogvar = (z - mu) / 2.
    h = heads([0.3, -0.7], [0.5, -1.0], batch=5).requires_grad_()
    code = GaussianBottleneck(code_dim=2)(h)
    code.z.sum().backward()
    assert torch.equal(h.grad[:, :2], torch.ones(5, 2))
    assert torch.allclose(h.grad[:, 2:], 0.5 * (code.z - code.mean).detach())
    assert (h.grad[:, 2:] != 0).all()


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_warm_up_ramps_the_kl_weight_linearly(beta):
    b = GaussianBottleneck(code_dim=2, beta=beta, kl_warmup_epochs=3)
    code = b(torch.randn(4, 4))
    weights = []
    for epoch in range(5):
        b.set_epoch(epoch)
        weights.append(b.terms(code)["kl"].weight)
    assert weights == pytest.approx([beta / 3, 2 * beta / 3, beta, beta, beta])
    assert GaussianBottleneck(code_dim=2, beta=beta).terms(code)["kl"].weight == beta


def test_free_bits_floor_a_collapsed_posterior():
    b = GaussianBottleneck(code_dim=3, free_bits=0.5)
    kl = b.terms(b(torch.zeros(6, 6)))["kl"]
    assert torch.equal(kl.value, torch.zeros(6))
    assert kl.loss_value.mean().item() == pytest.approx(3 * 0.5)
    assert kl.contribution().mean().item() == pytest.approx(1.5)


def test_free_bits_keep_active_dimensions_and_stop_gradient_below_the_floor():
    # Dimension 0 carries 2 nats per sample on average, dimension 1 nearly nothing.
    torch.manual_seed(0)
    mu = torch.stack([torch.randn(64) * 2.0, torch.full((64,), 0.1)], 1)
    h = torch.cat([mu, torch.zeros(64, 2)], 1).requires_grad_()
    b = GaussianBottleneck(code_dim=2, free_bits=0.25)
    code = b(h)
    kl = b.terms(code)["kl"]
    per_dim = b.kl_per_dimension(code)
    assert per_dim[0] > 0.25 > per_dim[1]
    expected = torch.clamp(per_dim, min=0.25).sum()
    assert kl.loss_value.mean().item() == pytest.approx(expected.item(), rel=1e-6)
    assert torch.allclose(kl.loss_value - kl.value, (0.25 - 0.5 * 0.1**2) * torch.ones(64))
    kl.loss_value.mean().backward()
    assert (h.grad[:, 0] != 0).all() and (h.grad[:, 1] == 0).all()


def test_nats_flag_marks_only_the_gaussian_bottleneck():
    assert GaussianBottleneck(code_dim=2).capabilities.nats is True
    assert DeterministicBottleneck(code_dim=2).capabilities.nats is False
    assert GaussianBottleneck(code_dim=3).in_features == 6


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beta": -1}, "beta=-1 must be >= 0"),
        ({"beta": float("nan")}, "beta=nan must be >= 0"),
        ({"kl_warmup_epochs": -2}, "kl_warmup_epochs=-2 must be an integer >= 0"),
        ({"kl_warmup_epochs": 1.5}, "kl_warmup_epochs=1.5 must be an integer >= 0"),
        ({"free_bits": -0.1}, "free_bits=-0.1 must be >= 0"),
        ({"code_dim": 0}, "code_dim=0 must be a positive integer"),
    ],
)
def test_bad_options_name_the_value_and_the_range(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        GaussianBottleneck(**{"code_dim": 2, **kwargs})


# -- likelihoods -------------------------------------------------------------
def test_bernoulli_nll_by_hand():
    raw = torch.tensor([[0.0, 2.0, -1.0], [3.0, -0.5, 0.0]])
    x = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    p = 1 / (1 + np.exp(-raw.numpy().astype(np.float64)))
    by_hand = -(x.numpy() * np.log(p) + (1 - x.numpy()) * np.log(1 - p)).sum(1)
    assert BCELoss().nll(raw, x).tolist() == pytest.approx(by_hand.tolist(), rel=1e-6)


def test_gaussian_nll_is_normal_log_prob_with_the_running_variance_in_eval():
    loss = MSELoss().eval()
    with torch.no_grad():
        loss.sigma2.fill_(math.exp(0.7))
    torch.manual_seed(0)
    raw, x = torch.randn(4, 2, 3), torch.randn(4, 2, 3)
    expected = -torch.distributions.Normal(raw, math.exp(0.35)).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(loss.nll(raw, x), expected, atol=1e-5)


def test_gaussian_nll_uses_the_optimal_variance_in_training():
    """Rybkin et al. 2021: sigma2 = the batch's mean squared error, and the running
    average moves towards it."""
    loss = MSELoss().train()
    torch.manual_seed(0)
    raw, x = torch.randn(8, 5), torch.randn(8, 5)
    mse = (x - raw).pow(2).mean()
    expected = -torch.distributions.Normal(raw, mse.sqrt()).log_prob(x).sum(1)
    assert torch.allclose(loss.nll(raw, x), expected, atol=1e-4)
    assert float(loss.sigma2) == pytest.approx(0.99 + 0.01 * float(mse), rel=1e-6)


def test_mse_forward_is_unchanged_and_leaves_sigma_untouched():
    loss = MSELoss()
    raw, x = torch.zeros(2, 3, requires_grad=True), torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    out = loss(raw, x)
    assert out.tolist() == pytest.approx([14 / 3, 0.0])
    out.sum().backward()
    assert float(loss.sigma2) == 1.0 and list(loss.parameters()) == []


# -- bounds and latent usage -------------------------------------------------
class TinyVAE(nn.Module):
    """Linear encoder and decoder around a Gaussian bottleneck: 6 features, 2 latents."""

    def __init__(self, recon_loss: nn.Module):
        super().__init__()
        self.bottleneck = GaussianBottleneck(code_dim=2)
        self.encoder = nn.Linear(6, self.bottleneck.in_features)
        self.decoder = nn.Linear(2, 6)
        self.recon_loss = recon_loss


@pytest.fixture
def binary() -> torch.Tensor:
    """2000 binary rows of 6 correlated bits, (2000, 6)."""
    gen = torch.Generator().manual_seed(0)
    t = torch.randn(2000, 2, generator=gen)
    return (t @ torch.randn(2, 6, generator=gen) + 0.5 * torch.randn(2000, 6, generator=gen) > 0).float()


def trained_vae(x: torch.Tensor, steps: int = 300) -> TinyVAE:
    torch.manual_seed(0)
    model = TinyVAE(BCELoss())
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        code = model.bottleneck(model.encoder(x))
        loss = model.recon_loss.nll(model.decoder(code.z), x) + model.bottleneck.terms(code)["kl"].contribution()
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
    return model


def test_training_raises_the_elbo_above_the_untrained_model(binary):
    x = binary.repeat(5, 1)  # more z samples: the one-sample ELBO's noise drops to ~0.05 nats
    torch.manual_seed(0)
    before = elbo(TinyVAE(BCELoss()), x)
    after = elbo(trained_vae(binary), x)
    assert after > before + 0.5, (before, after)  # about -4.6 -> -3.86
    assert after > -6 * math.log(2)  # better than coin flips: 6 bits, 4.16 nats


def test_iw_bound_is_tighter_than_the_elbo_and_rises_with_k(binary):
    # An untrained encoder is a poor q(z|x), so the bounds are well apart (~0.35 nats).
    torch.manual_seed(0)
    model, x = TinyVAE(BCELoss()), binary.repeat(10, 1)
    torch.manual_seed(1)
    lower = elbo(model, x)
    iw1, iw64 = iw_bound(model, x, k=1), iw_bound(model, x, k=64)
    # L_1 equals the ELBO in expectation; over seeds each varies by < 0.015 nats here.
    assert iw1 == pytest.approx(lower, abs=0.1)
    assert iw64 > iw1 + 0.2 and iw64 > lower + 0.2, (lower, iw1, iw64)
    assert iw64 < 0  # a bound on log p(x) of discrete data


def test_metrics_are_reproducible_under_a_seed(binary):
    model = TinyVAE(MSELoss())
    results = []
    for _ in range(2):
        torch.manual_seed(3)
        results.append(vae_metrics(model, binary, k=4, batch_size=300))
    assert results[0] == results[1]
    m = results[0]
    assert m["iw_k"] == 4 and len(m["kl_per_dim"]) == 2
    assert m["elbo"] == pytest.approx(-(m["recon_nll"] + m["kl"]))
    assert m["kl"] == pytest.approx(sum(m["kl_per_dim"]))


def test_active_units_count_only_dimensions_whose_mean_moves():
    model = TinyVAE(BCELoss())
    with torch.no_grad():
        model.encoder.weight.zero_()
        model.encoder.bias.copy_(torch.tensor([0.0, 0.3, -1.0, -1.0]))
        model.encoder.weight[0, 0] = 1.0  # mu_0 = x_0, mu_1 = 0.3 for every x
    x = torch.rand(500, 6)
    assert active_units(model, x) == 1
    kl = kl_per_dimension(model, x)
    # Var(U[0, 1]) = 1/12 > 0.01; dimension 1's KL is the same for every x.
    expected_1 = 0.5 * (0.3**2 + math.exp(-1.0) - 1 + 1.0)
    assert kl.shape == (2,) and kl[1] == pytest.approx(expected_1, rel=1e-5)
    assert active_units(model, x, threshold=0.1) == 0


def test_validation_uses_the_variance_of_the_epoch_just_trained():
    # The running average alone lags far behind early on; end_epoch (called by the
    # model's epoch_metrics, before validation) sets the epoch's optimum.
    import aekit

    digits = aekit.data.load("builtin:digits")
    vae = aekit.AutoEncoder(code_dim=2, variant="vae", epochs=3, batch_size=64, random_state=0).fit(digits)
    last = vae.history_[-1]
    # Train and validation reconstruction terms are now on the same scale.
    assert last["val"]["recon"] < 2 * last["train"]["recon"] + 20
    x = vae._model_input(digits)
    with torch.no_grad():
        mse = float((vae.model_.decoder(vae.model_.encode(x).z) - x).pow(2).mean())
    assert 0.3 * mse < float(vae.model_.recon_loss.sigma2) < 3 * mse
