"""Code-size sweeps: one model per (variant, code size), each beside PCA at that size.

How much does the code size buy, and does the autoencoder beat the closed-form
linear answer at every size? :func:`run_sweep` splits the data once, trains one
:class:`aekit.AutoEncoder` per combination, evaluates it on the held-out rows
(beside PCA fitted on the same training rows with as many components as the code
has numbers) and writes a table and a plot.

A sweep is resumable. Its folder holds::

    sweep.json                 the settings; a later run with other settings is refused
    runs/<variant>-k<k>.json   one per finished combination, written atomically: the "done" mark
    checkpoints/<variant>-k<k>/  while a combination trains: its per-epoch checkpoint
    models/<variant>-k<k>/     the model directory (save_models=True), loadable with aekit.load
    sweep.md, sweep.csv, sweep.png
    .lock                      held while a sweep runs here, so a second one is refused

Run the same sweep again after an interruption and the finished combinations are
read back instead of retrained; the one that was training resumes from its last
finished epoch, ending with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from aekit._atomic import atomic_write_text, make_dir
from aekit.analysis.sweep_tables import COLUMNS, csv_table, markdown_table, write_outputs  # noqa: F401
from aekit.errors import AekitError, ConfigError, ModelFileError, TrainingInterrupted

FORMAT = "aekit-sweep-1"
SETTINGS_FILE = "sweep.json"
# The sweep sets these itself for every combination; passing them would be ignored or contradictory.
_OWN_OPTIONS = {
    "code_dim": "code_dims",
    "variant": "variants",
    "random_state": "seed",
    "checkpoint_dir": "out_dir",
    "resume": "(always on)",
    "verbose": "progress",
}


#: (row key, table heading, CSV column) in table order.
def run_sweep(
    data: Any,
    code_dims: Any,
    out_dir: str | Path,
    *,
    variants: Any = ("plain",),
    epochs: int | None = None,
    seed: int = 0,
    test_size: float = 0.2,
    limit: int | None = None,
    save_models: bool = True,
    progress: bool = True,
    **options: Any,
) -> list[dict[str, Any]]:
    """Train every (variant, code size) combination, evaluate each beside PCA, write table and plot.

    Parameters
    ----------
    data : str, path or aekit.data.Dataset
        A data spec (``"builtin:digits"``, a file or folder; see :func:`aekit.data.load`)
        or a loaded Dataset. Split once: the source's own test split where it has
        one, else a seeded ``test_size`` share of the rows.
    code_dims : sequence of int
        Code sizes to train, e.g. ``[2, 8, 16, 32, 64]``; sorted, duplicates dropped.
    out_dir : path
        The sweep's folder (see the module docstring); created if needed. A folder
        holding a sweep with the same settings is continued, not retrained.
    variants : sequence of str, default ("plain",)
        Names from ``aekit.registry.VARIANTS``.
    epochs : int, optional
        Training epochs of every model (default: the estimator's).
    seed : int, default 0
        Seeds the split and every model (``random_state``).
    test_size : float, default 0.2
        Held-out share when the source has no test split of its own.
    limit : int, optional
        Only the first ``limit`` rows (quick runs).
    save_models : bool, default True
        Also write each model directory to ``out_dir/models/<variant>-k<k>``.
    progress : bool, default True
        A progress bar over the combinations (tqdm, on stderr).
    **options
        Any other :class:`aekit.AutoEncoder` option (``batch_size``, ``lr``,
        ``hidden``, ``arch``, ...), the same for every combination.

    Returns
    -------
    list of dict
        One row per combination, variants in the order given, code sizes ascending:
        ``variant``, ``code_dim``, ``compression_ratio`` (input features / code size),
        ``mse`` and ``pca_mse`` (mean squared error per feature on the held-out
        rows), ``gain_vs_pca`` (1 - mse / pca_mse: positive when the autoencoder
        wins), ``train_seconds`` (the training epochs' seconds from the model's
        history, validation and checkpoint writes left out; a model resumed after
        an interruption counts the epochs before it too, as its history holds them),
        ``epochs_run`` (fewer than ``epochs`` when early stopping ended
        training), ``best_epoch`` (whose weights were kept), ``n_test``.

    Raises
    ------
    ConfigError
        A code size that is not a positive integer, an unknown variant or option,
        a combination whose model cannot be built, or ``out_dir`` holding a sweep
        with other settings (the message names each setting that differs).
    TrainingInterrupted
        Ctrl-C: the message says how many combinations are finished and that
        running the same sweep again continues it.

    Examples
    --------
    >>> import tempfile
    >>> rows = run_sweep("builtin:digits", [2, 8], tempfile.mkdtemp(), epochs=1, limit=300, progress=False)
    >>> [(row["variant"], row["code_dim"], row["compression_ratio"]) for row in rows]
    [('plain', 2, 32.0), ('plain', 8, 8.0)]
    >>> sorted(rows[0])[:4]
    ['best_epoch', 'code_dim', 'compression_ratio', 'epochs_run']
    """
    # Imported here: aekit.estimators.autoencoder imports aekit.analysis, which exports this module.
    from aekit import data as data_module
    from aekit.estimators.autoencoder import AutoEncoder

    dims = _check_code_dims(code_dims)
    names = _check_variants(variants)
    for key in options:
        if key in _OWN_OPTIONS:
            raise ConfigError(f"{key}= is set by the sweep for every model; use {_OWN_OPTIONS[key]} instead")
    if epochs is not None:
        options["epochs"] = epochs
    try:
        template = AutoEncoder(code_dim=dims[0], variant=names[0], random_state=seed, **options)
    except TypeError as exc:
        allowed = sorted(set(AutoEncoder().get_params()) - set(_OWN_OPTIONS))
        raise ConfigError(f"unknown AutoEncoder option in the sweep ({exc}); allowed: {allowed}") from None

    if isinstance(data, data_module.Dataset):
        ds = data if limit is None or len(data) <= limit else data.subset(slice(0, limit))
    else:
        ds = data_module.load(data, limit=limit, missing="mask")
    train, test = ds.split(test_size=test_size, seed=seed)
    out = Path(out_dir)
    settings = _settings(ds, train, test, template, seed, test_size, limit)
    _preflight(AutoEncoder, train, dims, names, seed, options)
    make_dir(out)
    with _lock(out):
        _claim(out, settings, dims, names)
        combos = [(v, k) for v in names for k in dims]
        rows = _train_all(AutoEncoder, out, combos, train, test, settings, options, save_models, progress)
        write_outputs(rows, out, settings)
    return rows


def _train_all(
    AutoEncoder,
    out: Path,
    combos: list[tuple[str, int]],
    train,
    test,
    settings: dict[str, Any],
    options: dict[str, Any],
    save_models: bool,
    progress: bool,
) -> list[dict[str, Any]]:
    """Each combination's row, in ``combos`` order: read back when finished, else trained now."""
    from aekit.train import remove_checkpoint

    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for v, k in combos:
        row = _read_run(out, v, k, settings)
        if row is not None:
            rows[v, k] = row
            # A kill between writing the run and removing its checkpoint leaves one behind.
            remove_checkpoint(out / "checkpoints" / _name(v, k))
    bar = _bar(progress, len(combos), len(rows))
    try:
        for v, k in combos:
            if (v, k) in rows:
                continue
            if bar is not None:
                bar.set_description(f"sweep: {v} k={k}")
            est = AutoEncoder(code_dim=k, variant=v, random_state=settings["seed"], **options)
            rows[v, k] = _train_one(est, out, v, k, train, test, settings, save_models)
            if bar is not None:
                row = rows[v, k]
                bar.set_postfix_str(f"{v} k={k}: MSE {row['mse']:.4g} vs PCA {row['pca_mse']:.4g}")
                bar.update(1)
    except KeyboardInterrupt:  # TrainingInterrupted too: it subclasses KeyboardInterrupt
        raise TrainingInterrupted(
            f"sweep interrupted: {len(rows)} of {len(combos)} models are finished in {out / 'runs'}, and the one "
            f"that was training resumes from its last finished epoch. To continue: run the same sweep again "
            f"(same DATA, options and output folder {out})"
        ) from None
    finally:
        if bar is not None:
            bar.close()
    with contextlib.suppress(OSError):  # empty once every model is finished
        (out / "checkpoints").rmdir()
    return [rows[c] for c in combos]


def _check_code_dims(code_dims: Any) -> list[int]:
    dims = [code_dims] if isinstance(code_dims, (int, np.integer)) else list(code_dims)
    if not dims:
        raise ConfigError("code_dims is empty; give at least one code size, e.g. [2, 8, 32]")
    for k in dims:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"code size {k!r} in code_dims must be a positive integer")
    return sorted({int(k) for k in dims})


