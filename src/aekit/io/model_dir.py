"""Save and load a model directory. Nothing is ever unpickled.

::

    model/
      config.json        aekit version, model + train config, data spec, preprocessing
      model.safetensors  weights, plus the PCA baseline under ``baseline.pca.*``
      history.json       per-epoch train/validation loss and every term, wall time
      metrics.json       evaluation: reconstruction error beside PCA's at the same code size

Each file is written atomically. Loading checks every file and names the one
that is missing, truncated or does not match the config.

Loading never runs code from the directory: weights come from safetensors and
everything else from JSON, and every value is checked before it is used. A model
built with the user's own networks records their factories' import paths
(``"package.module:function"``) in config.json; loading imports those modules only
where the caller's ``trust_code`` lists them, and otherwise stops before importing
anything, naming the module. The
types of the config sections are checked against the config dataclasses, and
the network is first built on PyTorch's ``meta`` device (shapes only, no
memory), so a config that promises a model of absurd size is refused by
comparing it with the weights file before anything is allocated.

safetensors has no checksum of its own, so a bit flipped inside the float data
would still load. ``config.json`` therefore records the SHA-256 of every other
file it describes under ``"sha256"``, and loading verifies them (after the
structural checks, whose messages are more specific). A directory written before
the field existed has none and loads as before. ``config.json`` itself is not
hashed: it is meant to be readable and editable (a device, a data record), and
every value in it is validated instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import reprlib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from aekit._atomic import atomic_write_bytes, atomic_write_text
from aekit.analysis.baselines import PCABaseline
from aekit.config import DataConfig, ModelConfig, TrainConfig, from_dict, to_dict
from aekit.data.scaling import Preprocessing
from aekit.errors import AekitError, ConfigError, ModelFileError
from aekit.model import Autoencoder
from aekit.registry import LOSSES, TrustCode, check_trusted, own_networks

FORMAT = 1
CONFIG, WEIGHTS, HISTORY, METRICS = "config.json", "model.safetensors", "history.json", "metrics.json"
_PCA_PREFIX = "baseline."
_F32_MAX = float(np.finfo(np.float32).max)
_INT64_LIMIT = 2**63
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60


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
    #: scaling and input_shape as the user gave them; None in a directory written before they were recorded
    data_config: DataConfig | None = field(default_factory=DataConfig)


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
    from aekit._version import __version__

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelFileError(f"cannot create model directory {path}: {exc.strerror or exc}") from None
    tensors = {k: v.detach().cpu().contiguous() for k, v in saved.model.state_dict().items()}
    if saved.pca is not None:
        tensors.update({_PCA_PREFIX + k: v.contiguous() for k, v in saved.pca.to_tensors().items()})
    payloads = {
        WEIGHTS: st_save(tensors, metadata={"format": "aekit-model-1"}),
        HISTORY: json.dumps(saved.history, indent=1).encode("utf-8"),
        METRICS: json.dumps(saved.metrics, indent=1).encode("utf-8"),
    }
    config = {
        "aekit_version": __version__,
        "format": FORMAT,
        "model": to_dict(saved.model.config),
        "train": to_dict(saved.train_config),
        "data_config": to_dict(saved.data_config or DataConfig()),
        "data": saved.data,
        "preprocessing": saved.preprocessing.to_dict(),
        # safetensors and JSON carry no checksum: these catch a file damaged after saving.
        "sha256": {name: hashlib.sha256(payload).hexdigest() for name, payload in payloads.items()},
    }
    try:
        # config.json is the directory's commit mark: removed first and written last, so a save that
        # dies half way leaves a directory that says "config.json is missing", never old config
        # beside new weights.
        (path / CONFIG).unlink(missing_ok=True)
        atomic_write_bytes(path / WEIGHTS, payloads[WEIGHTS])
        atomic_write_text(path / HISTORY, payloads[HISTORY].decode("utf-8"))
        atomic_write_text(path / METRICS, payloads[METRICS].decode("utf-8"))
        atomic_write_text(path / CONFIG, json.dumps(config, indent=1))  # last: the directory is complete
    except OSError as exc:
        raise ModelFileError(f"cannot write the model directory {path}: {exc}") from None
    return path


def load(path: str | Path, trust_code: TrustCode = None) -> SavedModel:
    """Load a model directory written by :func:`save`.

    Parameters
    ----------
    path : path
        The model directory.
    trust_code : None or iterable of str, default None
        Modules the model's own encoder/decoder factories may be imported from:
        ``["mynets"]`` allows ``mynets`` and ``mynets.sub`` (not ``mynetsx``). By
        default nothing is imported.

    Raises
    ------
    ModelFileError
        Naming the file that is missing, unreadable, tampered with or inconsistent.
    ConfigError
        The model is built by factories in a module ``trust_code`` does not allow;
        nothing was imported.

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
    config_path = path / CONFIG
    config = _read_json(config_path, required=True)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else None
        raise ModelFileError(
            f"{config_path}: not an aekit model config of format {FORMAT} (found format {_short.repr(found)})"
        )
    try:
        _check_types(config.get("model"), ModelConfig, "model")
        _check_types(config.get("train"), TrainConfig, "train")
        _check_types(config.get("data_config", {}), DataConfig, "data_config")  # absent before it existed
        model_config = from_dict(ModelConfig, config["model"])
        train_config = from_dict(TrainConfig, config["train"])
        data_config = from_dict(DataConfig, config["data_config"]) if "data_config" in config else None
    except (KeyError, TypeError, ValueError, OverflowError, AekitError) as exc:
        raise ModelFileError(f"{config_path}: invalid model or train section ({exc})") from None
    for side, factory in own_networks(model_config).items():  # before anything is imported or built
        try:
            check_trusted(factory, trust_code, side)
        except ConfigError as exc:
            raise ConfigError(f"{config_path}: {exc}") from None
    preprocessing = _preprocessing(config.get("preprocessing", {}), model_config.n_features, config_path)
    data = config.get("data", {})
    if not isinstance(data, dict) or data.get("kind", "table") not in ("image", "table", "sequence"):
        raise ModelFileError(
            f"{config_path}: the data record must be a JSON object whose kind is 'image', 'table' or "
            f"'sequence', got {_short.repr(data)}"
        )
    checksums = _checksums(config, config_path)

    weights_path = path / WEIGHTS
    if not weights_path.is_file():
        raise ModelFileError(f"{weights_path} is missing; the model directory is incomplete")
    try:
        raw = weights_path.read_bytes()
        tensors = st_load(raw)
    except (SafetensorError, ValueError, OSError) as exc:
        raise ModelFileError(f"{weights_path} is truncated or not a safetensors file ({exc})") from None
    _verify(weights_path, raw, checksums)

    expected = _expected_state(model_config, tensors, config_path, weights_path, trust_code)
    weights = {k: v for k, v in tensors.items() if not k.startswith(_PCA_PREFIX)}
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"{weights_path} does not match {CONFIG}: missing tensors {missing[:5]}, unexpected tensors {extra[:5]}"
        )
    for name, value in weights.items():
        if value.shape != expected[name].shape:
            raise ModelFileError(
                f"{weights_path}: tensor {name!r} has shape {tuple(value.shape)}, "
                f"{CONFIG} implies {tuple(expected[name].shape)}"
            )
        if value.dtype != expected[name].dtype:
            raise ModelFileError(
                f"{weights_path}: tensor {name!r} has dtype {value.dtype}, {CONFIG} implies {expected[name].dtype}"
            )
        if not torch.isfinite(value).all():
            raise ModelFileError(f"{weights_path}: tensor {name!r} holds non-finite values")
    # Shapes now match the file, so building the real network allocates no more than the file holds.
    model = _build(model_config, config_path, trust_code)
    model.load_state_dict(weights)
    model.eval()

    pca = _pca(
        {k[len(_PCA_PREFIX) :]: v for k, v in tensors.items() if k.startswith(_PCA_PREFIX)},
        model_config.n_features,
        weights_path,
    )
    history = _read_json(path / HISTORY, required=False, checksums=checksums)
    metrics = _read_json(path / METRICS, required=False, checksums=checksums)
    if not isinstance(history, (list, type(None))) or not isinstance(metrics, (dict, type(None))):
        bad = HISTORY if not isinstance(history, (list, type(None))) else METRICS
        raise ModelFileError(
            f"{path / bad} holds a JSON {type(history if bad == HISTORY else metrics).__name__}; "
            f"expected {'a list of epochs' if bad == HISTORY else 'an object'}"
        )
    return SavedModel(model, train_config, preprocessing, pca, history or [], metrics or {}, data, data_config)


