"""The trainer: convergence, determinism, exact resume, Ctrl-C, non-finite loss,
early stopping and the learning-rate schedule."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors import safe_open

from aekit.config import ModelConfig, TrainConfig
from aekit.errors import ConfigError, DataError, TrainingError, TrainingInterrupted
from aekit.model import Autoencoder
from aekit.train import CHECKPOINT_FILE, Trainer, lr_at, resolve_device, resolve_precision


def _model(seed: int = 0, shape=(1, 8, 8)) -> Autoencoder:
    torch.manual_seed(seed)
    return Autoencoder(ModelConfig(input_shape=shape, code_dim=3))


def _weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.state_dict().values()])


class _Fault:
    """Wraps a model's loss: raises or returns NaN at a chosen optimiser step."""

    def __init__(self, model, at_call: int, kind: str):
        self.model, self.at_call, self.kind, self.calls = model, at_call, kind, 0
        self.original = model.loss

    def __call__(self, x):
        if self.model.training:
            self.calls += 1
            if self.calls == self.at_call:
                if self.kind == "interrupt":
                    raise KeyboardInterrupt
                out = self.original(x)
                out["loss"] = out["loss"] * float("nan")
                return out
        return self.original(x)


CFG = TrainConfig(epochs=6, batch_size=32, patience=None, seed=3, precision="fp32")


def test_training_lowers_the_loss(images):
    model = _model()
    history = Trainer(model, TrainConfig(epochs=15, batch_size=32, precision="fp32"), progress=False).fit(
        torch.from_numpy(images)
    )
    assert history[-1]["val"]["loss"] < 0.7 * history[0]["val"]["loss"]
    assert set(history[0]) == {"epoch", "train", "val", "lr", "seconds", "samples_per_s"}
    assert history[0]["samples_per_s"] > 0


def test_same_seed_gives_identical_weights(images):
    x = torch.from_numpy(images)
    a, b = _model(), _model()
    Trainer(a, CFG, progress=False).fit(x)
    Trainer(b, CFG, progress=False).fit(x)
    assert torch.equal(_weights(a), _weights(b))
    c = _model()
    Trainer(c, TrainConfig(**{**CFG.__dict__, "seed": 4}), progress=False).fit(x)
    assert not torch.equal(_weights(a), _weights(c))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("stop_epoch", [1, 3, 5])
def test_interrupted_then_resumed_equals_uninterrupted(images, tmp_path, stop_epoch, precision):
    x = torch.from_numpy(images)
    cfg = TrainConfig(**{**CFG.__dict__, "precision": precision, "patience": 2})
    reference = _model()
    ref_history = Trainer(reference, cfg, checkpoint_dir=tmp_path / "ref", progress=False).fit(x)

    steps_per_epoch = math.ceil(len(x) * 0.9 / cfg.batch_size)
    interrupted = _model()
    interrupted.loss = _Fault(interrupted, stop_epoch * steps_per_epoch + 2, "interrupt")
    with pytest.raises(TrainingInterrupted, match=rf"finished epochs \(1-{stop_epoch}\) are saved in .*--resume"):
        Trainer(interrupted, cfg, checkpoint_dir=tmp_path / "run", progress=False).fit(x)

    resumed = _model(seed=99)  # a fresh process: weights come from the checkpoint, not the seed
    trainer = Trainer(resumed, cfg, checkpoint_dir=tmp_path / "run", progress=False)
    history = trainer.fit(x, resume=True)
    assert torch.equal(_weights(resumed), _weights(reference))
    assert [h["train"] for h in history] == [h["train"] for h in ref_history]
    assert len(history) == len(ref_history)


def test_resume_without_checkpoint_starts_fresh(images, tmp_path):
    x = torch.from_numpy(images)
    a, b = _model(), _model()
    Trainer(a, CFG, progress=False).fit(x)
    Trainer(b, CFG, checkpoint_dir=tmp_path / "none", progress=False).fit(x, resume=True)
    assert torch.equal(_weights(a), _weights(b))


def test_checkpoint_holds_everything_and_no_pickle(images, tmp_path):
    Trainer(_model(), CFG, checkpoint_dir=tmp_path, progress=False).fit(torch.from_numpy(images))
    path = tmp_path / CHECKPOINT_FILE
    assert path.read_bytes()[:2] != b"\x80\x04"  # not a pickle stream
    with safe_open(str(path), framework="pt") as fh:
        keys = set(fh.keys())
        meta = json.loads(fh.metadata()["meta"])
    assert {"rng/torch", "rng/shuffle"} <= keys
    assert any(k.startswith("optim/") for k in keys) and any(k.startswith("model/") for k in keys)
    assert meta["state"]["epoch"] == CFG.epochs and len(meta["history"]) == CFG.epochs
    assert not list(tmp_path.glob("*.tmp")) and len(list(tmp_path.iterdir())) == 1


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(images, tmp_path):
    x = torch.from_numpy(images)
    model = _model()
    steps_per_epoch = math.ceil(len(x) * 0.9 / CFG.batch_size)
    model.loss = _Fault(model, 2 * steps_per_epoch + 1, "nan")
    with pytest.raises(
        TrainingError,
        match=r"loss became nan at epoch 3, batch 1; the last good checkpoint "
        r"\(epoch 2\) is intact",
    ):
        Trainer(model, CFG, checkpoint_dir=tmp_path, progress=False).fit(x)
    with safe_open(str(tmp_path / CHECKPOINT_FILE), framework="pt") as fh:
        meta = json.loads(fh.metadata()["meta"])
        assert all(torch.isfinite(fh.get_tensor(k)).all() for k in fh.keys() if k.startswith("model/"))
    assert meta["state"]["epoch"] == 2


