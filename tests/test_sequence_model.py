"""Sequences through the model: the conv1d and GRU architectures with every bottleneck,
the sequence kind decided and scaled per channel, the shape (N, L, C) kept through
fit, transform, reconstruct, save and load, and ``aekit fit data.ts`` on the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from aekit import AutoEncoder
from aekit.cli import main
from aekit.config import ModelConfig
from aekit.data import Dataset, load
from aekit.data.scaling import Preprocessing
from aekit.errors import ConfigError, DataError
from aekit.fitting.decide import decide
from aekit.model import Autoencoder
from aekit.nn.sequence import Conv1dDecoder, Conv1dEncoder, stage_lengths
from aekit.registry import ARCHITECTURES, BOTTLENECKS, SEQUENCE_DEFAULTS, default_model_options

SEQUENCE_ARCHS = [name for name in ARCHITECTURES if 2 in ARCHITECTURES.get(name).input_ranks]


def _waves(n: int = 48, length: int = 30, channels: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes of noisy sine waves with a random phase shift: (n, length, channels), labels (n,)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.linspace(0, 2 * np.pi, length)[None, :, None]
    freq = np.where(y == 0, 1.0, 2.0)[:, None, None]
    shift = rng.uniform(0, 1, (n, 1, 1))
    scale = np.array([1.0, 10.0, 0.1][:channels])  # channels on very different scales
    x = np.sin(freq * t + shift + np.arange(channels)) * scale + 3.0 * scale
    return (x + rng.normal(0, 0.05, x.shape) * scale).astype(np.float32), y


def test_every_architecture_that_takes_sequences_is_registered_with_a_reason():
    assert {"conv1d", "gru"} <= set(SEQUENCE_ARCHS)
    for name in ("conv1d", "gru"):
        assert ARCHITECTURES.get(name).input_ranks == (2,) and len(ARCHITECTURES.doc(name)) > 20
    with pytest.raises(ConfigError, match=r"arch='conv1d' needs sequence samples \(length, channels\)"):
        ModelConfig(input_shape=(1, 8, 8), arch="conv1d", code_dim=2)
    with pytest.raises(ConfigError, match="use arch="):
        ModelConfig(input_shape=(30, 2), arch="conv", code_dim=2)


@pytest.mark.parametrize(("length", "stages"), [(1, 0), (3, 0), (4, 0), (7, 1), (8, 1), (15, 2), (31, 3), (150, 3)])
def test_conv1d_round_trips_any_length(length, stages):
    enc = Conv1dEncoder((length, 3), out_features=5, channels=(4, 8, 8))
    dec = Conv1dDecoder(5, (length, 3), channels=(4, 8, 8))
    x = torch.randn(2, length, 3)
    assert tuple(enc(x).shape) == (2, 5) and tuple(dec(enc(x)).shape) == (2, length, 3)
    assert len(stage_lengths(length, 3)) - 1 == stages  # a stage never leaves fewer than 4 steps


def test_conv1d_codes_do_not_move_much_when_the_sequence_shifts_by_a_step():
    """Mean and max over time: a one-step shift changes the code far less than another sequence does."""
    torch.manual_seed(0)
    enc = Conv1dEncoder((64, 1), out_features=8)
    t = torch.linspace(0, 6.28, 80)
    a, b = torch.sin(t)[:64], torch.sin(t)[1:65]
    other = torch.sign(torch.sin(3 * t))[:64]
    z = enc(torch.stack([a, b, other])[:, :, None])
    assert (z[0] - z[1]).norm() < 0.2 * (z[0] - z[2]).norm()


@pytest.mark.parametrize("arch", ["conv1d", "gru", "mlp"])
@pytest.mark.parametrize("bottleneck", sorted(BOTTLENECKS))
def test_every_bottleneck_trains_with_every_sequence_architecture(arch, bottleneck):
    torch.manual_seed(0)
    config = ModelConfig(input_shape=(12, 2), code_dim=4, arch=arch, bottleneck=bottleneck, hidden=(16,))
    model = Autoencoder(config)
    x = torch.randn(16, 12, 2)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        terms = model.loss(x)
        optimiser.zero_grad()
        terms["loss"].backward()
        optimiser.step()
        first = terms["recon"].item() if first is None else first
    model.eval()
    code = model.encode(x, sample=False)
    assert tuple(code.z.shape) == (16, 4) and tuple(model.reconstruct(x).shape) == (16, 12, 2)
    assert model.loss(x)["recon"].item() < first  # it learns
    if model.capabilities.has_indices:
        assert tuple(model.encode_indices(x).shape) == (16, 1)  # code_dim 4: one token of 4
    if model.capabilities.can_sample:
        assert tuple(model.sample(3).shape) == (3, 12, 2)


def test_decide_sequences_and_their_overrides():
    def decided(**kw):
        args = dict(kind="auto", scaling="auto", input_shape=None, sample_shape=(30, 2), source_kind="sequence")
        args.update(kw)
        return decide(low=np.zeros(60), high=np.ones(60), integers=False, **args)

    d = decided()
    assert (d.kind, d.scaling, d.input_shape) == ("sequence", "standard", (30, 2))
    assert "channel" in " ".join(d.reasons)
    assert decided(kind="table").input_shape == (60,)
    flat = decided(kind="sequence", sample_shape=(30,), source_kind="table")
    assert (flat.kind, flat.input_shape) == ("sequence", (30, 1))
    assert decided(input_shape=(15, 4), source_kind="table", sample_shape=(60,)).kind == "sequence"
    with pytest.raises(ConfigError, match="a sequence; use kind='sequence'"):
        decided(kind="table", input_shape=(30, 2))
    with pytest.raises(ConfigError, match=r"kind='sequence' needs samples \(length, channels\)"):
        decided(kind="sequence", sample_shape=(1, 8, 8), source_kind="image")


def test_per_channel_scaling_uses_statistics_over_samples_and_steps():
    x, _ = _waves()
    p = Preprocessing.fit(x, "standard", channels=2)
    scaled = p.transform(x)
    np.testing.assert_allclose(scaled.mean((0, 1)), 0, atol=1e-4)
    np.testing.assert_allclose(scaled.std((0, 1)), 1, atol=1e-3)
    assert scaled.std(0).std() > 0.1  # steps keep their own levels: not standardised one by one
    np.testing.assert_allclose(p.inverse_transform(scaled), x, rtol=1e-5, atol=1e-4)
    robust = Preprocessing.fit(x, "robust", channels=2)
    assert robust.shift.shape == (60,) and np.allclose(robust.shift[0::2], robust.shift[0])


def test_autoencoder_on_sequences_keeps_shapes_and_beats_chance_codes(tmp_path):
    x, y = _waves()
    ae = AutoEncoder(code_dim=4, epochs=60, random_state=0).fit(x)
    assert ae.kind_ == "sequence" and ae.model_.config.arch == SEQUENCE_DEFAULTS["arch"]
    assert ae.input_shape_ == (30, 2) and ae.decisions_.scaling == "standard"
    codes, recon = ae.transform(x), ae.reconstruct(x)
    assert codes.shape == (48, 4) and recon.shape == (48, 30, 2) and recon.dtype == np.float32
    # The channel on a 100x larger scale does not drown the other: per-channel error both small.
    error = ((recon - x) ** 2).mean((0, 1)) / x.var((0, 1))
    assert (error < 0.5).all(), error
    # Codes separate the two frequencies: each sequence's nearest other is of its class.
    d = ((codes[:, None] - codes[None]) ** 2).sum(-1) + np.eye(48) * 1e9
    assert (y[d.argmin(1)] == y).mean() > 0.9
    assert ae.inverse_transform(codes).shape == (48, 30, 2)
    ae.save(tmp_path / "m")
    back = AutoEncoder.load(tmp_path / "m")
    assert back.kind_ == "sequence" and back.reconstruct(x).shape == (48, 30, 2)
    np.testing.assert_allclose(back.transform(x), codes, rtol=1e-5, atol=1e-5)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["model"]["arch"] == "conv1d"
    with pytest.raises(DataError, match="expecting 60 features"):
        ae.transform(x[:, :20])


def test_options_override_the_sequence_defaults_and_the_rule_for_three_d_arrays():
    x, _ = _waves(n=16, length=10)
    assert default_model_options((10, 2)) == SEQUENCE_DEFAULTS and default_model_options((1, 8, 8)) == {}
    ae = AutoEncoder(code_dim=2, arch="gru", hidden=(8,), epochs=2).fit(x)
    assert ae.model_.config.arch == "gru" and ae.reconstruct(x).shape == (16, 10, 2)
    flat = AutoEncoder(code_dim=2, kind="sequence", epochs=2).fit(x[:, :, 0])  # (n, length): one channel
    assert flat.input_shape_ == (10, 1) and flat.reconstruct(x[:, :, 0]).shape == (16, 10)
    table = AutoEncoder(code_dim=2, kind="table", epochs=2).fit(x)
    assert table.kind_ == "table" and table.input_shape_ == (20,)
    grey = np.random.default_rng(0).random((16, 8, 8)).astype(np.float32)
    assert AutoEncoder(code_dim=2, epochs=1).fit(grey).kind_ == "image"
    assert AutoEncoder(code_dim=2, kind="sequence", epochs=1).fit(grey).input_shape_ == (8, 8)
    series = Dataset(x=x.reshape(-1, 2), y=None, kind="series", name="rec")
    with pytest.raises(DataError, match="rec is one long recording.*windows"):
        AutoEncoder(code_dim=2).fit(series)


def test_cli_fits_encodes_and_reconstructs_a_ts_file(tmp_path):
    x, y = _waves(n=30, length=16, channels=2)
    lines = ["@problemName waves", "@univariate false", "@dimensions 2", "@classLabel true low high", "@data"]
    for case, label in zip(x, y):
        lines.append(
            ":".join(",".join(f"{v:.5f}" for v in case[:, c]) for c in range(2)) + f":{'low high'.split()[label]}"
        )
    data = tmp_path / "waves.ts"
    data.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    result = runner.invoke(
        main, ["fit", str(data), "-o", str(tmp_path / "m"), "--code-dim", "3", "--epochs", "5", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "autoencoder MSE" in result.output
    result = runner.invoke(main, ["encode", str(tmp_path / "m"), str(data), "-o", str(tmp_path / "codes.npy")])
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "codes.npy").shape == (30, 3)
    result = runner.invoke(main, ["reconstruct", str(tmp_path / "m"), str(data), "-o", str(tmp_path / "r.npy")])
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "r.npy").shape == (30, 16, 2)
    assert load(data).x.shape == (30, 16, 2)
