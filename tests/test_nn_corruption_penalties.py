"""Denoising corruptions and code penalties: the numbers a user relies on."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.nn.conv import ConvEncoder
from aekit.nn.corruption import CORRUPTIONS, GaussianNoise, Mask, SaltPepper
from aekit.nn.mlp import MLPEncoder
from aekit.nn.penalties import PENALTIES, ContractivePenalty, KLSparsity, L1Penalty, code_sparsity

# ---------------------------------------------------------------- corruptions


@pytest.mark.parametrize("sigma", [0.1, 0.5, 2.0])
def test_gaussian_noise_has_the_requested_std(sigma):
    torch.manual_seed(0)
    x = torch.rand(1000, 100)
    noise = GaussianNoise(sigma)(x) - x
    assert abs(noise.std().item() - sigma) / sigma < 0.03
    assert abs(noise.mean().item()) < 0.03 * sigma


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_mask_zeroes_a_share_p_and_leaves_the_rest_unchanged(p):
    torch.manual_seed(0)
    x = torch.rand(500, 1, 8, 8) + 0.5  # no zeros before corruption
    x_tilde = Mask(p)(x)
    zeroed = x_tilde == 0
    assert abs(zeroed.float().mean().item() - p) < 0.02
    assert torch.equal(x_tilde[~zeroed], x[~zeroed])


@pytest.mark.parametrize("p", [0.05, 0.3, 0.8])
def test_salt_pepper_sets_a_share_p_to_0_or_1_half_each(p):
    torch.manual_seed(0)
    x = torch.full((1000, 50), 0.5)
    x_tilde = SaltPepper(p)(x)
    pepper = (x_tilde == 0).float().mean().item()
    salt = (x_tilde == 1).float().mean().item()
    assert abs(pepper + salt - p) < 0.02
    assert abs(pepper - p / 2) < 0.02 and abs(salt - p / 2) < 0.02
    assert torch.all((x_tilde == 0) | (x_tilde == 1) | (x_tilde == 0.5))


@pytest.mark.parametrize("name", list(CORRUPTIONS))
@pytest.mark.parametrize("shape", [(64, 10), (16, 3, 8, 8)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_corruption_is_seeded_and_keeps_shape_and_dtype(name, shape, dtype):
    corrupt = CORRUPTIONS[name](0.3)
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
    torch.manual_seed(7)
    a = corrupt(x)
    torch.manual_seed(7)
    b = corrupt(x)
    torch.manual_seed(8)
    c = corrupt(x)
    assert a.shape == x.shape and a.dtype == dtype
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_corruption_resumes_exactly_from_a_saved_rng_state():
    torch.manual_seed(0)
    corrupt, x = Mask(0.5), torch.rand(32, 10)
    corrupt(x)
    state = torch.get_rng_state()
    expected = corrupt(x)
    torch.set_rng_state(state)
    assert torch.equal(corrupt(x), expected)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_level_zero_is_the_identity(name):
    x = torch.rand(8, 5)
    assert torch.equal(CORRUPTIONS[name](0)(x), x)


@pytest.mark.parametrize(
    ("name", "level", "message"),
    [
        ("gaussian", -0.1, "corruption_level=-0.1 must be >= 0"),
        ("gaussian", math.inf, "corruption_level=inf must be >= 0"),
        ("gaussian", math.nan, "corruption_level=nan must be >= 0"),
        ("mask", 1.5, "corruption_level=1.5 must be in [0, 1) for mask"),
        ("mask", 1.0, "corruption_level=1.0 must be in [0, 1) for mask"),
        ("mask", -0.2, "corruption_level=-0.2 must be in [0, 1)"),
        ("salt_pepper", 1.0, "corruption_level=1.0 must be in [0, 1) for salt"),
        ("salt_pepper", "0.3", "corruption_level='0.3' must be a number"),
    ],
)
def test_invalid_corruption_levels_name_the_option_and_range(name, level, message):
    with pytest.raises(ConfigError) as info:
        CORRUPTIONS[name](level)
    assert message in str(info.value)


# ---------------------------------------------------------------- penalties


@pytest.mark.parametrize("name", list(PENALTIES))
def test_penalties_return_one_value_per_sample_and_keep_their_weight(name):
    torch.manual_seed(0)
    encoder = MLPEncoder((1, 4, 4), out_features=3, hidden=(8,))
    x = torch.rand(5, 1, 4, 4)
    penalty = PENALTIES[name](0.25, 0.1)
    value = penalty(encoder, x, encoder(x))
    assert penalty.weight == 0.25
    assert value.shape == (5,) and torch.all(value >= 0) and torch.all(torch.isfinite(value))


@pytest.mark.parametrize("name", list(PENALTIES))
@pytest.mark.parametrize("weight", [-1.0, math.nan, math.inf])
def test_invalid_weight_names_penalty_weight(name, weight):
    with pytest.raises(ConfigError, match=r"penalty_weight=.* must be a finite number >= 0"):
        PENALTIES[name](weight)


@pytest.mark.parametrize("target", [0.0, 1.0, -0.5, 1.5])
def test_kl_sparsity_target_must_be_a_probability(target):
    with pytest.raises(ConfigError, match=r"sparsity_target=.* must be in \(0, 1\)"):
        KLSparsity(1.0, target)


def test_l1_is_the_sum_of_absolute_code_values():
    z = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, -3.0]])
    assert torch.equal(L1Penalty(1.0)(None, None, z), torch.tensor([3.5, 3.0]))


def test_kl_sparsity_is_zero_at_the_target_and_positive_elsewhere():
    rho = 0.05
    penalty = KLSparsity(1.0, rho)
    at_target = torch.full((10, 4), math.log(rho / (1 - rho)))  # sigmoid(z) = rho
    assert penalty(None, None, at_target).abs().max().item() < 1e-6
    # Half the batch at sigmoid = 0.5 and half at 0.1: rho_hat = 0.3 for every unit.
    z = torch.cat([torch.zeros(5, 4), torch.full((5, 4), math.log(0.1 / 0.9))])
    kl_unit = rho * math.log(rho / 0.3) + (1 - rho) * math.log((1 - rho) / 0.7)
    value = penalty(None, None, z)
    assert value.shape == (10,)
    assert torch.allclose(value, torch.full((10,), 4 * kl_unit), rtol=1e-5)


def test_kl_sparsity_gradient_moves_mean_activation_towards_the_target():
    torch.manual_seed(0)
    rho = 0.05
    z = (torch.randn(64, 8) + torch.linspace(-4, 2, 8)).requires_grad_(True)  # units above and below rho
    before = (torch.sigmoid(z).mean(0) - rho).abs()
    KLSparsity(1.0, rho)(None, None, z).mean().backward()
    with torch.no_grad():
        z -= 1.0 * z.grad
        after = (torch.sigmoid(z).mean(0) - rho).abs()
    assert torch.all(after < before)


def _jacobian_penalty(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Reference: ``||dz/dx||_F^2`` per sample from autograd's dense Jacobian."""
    values = []
    for xi in x:
        jac = torch.autograd.functional.jacobian(lambda v: encoder(v.unsqueeze(0)).squeeze(0), xi)
        values.append(jac.pow(2).sum())
    return torch.stack(values)