# -- validation of untrusted files ---------------------------------------------------------
def _read_json(path: Path, required: bool, checksums: dict[str, str] | None = None) -> Any:
    if not path.is_file():
        if required:
            raise ModelFileError(
                f"{path} is missing; is {path.parent} an aekit model directory? (a save that was "
                "interrupted leaves it out: save again, or rerun `aekit fit` with --resume)"
            )
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path} cannot be read ({exc.strerror or exc})") from None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelFileError(f"{path} is not valid JSON ({what}); the file is truncated or corrupt") from None
    if checksums is not None:
        _verify(path, raw, checksums)
    return value


def _checksums(config: dict[str, Any], source: Path) -> dict[str, str]:
    """The ``sha256`` record of config.json ({} for a directory saved before it existed)."""
    record = config.get("sha256", {})
    if not isinstance(record, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(v) == 64 for k, v in record.items()
    ):
        raise ModelFileError(
            f"{source}: the sha256 record must map file names to 64 hex digits, got {_short.repr(record)}"
        )
    return record


def _verify(path: Path, raw: bytes, checksums: dict[str, str]) -> None:
    wanted = checksums.get(path.name)
    if wanted is not None and hashlib.sha256(raw).hexdigest() != wanted.lower():
        raise ModelFileError(
            f"{path} does not match the SHA-256 recorded in {CONFIG}: the file was changed or "
            "damaged after it was saved (restore it, or train the model again)"
        )