def _check_variants(variants: Any) -> list[str]:
    from aekit.registry import VARIANTS

    names = [variants] if isinstance(variants, str) else list(variants)
    if not names:
        raise ConfigError(f"variants is empty; give at least one of: {', '.join(VARIANTS.names())}")
    for name in names:
        if name not in VARIANTS.names():
            raise ConfigError(f"variant {name!r} is not one of: {', '.join(VARIANTS.names())}")
    return list(dict.fromkeys(names))


def _preflight(AutoEncoder, train, dims: list[int], names: list[str], seed: int, options: dict) -> None:
    """Build every combination's configs before training any, so a bad one fails in seconds, not hours."""
    for v in names:
        for k in dims:
            est = AutoEncoder(code_dim=k, variant=v, random_state=seed, **options)
            try:
                est.train_config()
                if train.frame is None:  # a table's schema sets its width at fit time
                    est.model_config(train.x.shape[1:])
            except ConfigError as exc:
                raise ConfigError(f"variant {v!r} with code size {k}: {exc}") from None


# -- the sweep's folder ------------------------------------------------------------------
def _settings(ds, train, test, template, seed: int, test_size: float, limit: int | None) -> dict[str, Any]:
    """Everything a finished run's numbers depend on; a continued sweep must match it exactly."""
    split = "source" if ds.is_test is not None and ds.is_test.any() and not ds.is_test.all() else "random"
    params = {k: v for k, v in template.get_params().items() if k not in _OWN_OPTIONS}
    data = {
        "spec": ds.name,
        "n": len(ds),
        "limit": limit,
        "n_features": int(math.prod(ds.x.shape[1:])),
        "sha256": hashlib.sha256(np.ascontiguousarray(ds.x).tobytes()).hexdigest()[:16],
        "split": split,
        "test_size": test_size,
        "n_train": len(train),
        "n_test": len(test),
        "columns": ds.columns,
    }
    # A JSON round trip, so tuples and lists (and Paths and strings) compare as they will when read back.
    return json.loads(json.dumps({"data": data, "seed": seed, **params}, default=str))