ENCODERS = {
    "mlp": lambda: MLPEncoder((1, 6, 6), out_features=4, hidden=(16, 8), act="gelu", linear_path=True),
    "mlp_tanh": lambda: MLPEncoder((10,), out_features=3, hidden=(12,), act="tanh", linear_path=False),
    "conv": lambda: ConvEncoder((2, 8, 8), out_features=3, channels=(4, 6), act="gelu", linear_path=True),
}
INPUT_SHAPES = {"mlp": (1, 6, 6), "mlp_tanh": (10,), "conv": (2, 8, 8)}


@pytest.mark.parametrize("arch", list(ENCODERS))
def test_contractive_matches_autograd_jacobian(arch):
    torch.manual_seed(0)
    encoder = ENCODERS[arch]().double()
    for p in encoder.parameters():  # random weights everywhere, not a zero-initialised residual branch
        nn.init.normal_(p, std=0.3)
    x = torch.randn(5, *INPUT_SHAPES[arch], dtype=torch.float64)
    value = ContractivePenalty(1e-3)(encoder, x, encoder(x))
    reference = _jacobian_penalty(encoder, x)
    assert torch.all((value - reference).abs() / reference < 1e-5)
    assert value.std() > 0  # a nonlinear encoder contracts differently at different inputs


@pytest.mark.parametrize("arch", list(ENCODERS))
def test_contractive_trains_the_encoder(arch):
    torch.manual_seed(0)
    encoder = ENCODERS[arch]().double()
    for p in encoder.parameters():
        nn.init.normal_(p, std=0.3)
    x = torch.randn(4, *INPUT_SHAPES[arch], dtype=torch.float64)
    penalty = ContractivePenalty(1e-3)
    penalty(encoder, x, encoder(x)).sum().backward()
    for name, p in encoder.named_parameters():
        if name.endswith("weight"):
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    # The gradient is the true one: central differences on a first-layer weight.
    first = next(p for name, p in encoder.named_parameters() if name.endswith("weight"))
    idx = (0,) * first.dim()
    eps = 1e-6
    with torch.no_grad():
        first[idx] += eps
        up = penalty(encoder, x, None).sum()
        first[idx] -= 2 * eps
        down = penalty(encoder, x, None).sum()
        first[idx] += eps
    numeric = (up - down) / (2 * eps)
    assert abs(first.grad[idx].item() - numeric.item()) <= 1e-5 * abs(numeric.item()) + 1e-9


def test_contractive_of_a_linear_encoder_is_its_weight_norm_for_every_sample():
    torch.manual_seed(0)
    encoder = MLPEncoder((3, 4), out_features=5, hidden=(), linear_path=False)  # one nn.Linear
    x = torch.randn(7, 3, 4)
    value = ContractivePenalty(1.0)(encoder, x, encoder(x))
    expected = encoder.mlp[0].weight.pow(2).sum().item()
    assert torch.allclose(value, torch.full((7,), expected), rtol=1e-5)


def test_contractive_under_no_grad_gives_the_same_value_detached():
    torch.manual_seed(0)
    encoder = ENCODERS["conv"]()
    x = torch.rand(3, *INPUT_SHAPES["conv"])
    penalty = ContractivePenalty(1.0)
    with torch.no_grad():
        evaluated = penalty(encoder, x, None)
    assert not evaluated.requires_grad
    assert torch.allclose(evaluated, penalty(encoder, x, None), rtol=1e-6)


def test_code_sparsity_reports_hand_computed_numbers():
    z = torch.tensor([[0.0, 0.005, 3.0, -1.0], [0.02, -0.001, 0.0, 2.0]])
    stats = code_sparsity(z, tol=1e-2)
    assert stats["near_zero_share"] == pytest.approx(4 / 8)
    assert stats["mean_abs_activation"] == pytest.approx(z.abs().mean().item())
    assert stats["mean_sigmoid_activation"] == pytest.approx(torch.sigmoid(z).mean().item())
    assert all(type(v) is float for v in stats.values())