def test_early_stopping_restores_the_best_weights(images):
    x = torch.from_numpy(images)
    cfg = TrainConfig(epochs=40, batch_size=16, lr=0.05, schedule="constant", patience=2, seed=0, precision="fp32")
    model = _model()
    trainer = Trainer(model, cfg, progress=False)
    history = trainer.fit(x)
    vals = [h["val"]["loss"] for h in history]
    assert trainer.stopped_early and len(history) < cfg.epochs
    assert trainer.best_epoch == vals.index(min(vals)) + 1 < len(history)  # the last epoch was worse
    # the restored model scores the best validation loss, not the last one
    assert trainer._evaluate(_val_split(x, cfg))["loss"] == pytest.approx(min(vals), rel=1e-5)


def _val_split(x, cfg):
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))
    n_val = int(round(len(x) * cfg.val_fraction))
    return x[order[len(x) - n_val :]]


def test_resume_with_other_options_is_refused(images, tmp_path):
    x = torch.from_numpy(images)
    Trainer(_model(), CFG, checkpoint_dir=tmp_path, progress=False).fit(x)
    other = TrainConfig(**{**CFG.__dict__, "lr": 0.1})
    with pytest.raises(ConfigError, match=r"different training options \['lr'\]"):
        Trainer(_model(), other, checkpoint_dir=tmp_path, progress=False).fit(x, resume=True)


def test_corrupt_checkpoint_is_named(images, tmp_path):
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"\x00" * 20)
    with pytest.raises(TrainingError, match=r"checkpoint .*checkpoint.safetensors is unreadable"):
        Trainer(_model(), CFG, checkpoint_dir=tmp_path, progress=False).fit(torch.from_numpy(images), resume=True)


def test_one_sample_is_refused():
    with pytest.raises(DataError, match="at least 2 samples, got n_samples=1"):
        Trainer(_model(), CFG, progress=False).fit(torch.rand(1, 1, 8, 8))


def test_onecycle_schedule_shape():
    cfg = TrainConfig(lr=1e-2, warmup=0.2)
    lrs = [lr_at(cfg, s, 100) for s in range(101)]
    assert lrs[0] == pytest.approx(1e-2 / 25)
    assert max(lrs) == pytest.approx(1e-2) and lrs.index(max(lrs)) == 20
    assert lrs[-1] == pytest.approx(1e-6)
    assert lr_at(TrainConfig(schedule="constant", lr=3e-3), 50, 100) == 3e-3


def test_device_and_precision_resolution():
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    assert resolve_precision("fp32", torch.device("cpu")) is None
    assert resolve_precision("bf16", torch.device("cpu")) == torch.bfloat16
    with pytest.raises(ConfigError, match="device='gpu0' is not a torch device"):
        resolve_device("gpu0")


@pytest.mark.parametrize(
    "options,match",
    [
        ({"epochs": 0}, "epochs=0 must be a positive integer"),
        ({"lr": -1.0}, "lr=-1.0 must be a positive finite number"),
        ({"optimizer": "sgd"}, "optimizer='sgd' is not one of: adam, adamw"),
        ({"val_fraction": 1.0}, r"val_fraction=1.0 must be in \[0, 1\)"),
        ({"precision": "fp8"}, "precision='fp8' is not one of"),
    ],
)
def test_bad_train_options_are_named(options, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**options)


def test_on_epoch_end_sees_every_finished_epoch(images):
    seen = []
    Trainer(
        _model(),
        TrainConfig(epochs=3, batch_size=16, patience=None),
        progress=False,
        on_epoch_end=lambda record, model: seen.append((record["epoch"], model)),
    ).fit(torch.from_numpy(images))
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    assert all(isinstance(model, Autoencoder) for _, model in seen)


def test_a_batch_source_trains_like_the_tensor_it_wraps(images):
    """A source passed directly (here the default one) with its own validation set
    gives the weights the tensor path gives for the same split."""
    from aekit.train import TensorBatches

    cfg = TrainConfig(epochs=2, batch_size=16)
    x = torch.from_numpy(images).float()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))
    n_val = int(round(len(x) * cfg.val_fraction))
    direct = _model()
    Trainer(direct, cfg, progress=False).fit(
        TensorBatches(x[order[: len(x) - n_val]]), validation=x[order[len(x) - n_val :]]
    )
    wrapped = _model()
    Trainer(wrapped, cfg, progress=False).fit(x)
    assert torch.equal(_weights(direct), _weights(wrapped))