def _digest(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _claim(out: Path, settings: dict[str, Any], dims: list[int], names: list[str]) -> None:
    """Write ``sweep.json``, or check that the one there holds the same settings."""
    path = out / SETTINGS_FILE
    if path.exists():
        try:
            saved = json.loads(path.read_text())
            old = saved["settings"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(
                f"{path} is unreadable ({exc}); delete the folder {out} to start the sweep over"
            ) from None
        if old != settings:
            before, now = _flat(old), _flat(settings)
            diff = [
                f"{k}: was {before.get(k)!r}, now {now.get(k)!r}"
                for k in sorted(set(before) | set(now))
                if before.get(k) != now.get(k)
            ]
            raise ConfigError(
                f"{out} holds a sweep with other settings ({'; '.join(diff)}); its finished models "
                f"would not be comparable. Use another output folder, or the same settings to "
                f"continue it"
            )
    make_dir(out)
    atomic_write_text(
        path,
        json.dumps(
            {"format": FORMAT, "settings": settings, "digest": _digest(settings), "code_dims": dims, "variants": names},
            indent=1,
        ),
    )


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """One sweep per folder at a time: two would train the same model into one checkpoint.

    An advisory ``flock`` on ``out/.lock``: the system drops it when the process
    ends, however it ends, so a killed sweep never leaves a stale lock behind.
    """
    try:
        import fcntl
    except ImportError:  # Windows has no flock; keep to one sweep per folder there
        yield
        return
    with open(out / ".lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"another sweep is running in {out}; wait for it to finish (or stop it), or use another output folder"
            ) from None
        yield


def _name(variant: str, k: int) -> str:
    return f"{variant}-k{k}"


def _read_run(out: Path, variant: str, k: int, settings: dict[str, Any]) -> dict[str, Any] | None:
    """A finished combination's row, or None when it has not finished."""
    path = out / "runs" / f"{_name(variant, k)}.json"
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        row, digest = record["row"], record["settings_digest"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{path} is unreadable ({exc}); delete it to train {variant} k={k} again") from None
    if digest != _digest(settings):
        raise ConfigError(
            f"{path} was written by a sweep with other settings than {out / SETTINGS_FILE}; delete "
            f"it to train {variant} k={k} again, or use another output folder"
        )
    return row


def _train_one(
    est, out: Path, variant: str, k: int, train, test, settings: dict[str, Any], save_models: bool
) -> dict[str, Any]:
    """Train, evaluate and record one combination; the run file is written last, as its done mark."""
    from aekit.train import remove_checkpoint

    name = _name(variant, k)
    checkpoint = out / "checkpoints" / name
    est.set_params(checkpoint_dir=checkpoint, resume=True, verbose=False)
    try:
        est.fit(train)
    except AekitError as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise type(exc)(
            f"sweep: variant {variant!r} with code size {k}: {exc} (finished models are kept in {out / 'runs'})"
        ) from exc
    seconds = float(sum(record["seconds"] for record in est.history_))  # resumed epochs included
    metrics = est.evaluate(test)
    row = {
        "variant": variant,
        "code_dim": k,
        "compression_ratio": float(metrics["compression_ratio"]),
        "mse": metrics["mse"],
        "pca_mse": metrics["pca_mse"],
        "gain_vs_pca": metrics["gain_vs_pca"],
        "train_seconds": seconds,
        "epochs_run": len(est.history_),
        "best_epoch": est.best_epoch_,
        "n_test": metrics["n_samples"],
    }
    if save_models:
        d = settings["data"]
        data_record = {
            "spec": d["spec"],
            "n": d["n"],
            "limit": d["limit"],
            "split": d["split"],
            "test_size": d["test_size"],
            "split_seed": settings["seed"],
            "n_train": d["n_train"],
            "n_test": d["n_test"],
            "columns": d["columns"],
        }
        est.save(
            out / "models" / name,
            metrics={**metrics, "train_seconds": row["train_seconds"], "best_epoch": est.best_epoch_},
            data=data_record,
        )
    make_dir(out / "runs")
    atomic_write_text(
        out / "runs" / f"{name}.json",
        json.dumps({"row": row, "metrics": metrics, "settings_digest": _digest(settings)}, indent=1),
    )
    remove_checkpoint(checkpoint)
    with contextlib.suppress(OSError):  # the last one out removes checkpoints/
        checkpoint.parent.rmdir()
    return row


def _bar(progress: bool, total: int, done: int):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, unit="model", desc="sweep", dynamic_ncols=True)
