"""Components are asked, not named: each bottleneck declares its Capabilities, each
architecture its spec, and a new bottleneck is one class plus one registration line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import aekit
from aekit.config import ModelConfig
from aekit.errors import ConfigError
from aekit.model import Autoencoder
from aekit.nn.bottlenecks import Capabilities, Code, Term
from aekit.registry import ARCHITECTURES, BOTTLENECKS, BottleneckSpec


class TanhBottleneck(nn.Module):
    """A toy: the code is tanh of the encoder output, with a small penalty on saturation."""

    capabilities = Capabilities(terms=("saturation",))

    def __init__(self, code_dim: int):
        super().__init__()
        self.code_dim = code_dim
        self.in_features = code_dim

    def forward(self, h: torch.Tensor) -> Code:
        z = torch.tanh(h)  # (batch, code_dim)
        return Code(z=z, mean=z)

    def terms(self, code: Code) -> dict[str, Term]:
        return {"saturation": Term(value=code.z.pow(2).mean(1), weight=0.01)}


@pytest.fixture
def toy():
    with BOTTLENECKS.added("toy", BottleneckSpec(TanhBottleneck), "tanh-squashed code, a saturation term"):
        yield


@pytest.fixture
def rows():
    return np.random.default_rng(0).normal(size=(96, 6)).astype(np.float32)


def test_a_registered_bottleneck_fits_saves_and_loads(toy, rows, tmp_path):
    ae = aekit.AutoEncoder(bottleneck="toy", code_dim=2, epochs=2, batch_size=32).fit(rows)
    codes = ae.transform(rows)
    assert codes.shape == (96, 2) and np.abs(codes).max() < 1.0  # tanh-squashed
    assert all("saturation" in epoch["train"] for epoch in ae.history_)
    again = aekit.load(ae.save(tmp_path / "toy"))
    assert again.model_.config.bottleneck == "toy"  # the component is named in the config, asked everywhere else
    np.testing.assert_array_equal(again.transform(rows), codes)
    np.testing.assert_array_equal(again.reconstruct(rows), ae.reconstruct(rows))


def test_a_registered_bottleneck_is_asked_not_named(toy):
    model = Autoencoder(ModelConfig(input_shape=(6,), code_dim=2, bottleneck="toy"))
    assert model.capabilities == TanhBottleneck.capabilities
    assert model.init_from_pca(torch.eye(6), torch.zeros(6)) is False  # not passthrough: no PCA warm start
    with pytest.raises(ConfigError, match="tied=True needs bottleneck='deterministic'.*got bottleneck='toy'"):
        ModelConfig(input_shape=(6,), code_dim=2, bottleneck="toy", tied=True)
    with pytest.raises(ConfigError, match="needs a quantising bottleneck"):
        model.encode_indices(torch.zeros(1, 6))


def test_unregistering_removes_it_everywhere(toy):
    BOTTLENECKS.remove("toy")
    try:
        assert "toy" not in BOTTLENECKS.names()
        with pytest.raises(ConfigError, match="unknown bottleneck 'toy'; choose one of: deterministic"):
            ModelConfig(input_shape=(6,), code_dim=2, bottleneck="toy")
    finally:
        BOTTLENECKS.add("toy", BottleneckSpec(TanhBottleneck), "back, for the fixture to remove")


def test_a_bottleneck_must_declare_capabilities():
    class Bare(nn.Module):
        pass

    with pytest.raises(TypeError, match="Bare must declare a class attribute capabilities"):
        BottleneckSpec(Bare)


def test_builtin_capabilities_are_what_callers_rely_on():
    caps = {name: BOTTLENECKS.get(name).capabilities for name in BOTTLENECKS}
    assert caps["gaussian"].can_sample and caps["gaussian"].stochastic and caps["gaussian"].nats
    assert caps["gaussian"].terms == ("kl",) and not caps["gaussian"].passthrough
    assert caps["vq"].has_indices and not caps["vq"].stochastic and not caps["vq"].can_sample
    assert "commitment" in caps["vq"].terms
    assert caps["deterministic"] == Capabilities(passthrough=True)


@pytest.mark.parametrize("name", BOTTLENECKS.names())
def test_each_bottleneck_keeps_its_declared_contract(name):
    torch.manual_seed(0)
    model = Autoencoder(ModelConfig(input_shape=(6,), code_dim=4, bottleneck=name, codebook_size=8))
    caps = model.capabilities
    x = torch.randn(32, 6)
    reported = set(model.loss(x)) - {"loss", "recon"}
    assert reported <= set(caps.terms) and bool(reported) == bool(caps.terms)
    model.eval()
    code = model.encode(x, sample=False)
    assert (code.logvar is not None) == caps.stochastic
    if caps.stochastic:
        assert torch.equal(code.z, code.mean)  # sample=False: the mean, no draw
    assert (code.indices is not None) == caps.has_indices
    if caps.has_indices:
        assert torch.equal(model.decode_indices(model.encode_indices(x)), model.decode(code.z))
    if caps.passthrough:
        assert torch.equal(code.z, model.encoder(x))
    if caps.can_sample:
        assert model.sample(3).shape == (3, 6)


def test_architecture_specs_state_what_they_take():
    for name in ARCHITECTURES:
        spec = ARCHITECTURES.get(name)
        for rank, shape in ((1, (16,)), (3, (1, 4, 4))):
            if rank in spec.input_ranks:
                ModelConfig(input_shape=shape, code_dim=2, arch=name)
            else:
                with pytest.raises(ConfigError, match=f"arch='{name}' needs"):
                    ModelConfig(input_shape=shape, code_dim=2, arch=name)
        tied = dict(input_shape=(1, 4, 4), code_dim=2, arch=name, tied=True)
        if spec.can_tie:
            ModelConfig(**tied)
        else:
            with pytest.raises(ConfigError, match="tied=True needs arch='mlp' or 'linear'"):
                ModelConfig(**tied)
    assert ModelConfig(
        input_shape=(1, 12, 12), code_dim=36, arch="conv", bottleneck="vq", channels=(8, 16)
    ).token_grid == (3, 3)
    assert ModelConfig(input_shape=(1, 12, 12), code_dim=36, arch="mlp", bottleneck="vq").token_grid is None