def _spell(hint: Any) -> str:
    """A type hint of a config field in words."""
    words = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string", type(None): "null"}
    if hint in words:
        return words[hint]
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_spell(a) for a in args)
    if typing.get_origin(hint) is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list, each {_spell(args[0])}"
        return f"a list of {len(args)}: {', '.join(_spell(a) for a in args)}"
    return str(hint)


def _matches(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a config field's type hint (ints within int64, floats finite)."""
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) < _INT64_LIMIT
    if hint is float:
        if isinstance(value, int) and not isinstance(value, bool):
            return abs(value) < _INT64_LIMIT
        return isinstance(value, float) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(value) == len(args) and all(_matches(v, a) for v, a in zip(value, args))
    return True  # a hint this checker does not know: the dataclass validates it


def _check_types(section: Any, cls: type, name: str) -> None:
    """Refuse a config section whose values do not have the JSON types of ``cls``'s fields.

    The dataclasses check ranges; this runs first so that a string, a list or a NaN
    where a number belongs gets a message naming the option, not a TypeError
    from deep inside a constructor.
    """
    if not isinstance(section, dict):
        raise ModelFileError(f"the {name} section must be a JSON object, got {_short.repr(section)}")
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in section and not _matches(section[f.name], hints[f.name]):
            raise ModelFileError(f"{name}.{f.name}={_short.repr(section[f.name])} must be {_spell(hints[f.name])}")


