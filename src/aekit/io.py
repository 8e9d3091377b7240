"""Save and load a model directory. Nothing is ever unpickled.

::

    model/
      config.json        aekit version, model + train config, data spec, preprocessing
      model.safetensors  weights, plus the PCA baseline under ``baseline.pca.*``
      history.json       per-epoch train/validation loss and every term, wall time
      metrics.json       evaluation: reconstruction error beside PCA's at the same code size

Each file is written atomically. Loading checks every file and names the one
that is missing, truncated or does not match the config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from aekit._atomic import atomic_write_bytes, atomic_write_text
from aekit.analysis.baselines import PCABaseline
from aekit.config import ModelConfig, TrainConfig, from_dict, to_dict
from aekit.errors import AekitError, ModelFileError
from aekit.model import Autoencoder
from aekit.preprocess import Preprocessing

FORMAT = 1
CONFIG, WEIGHTS, HISTORY, METRICS = "config.json", "model.safetensors", "history.json", "metrics.json"
_PCA_PREFIX = "baseline."


@dataclass
class SavedModel:
    """Everything a model directory holds, loaded."""

    model: Autoencoder
    train_config: TrainConfig
    preprocessing: Preprocessing
    pca: PCABaseline | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def save(path: str | Path, saved: SavedModel) -> Path:
    """Write ``saved`` as a model directory at ``path`` (created if needed).

    Examples
    --------
    >>> import tempfile
    >>> from aekit.config import ModelConfig, TrainConfig
    >>> m = SavedModel(Autoencoder(ModelConfig(input_shape=(4,), code_dim=2)), TrainConfig(), Preprocessing())
    >>> d = save(tempfile.mkdtemp() + "/m", m)
    >>> sorted(p.name for p in d.iterdir())
    ['config.json', 'history.json', 'metrics.json', 'model.safetensors']
    """
    from aekit import __version__

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelFileError(f"cannot create model directory {path}: {exc.strerror or exc}") from None
    tensors = {k: v.detach().cpu().contiguous() for k, v in saved.model.state_dict().items()}
    if saved.pca is not None:
        tensors.update({_PCA_PREFIX + k: v.contiguous() for k, v in saved.pca.to_tensors().items()})
    config = {
        "aekit_version": __version__,
        "format": FORMAT,
        "model": to_dict(saved.model.config),
        "train": to_dict(saved.train_config),
        "data": saved.data,
        "preprocessing": saved.preprocessing.to_dict(),
    }
    try:
        atomic_write_bytes(path / WEIGHTS, st_save(tensors, metadata={"format": "aekit-model-1"}))
        atomic_write_text(path / HISTORY, json.dumps(saved.history, indent=1))
        atomic_write_text(path / METRICS, json.dumps(saved.metrics, indent=1))
        atomic_write_text(path / CONFIG, json.dumps(config, indent=1))
    except OSError as exc:
        raise ModelFileError(f"cannot write the model directory {path}: {exc.strerror or exc}") from None
    return path


def load(path: str | Path) -> SavedModel:
    """Load a model directory written by :func:`save`.

    Raises
    ------
    ModelFileError
        Naming the file that is missing, unreadable or inconsistent.

    Examples
    --------
    >>> import tempfile
    >>> from aekit.config import ModelConfig, TrainConfig
    >>> m = SavedModel(Autoencoder(ModelConfig(input_shape=(4,), code_dim=2)), TrainConfig(), Preprocessing())
    >>> load(save(tempfile.mkdtemp() + "/m", m)).model.config.code_dim
    2
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"model directory {path} does not exist (train one with `aekit fit DATA -o {path}`)")
    config = _read_json(path / CONFIG, required=True)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path / CONFIG}: not an aekit model config of format {FORMAT} "
                             f"(found format {config.get('format') if isinstance(config, dict) else None!r})")
    try:
        model_config = from_dict(ModelConfig, config["model"])
        train_config = from_dict(TrainConfig, config["train"])
    except (KeyError, TypeError, AekitError) as exc:
        raise ModelFileError(f"{path / CONFIG}: invalid model or train section ({exc})") from None
    preprocessing = Preprocessing.from_dict(config.get("preprocessing", {}), model_config.n_features,
                                            str(path / CONFIG))

    weights_path = path / WEIGHTS
    if not weights_path.is_file():
        raise ModelFileError(f"{weights_path} is missing; the model directory is incomplete")
    try:
        tensors = st_load(weights_path.read_bytes())
    except (SafetensorError, ValueError, OSError) as exc:
        raise ModelFileError(f"{weights_path} is truncated or not a safetensors file ({exc})") from None

    model = Autoencoder(model_config)
    expected = model.state_dict()
    weights = {k: v for k, v in tensors.items() if not k.startswith(_PCA_PREFIX)}
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise ModelFileError(f"{weights_path} does not match {CONFIG}: missing tensors {missing[:5]}, "
                             f"unexpected tensors {extra[:5]}")
    for name, value in weights.items():
        if value.shape != expected[name].shape:
            raise ModelFileError(f"{weights_path}: tensor {name!r} has shape {tuple(value.shape)}, "
                                 f"{CONFIG} implies {tuple(expected[name].shape)}")
        if not torch.isfinite(value).all():
            raise ModelFileError(f"{weights_path}: tensor {name!r} holds non-finite values")
    model.load_state_dict(weights)
    model.eval()

    pca_tensors = {k[len(_PCA_PREFIX):]: v for k, v in tensors.items() if k.startswith(_PCA_PREFIX)}
    pca = None
    if pca_tensors:
        try:
            pca = PCABaseline.from_tensors(pca_tensors)
        except KeyError as exc:
            raise ModelFileError(f"{weights_path}: incomplete PCA baseline (missing {exc})") from None
        if pca.components_.shape[1] != model_config.n_features:
            raise ModelFileError(f"{weights_path}: PCA baseline has {pca.components_.shape[1]} features, "
                                 f"the model {model_config.n_features}")
    history = _read_json(path / HISTORY, required=False) or []
    metrics = _read_json(path / METRICS, required=False) or {}
    return SavedModel(model, train_config, preprocessing, pca, history, metrics, config.get("data", {}))


def _read_json(path: Path, required: bool) -> Any:
    if not path.is_file():
        if required:
            raise ModelFileError(f"{path} is missing; is {path.parent} an aekit model directory?")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} is not valid JSON ({exc}); the file is truncated or corrupt") from None
