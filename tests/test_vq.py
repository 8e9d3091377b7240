"""The VQ-VAE bottleneck with real numbers: straight-through gradients, nearest codes,
EMA codebook learning, k-means initialisation, dead-code resets and usage statistics."""

from __future__ import annotations

import copy
import itertools
import math

import pytest
import torch
from torch import nn

from aekit.errors import ConfigError, DataError
from aekit.nn.vq import VQBottleneck

#: Every combination of the learning options; the contract tests run over all of them.
OPTIONS = [dict(ema=e, kmeans_init=k, dead_code_reset=r) for e, k, r in itertools.product([True, False], repeat=3)]
OPTION_IDS = [f"ema={o['ema']}-kmeans={o['kmeans_init']}-reset={o['dead_code_reset']}" for o in OPTIONS]


def clusters(
    n_clusters: int, per_cluster: int, dim: int = 2, spread: float = 10.0, std: float = 0.1, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points around ``n_clusters`` well-separated centres: (points (n, dim), centres (n_clusters, dim))."""
    g = torch.Generator().manual_seed(seed)
    side = math.ceil(n_clusters ** (1 / dim))
    grid = torch.cartesian_prod(*[torch.arange(side, dtype=torch.float32)] * dim).reshape(-1, dim)
    centres = spread * grid[:n_clusters]
    points = centres.repeat_interleave(per_cluster, 0) + std * torch.randn(n_clusters * per_cluster, dim, generator=g)
    return points, centres


def train_steps(vq: VQBottleneck, data: torch.Tensor, steps: int, batch: int, seed: int = 0) -> None:
    """Training forwards on random minibatches of ``data``."""
    g = torch.Generator().manual_seed(seed)
    vq.train()
    for _ in range(steps):
        vq(data[torch.randint(len(data), (batch,), generator=g)])


def distance_to_nearest(points: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    return torch.cdist(points, codebook).min(1).values


# -- the contract, over every option combination --------------------------------
@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_straight_through_gives_nearest_codes_and_identity_gradient(options):
    torch.manual_seed(0)
    vq = VQBottleneck(code_dim=3, codebook_size=16, **options)
    vq(torch.randn(64, 3))  # one training step: init, EMA, resets
    vq.eval()
    h = torch.randn(32, 3, requires_grad=True)
    code = vq(h)
    nearest = vq.codebook.detach()[torch.cdist(h.detach(), vq.codebook.detach()).argmin(1)]
    assert torch.equal(code.z, nearest) and torch.equal(code.mean, code.z)  # exactly, not approximately
    code.z.sum().backward()
    assert torch.equal(h.grad, torch.ones(32, 3))


@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_indices_are_the_brute_force_argmin(options):
    torch.manual_seed(1)
    vq = VQBottleneck(code_dim=6, codebook_size=32, token_dim=3, **options)
    h = torch.randn(50, 6)
    for mode in ("train", "eval"):
        getattr(vq, mode)()
        codebook = vq.codebook.detach().clone()  # what this forward quantises with
        code = vq(h)
        if mode == "train" and options["kmeans_init"]:
            continue  # quantised against the fresh k-means codebook, checked in eval below
        brute = torch.cdist(h.reshape(-1, 3), codebook).argmin(1).reshape(50, 2)
        assert code.indices.dtype == torch.int64 and torch.equal(code.indices, brute)


@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_tokens_are_contiguous_slices_and_lookup_reproduces_the_code(options):
    torch.manual_seed(2)
    vq = VQBottleneck(code_dim=8, codebook_size=16, token_dim=2, **options)
    h = torch.randn(20, 8)
    vq(h)
    code = vq.eval()(h)
    assert code.indices.shape == (20, 4)
    assert torch.equal(vq.lookup(code.indices), code.z)
    for j in range(4):  # token j is h[:, 2j:2j+2]
        token = h.view(20, 4, 2)[:, j]
        assert torch.equal(code.indices[:, j], torch.cdist(token, vq.codebook.detach()).argmin(1))


@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_deterministic_under_a_seed_and_eval_leaves_state_alone(options):
    def run():
        torch.manual_seed(3)
        vq = VQBottleneck(code_dim=4, codebook_size=64, token_dim=2, **options)
        train_steps(vq, torch.randn(200, 4), steps=5, batch=16)  # 32 tokens < 64 codes: resets
        return vq, vq.eval()(torch.randn(10, 4)).indices

    (a, ia), (b, ib) = run(), run()
    assert torch.equal(ia, ib)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    before = copy.deepcopy(a.state_dict())
    a.eval()(torch.randn(30, 4) * 5)
    assert all(torch.equal(before[k], v) for k, v in a.state_dict().items())


@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_a_loaded_model_carries_on_where_the_saved_one_stopped(options):
    torch.manual_seed(4)
    vq = VQBottleneck(code_dim=2, codebook_size=8, **options)
    vq(torch.randn(100, 2))
    loaded = VQBottleneck(code_dim=2, codebook_size=8, **options)
    loaded.load_state_dict(vq.state_dict())
    assert int(loaded.initialized) == 1
    h = torch.randn(40, 2) + 3.0
    for model in (vq, loaded):  # the same training step: no second k-means init
        torch.manual_seed(5)
        model.train()(h)
    assert all(torch.equal(x, y) for x, y in zip(vq.state_dict().values(), loaded.state_dict().values()))


@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
def test_under_bfloat16_autocast_the_quantiser_works_in_float32(options):
    torch.manual_seed(5)
    encoder = nn.Linear(4, 4)
    vq = VQBottleneck(code_dim=4, codebook_size=16, token_dim=2, **options)
    x = torch.randn(64, 4)
    for mode in ("train", "eval"):
        getattr(vq, mode)()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            h = encoder(x)
            codebook = vq.codebook.detach().clone()
            code = vq(h)
            loss = code.z.pow(2).mean() + sum(t.contribution().mean() for t in vq.terms(code).values())
        assert h.dtype == torch.bfloat16
        assert code.z.dtype == vq.codebook.dtype == vq.cluster_size.dtype == torch.float32
        loss.backward()
        assert torch.isfinite(encoder.weight.grad).all()
    brute = torch.cdist(h.float().reshape(-1, 2), codebook).argmin(1).reshape(64, 2)
    assert torch.equal(code.indices, brute)


# -- losses ----------------------------------------------------------------------
def test_commitment_and_codebook_terms_are_per_sample_squared_distances():
    vq = VQBottleneck(code_dim=2, codebook_size=2, ema=False, kmeans_init=False, dead_code_reset=False)
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [4.0, 0.0]]))
    h = torch.tensor([[1.0, 1.0], [3.0, 0.0]], requires_grad=True)
    terms = vq.eval().terms(vq(h))
    assert sorted(terms) == ["codebook", "commitment"]
    assert terms["commitment"].value.tolist() == [1.0, 0.5]  # mean over the code's 2 values
    assert terms["commitment"].weight == 0.25 and terms["codebook"].weight == 1.0
    terms["commitment"].value.sum().backward()
    assert vq.codebook.grad is None  # commitment trains the encoder only
    assert h.grad.tolist() == [[1.0, 1.0], [-1.0, 0.0]]
    h.grad = None
    terms["codebook"].value.sum().backward()
    assert h.grad is None  # and the codebook term the codebook only
    assert vq.codebook.grad.tolist() == [[-1.0, -1.0], [1.0, 0.0]]


def test_ema_codebook_is_a_buffer_with_no_codebook_term():
    vq = VQBottleneck(code_dim=2, codebook_size=4)
    assert list(vq.parameters()) == [] and "codebook" in dict(vq.named_buffers())
    assert sorted(vq.terms(vq(torch.randn(8, 2)))) == ["commitment"]


def test_terms_refuse_a_code_from_an_older_forward():
    vq = VQBottleneck(code_dim=2, codebook_size=4)
    old = vq(torch.randn(8, 2))
    vq(torch.randn(8, 2))
    with pytest.raises(RuntimeError, match="most recent forward"):
        vq.terms(old)


# -- learning the codebook -------------------------------------------------------
def test_ema_moves_the_codebook_onto_the_cluster_centres():
    torch.manual_seed(0)
    data, _ = clusters(4, per_cluster=100, std=0.1)
    means = data.view(4, 100, 2).mean(1)
    vq = VQBottleneck(code_dim=2, codebook_size=4)
    train_steps(vq, data, steps=500, batch=64)
    assert distance_to_nearest(means, vq.codebook).max() < 1e-2
    stats = vq.epoch_stats()
    assert stats["codebook_usage"] == 1.0
    assert stats["perplexity"] == pytest.approx(4.0, abs=0.02)


@pytest.mark.parametrize("ema", [True, False])
def test_kmeans_init_puts_a_code_near_every_cluster_after_one_batch(ema):
    torch.manual_seed(0)
    data, centres = clusters(8, per_cluster=32, std=0.1)
    vq = VQBottleneck(code_dim=2, codebook_size=8, ema=ema, dead_code_reset=False)
    assert int(vq.initialized) == 0
    vq(data)
    assert int(vq.initialized) == 1
    assert distance_to_nearest(centres, vq.codebook.detach()).max() < 0.1


def test_kmeans_init_with_fewer_tokens_than_codes_makes_every_token_a_code():
    torch.manual_seed(0)
    vq = VQBottleneck(code_dim=2, codebook_size=16, dead_code_reset=False)
    h = torch.randn(5, 2)
    vq(h)
    assert distance_to_nearest(vq.codebook, h).max() < 0.01  # noisy copies of the tokens
    assert distance_to_nearest(h, vq.codebook).max() < 0.01  # and each token has its own


@pytest.mark.parametrize("reset", [True, False])
def test_dead_code_reset_revives_a_codebook_forced_to_collapse(reset):
    torch.manual_seed(0)
    data, centres = clusters(16, per_cluster=64, std=0.1)
    vq = VQBottleneck(code_dim=2, codebook_size=16, dead_code_reset=reset)
    with torch.no_grad():  # every code at one point far from the data, with EMA stats to match
        vq.codebook.fill_(100.0)
        vq.embed_sum.fill_(100.0)
        vq.cluster_size.fill_(1.0)
        vq.initialized.fill_(1)
    train_steps(vq, data, steps=100, batch=256)
    usage = vq.epoch_stats()["codebook_usage"]
    train_steps(vq, data, steps=20, batch=256, seed=1)
    late = vq.epoch_stats()["codebook_usage"]
    quantisation_mse = float(distance_to_nearest(data, vq.codebook).pow(2).mean())
    if reset:
        assert usage >= 0.9 and late >= 0.9
        assert (distance_to_nearest(centres, vq.codebook) < 1.0).float().mean() >= 0.75  # clusters with a code
        assert quantisation_mse < 5.0  # grid spacing 10: one code per cluster gives 0.02
    else:
        assert usage <= 2 / 16 and late <= 2 / 16
        assert quantisation_mse > 200.0  # one code at the data's mean


def test_codes_left_behind_by_a_moving_encoder_are_revived_within_tens_of_batches():
    # Encoder outputs that jump elsewhere (as they do early in training) leave every
    # code with a large EMA cluster size and nothing to win. The slow codebook EMA
    # (decay 0.99) would call them alive for ~230 batches; recent usage (decay 0.9)
    # finds them dead within ~22.
    torch.manual_seed(0)
    before, _ = clusters(16, per_cluster=64, std=0.1)
    after, centres = clusters(16, per_cluster=64, std=0.1)
    after, centres = after + 1000.0, centres + 1000.0
    vq = VQBottleneck(code_dim=2, codebook_size=16)
    train_steps(vq, before, steps=50, batch=256)
    assert vq.cluster_size.min() > 5  # every code busy before the jump
    train_steps(vq, after, steps=40, batch=256, seed=1)
    vq.epoch_stats()
    train_steps(vq, after, steps=10, batch=256, seed=2)
    assert vq.epoch_stats()["codebook_usage"] >= 0.9
    assert (distance_to_nearest(centres, vq.codebook) < 1.0).float().mean() >= 0.75


def test_usage_counts_only_training_forwards():
    torch.manual_seed(0)
    vq = VQBottleneck(code_dim=2, codebook_size=4)
    vq.eval()(torch.randn(20, 2))
    assert vq.epoch_stats() == {"codebook_usage": 0.0, "perplexity": 0.0}


# -- end to end ------------------------------------------------------------------
@pytest.mark.parametrize("ema", [True, False])
def test_a_linear_vq_autoencoder_learns_eight_clusters(ema):
    torch.manual_seed(0)
    data, _ = clusters(8, per_cluster=64, spread=2.0, std=0.05)
    data = data - data.mean(0)
    encoder, decoder = nn.Linear(2, 2), nn.Linear(2, 2)
    # A batch of 64 gives each of 8 codes about 8 tokens; a code under 2 (a quarter) is dead.
    vq = VQBottleneck(code_dim=2, codebook_size=8, ema=ema, dead_threshold=0.25)
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters(), *vq.parameters()], lr=1e-2)

    def recon_error() -> float:
        vq.eval()
        with torch.no_grad():
            return float((decoder(vq(encoder(data)).z) - data).pow(2).mean())

    g = torch.Generator().manual_seed(0)
    for step in range(400):
        vq.train()
        x = data[torch.randint(len(data), (64,), generator=g)]
        code = vq(encoder(x))  # the first forward initialises the codebook by k-means
        loss = (decoder(code.z) - x).pow(2).mean(1) + sum(t.contribution() for t in vq.terms(code).values())
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
        if step == 0:
            before = recon_error()
        if step == 349:
            vq.epoch_stats()  # count the last 50 steps only
    usage = vq.epoch_stats()["codebook_usage"]
    assert recon_error() < 0.1 * before
    assert usage >= 7 / 8


# -- validation ------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(codebook_size=1), "codebook_size=1 must be an integer >= 2"),
        (dict(commitment=-1), "commitment=-1 must be"),
        (dict(decay=1.5), r"decay=1.5 must be in the open interval \(0, 1\)"),
        (dict(decay=0), "decay=0 must be"),
        (dict(token_dim=3), "token_dim=3 must be None or a positive divisor of code_dim=8"),
        (dict(dead_threshold=-0.5), "dead_threshold=-0.5 must be"),
    ],
)
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        VQBottleneck(code_dim=8, **kwargs)


def test_lookup_rejects_bad_indices():
    vq = VQBottleneck(code_dim=8, codebook_size=4, token_dim=2)
    with pytest.raises(DataError, match=r"shape \(batch, 4\)"):
        vq.lookup(torch.zeros(3, 2, dtype=torch.int64))
    with pytest.raises(DataError, match=r"\[0, 4\)"):
        vq.lookup(torch.full((3, 4), 4))


def test_deepcopy_after_a_forward_with_gradients():
    vq = VQBottleneck(code_dim=2, codebook_size=4)
    vq(torch.randn(8, 2, requires_grad=True))
    clone = copy.deepcopy(vq)
    assert clone._last is None and torch.equal(clone.codebook, vq.codebook)
