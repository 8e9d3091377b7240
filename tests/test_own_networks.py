"""Your own encoder and decoder, named by import path: fitted with any bottleneck, saved as
weights + JSON, and imported again on load only from modules the caller trusts."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import aekit
from aekit.cli import main
from aekit.config import ModelConfig, from_dict, to_dict
from aekit.errors import ConfigError
from aekit.model import Autoencoder
from aekit.nn.own import OwnEncoder
from aekit.registry import trusted

FACTORIES = textwrap.dedent("""
    import math
    from torch import nn

    def make_encoder(input_shape, code_dim, width=16):
        return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), width), nn.Tanh(), nn.Linear(width, width))

    def make_decoder(input_shape, code_dim, width=16):
        return nn.Sequential(nn.Linear(code_dim, width), nn.Tanh(), nn.Linear(width, math.prod(input_shape)),
                             nn.Unflatten(1, tuple(input_shape)))

    def wrong_decoder(input_shape, code_dim):
        return nn.Linear(code_dim, 3)
""")
OWN = dict(
    encoder="mynets:make_encoder",
    decoder="mynets:make_decoder",
    encoder_kwargs={"width": 12},
    decoder_kwargs={"width": 10},
)


@pytest.fixture
def factories(tmp_path, monkeypatch):
    """``mynets`` (and a lookalike ``mynetsx``) on the path, not yet imported."""
    folder = tmp_path / "code"
    folder.mkdir()
    for name in ("mynets", "mynetsx"):
        (folder / f"{name}.py").write_text(FACTORIES)
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in ("mynets", "mynetsx"):
        sys.modules.pop(name, None)


@pytest.fixture
def rows():
    return np.random.default_rng(0).normal(size=(96, 6)).astype(np.float32)


def _forget(module: str) -> None:
    """As a fresh process would be: the factory module not imported."""
    sys.modules.pop(module, None)


@pytest.mark.parametrize("variant", ["plain", "vae"])
def test_own_networks_fit_save_and_load_only_when_trusted(factories, rows, tmp_path, variant):
    ae = aekit.AutoEncoder(code_dim=2, variant=variant, epochs=2, batch_size=32, **OWN).fit(rows)
    encoder = ae.model_.encoder
    assert isinstance(encoder, OwnEncoder) and encoder.width == 12
    assert encoder.head.out_features == ae.model_.bottleneck.in_features == (4 if variant == "vae" else 2)
    codes = ae.transform(rows)
    assert codes.shape == (96, 2)
    path = ae.save(tmp_path / "m")

    _forget("mynets")
    with pytest.raises(ConfigError, match=r"encoder='mynets:make_encoder'.*module 'mynets'.*trust_code=\['mynets'\]"):
        aekit.load(path)
    assert "mynets" not in sys.modules  # refused before anything was imported

    again = aekit.load(path, trust_code=["mynets"])
    np.testing.assert_array_equal(again.transform(rows), codes)
    np.testing.assert_array_equal(again.reconstruct(rows), ae.reconstruct(rows))
    assert again.get_params()["encoder"] == "mynets:make_encoder"


def test_a_lookalike_prefix_is_not_trusted(factories, rows, tmp_path):
    own = dict(OWN, encoder="mynetsx:make_encoder", decoder="mynetsx:make_decoder")
    path = aekit.AutoEncoder(code_dim=2, epochs=1, **own).fit(rows).save(tmp_path / "m")
    _forget("mynetsx")
    with pytest.raises(ConfigError, match="module 'mynetsx'.*trust_code=\\['mynetsx'\\]"):
        aekit.load(path, trust_code=["mynets"])
    assert "mynetsx" not in sys.modules
    assert trusted("mynets.sub", ["mynets"]) and trusted("mynets", "mynets") and not trusted("mynetsevil", ["mynets"])


def test_one_side_may_stay_the_built_in_architecture(factories, rows):
    ae = aekit.AutoEncoder(code_dim=2, epochs=1, encoder="mynets:make_encoder").fit(rows)
    assert isinstance(ae.model_.encoder, OwnEncoder) and type(ae.model_.decoder).__name__ == "MLPDecoder"
    assert ae.model_.init_from_pca(torch.eye(6), torch.zeros(6)) is False  # no PCA warm start for own networks
    assert ae.inverse_transform(ae.transform(rows)).shape == rows.shape


def test_the_config_keeps_paths_and_kwargs_as_json(factories):
    cfg = ModelConfig(input_shape=(6,), code_dim=2, **OWN)
    assert cfg.encoder_kwargs == '{"width":12}' and from_dict(ModelConfig, to_dict(cfg)) == cfg
    assert hash(cfg) == hash(from_dict(ModelConfig, to_dict(cfg)))


@pytest.mark.parametrize(
    "options,match",
    [
        (
            {"encoder": "mynets.make_encoder"},
            r"encoder='mynets.make_encoder' must name a factory as 'package.module:function'",
        ),
        ({"encoder_kwargs": {"width": 3}}, r"encoder_kwargs needs encoder='package.module:function'"),
        ({"encoder": "mynets:make_encoder", "encoder_kwargs": {"f": float("nan")}}, r"encoder_kwargs=.* JSON values"),
        ({"encoder": "mynets:make_encoder", "tied": True}, r"tied=True .* cannot tie your own encoder"),
    ],
)
def test_bad_options_are_named_before_anything_is_imported(options, match, monkeypatch):
    monkeypatch.delitem(sys.modules, "mynets", raising=False)
    with pytest.raises(ConfigError, match=match):
        ModelConfig(input_shape=(6,), code_dim=2, **options)
    assert "mynets" not in sys.modules


def test_a_network_of_the_wrong_shape_is_named(factories):
    with pytest.raises(
        ConfigError,
        match=r"decoder='mynets:wrong_decoder' must map \(batch, code_dim\) to "
        r"\(batch, \*input_shape\) = \(batch, 6\).* returned \(2, 3\)",
    ):
        Autoencoder(ModelConfig(input_shape=(6,), code_dim=2, decoder="mynets:wrong_decoder"))
    with pytest.raises(ConfigError, match="cannot import module 'nosuchmodule'"):
        Autoencoder(ModelConfig(input_shape=(6,), code_dim=2, encoder="nosuchmodule:f"))


def test_cli_needs_trust_code_for_own_networks(factories, rows, tmp_path):
    path = aekit.AutoEncoder(code_dim=2, epochs=1, **OWN).fit(rows).save(tmp_path / "m")
    np.save(tmp_path / "x.npy", rows)
    _forget("mynets")
    args = ["encode", str(path), str(tmp_path / "x.npy"), "-o", str(tmp_path / "codes.npy")]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and "'mynets'" in refused.output and "--trust-code mynets" in refused.output
    assert "mynets" not in sys.modules and not (tmp_path / "codes.npy").exists()
    done = CliRunner().invoke(main, args + ["--trust-code", "mynets"])
    assert done.exit_code == 0, done.output
    expected = aekit.load(path, trust_code=["mynets"]).transform(rows)
    np.testing.assert_array_equal(np.load(tmp_path / "codes.npy"), expected)