def _preprocessing(data: Any, n_features: int, source: Path) -> Preprocessing:
    """The preprocessing section, with every shift and scale a finite float32 number."""
    if not isinstance(data, dict):
        raise ModelFileError(f"{source}: the preprocessing section must be a JSON object, got {_short.repr(data)}")
    for key in ("shift", "scale"):
        values = data.get(key, [])
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= _F32_MAX
            for v in values
        ):
            raise ModelFileError(
                f"{source}: preprocessing {key} must be a list of finite float32 numbers, got {_short.repr(values)}"
            )
    return Preprocessing.from_dict(data, n_features, str(source))


def _build(config: ModelConfig, source: Path, trust_code: TrustCode) -> Autoencoder:
    """The network of ``config``; a config its components refuse is named as the file's fault."""
    try:
        return Autoencoder(config, trust_code)
    except (AekitError, TypeError, ValueError, KeyError, IndexError, OverflowError, RuntimeError) as exc:
        raise ModelFileError(
            f"{source}: the model section does not describe a network aekit can build ({exc})"
        ) from None


def _expected_state(
    config: ModelConfig, tensors: dict[str, torch.Tensor], source: Path, weights_path: Path, trust_code: TrustCode
) -> dict[str, torch.Tensor]:
    """Names, shapes and dtypes the config implies, found without allocating the network.

    The network is built on the ``meta`` device. The ``ce`` loss computes with a tensor
    while it is built, which the meta device cannot do; its network is the same as the
    ``mse`` loss's, so that one is built on the meta device and the loss module (one
    number per feature) for real, once the feature count has been checked against the
    file: the first layer alone holds that many values.
    """
    try:
        try:
            with torch.device("meta"):
                return Autoencoder(config, trust_code).state_dict()
        except RuntimeError:
            if config.loss != "ce":
                raise
        with torch.device("meta"):
            probe = Autoencoder(dataclasses.replace(config, loss="mse", categorical=None), trust_code)
        values = sum(t.numel() for t in tensors.values())
        if config.n_features > values:
            raise ModelFileError(
                f"{weights_path} holds {values} values, too few for the {config.n_features} "
                f"features in {CONFIG}: the two files do not belong together"
            )
        state = {k: v for k, v in probe.state_dict().items() if not k.startswith("recon_loss.")}
        state.update({f"recon_loss.{k}": v for k, v in LOSSES.get(config.loss)(config).state_dict().items()})
        return state
    except ModelFileError:
        raise
    except (AekitError, TypeError, ValueError, KeyError, IndexError, OverflowError, RuntimeError) as exc:
        raise ModelFileError(
            f"{source}: the model section does not describe a network aekit can build ({exc})"
        ) from None


def _pca(tensors: dict[str, torch.Tensor], n_features: int, weights_path: Path) -> PCABaseline | None:
    """The PCA baseline stored beside the weights, checked for shapes and finite values."""
    if not tensors:
        return None
    wanted = {"pca/components": 2, "pca/mean": 1, "pca/explained_variance": 1}
    missing = sorted(set(wanted) - set(tensors))
    if missing:
        raise ModelFileError(f"{weights_path}: incomplete PCA baseline (missing {missing})")
    comps, mean, var = (tensors[k] for k in wanted)
    if (
        any(tensors[k].ndim != nd or not tensors[k].is_floating_point() for k, nd in wanted.items())
        or comps.shape[1] != n_features
        or mean.shape != (n_features,)
        or var.shape != (comps.shape[0],)
    ):
        raise ModelFileError(
            f"{weights_path}: PCA baseline has components {tuple(comps.shape)}, mean "
            f"{tuple(mean.shape)} and variances {tuple(var.shape)}; the model has "
            f"{n_features} features"
        )
    if not all(torch.isfinite(t).all() for t in (comps, mean, var)):
        raise ModelFileError(f"{weights_path}: PCA baseline holds non-finite values")
    return PCABaseline.from_tensors(tensors)
