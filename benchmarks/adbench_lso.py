"""Leave-sets-out benchmark of aekit.AnomalyDetector on the 17 ADBench sets (issue 17).

Choosing the detector's settings on the very sets it is scored on flatters it. Here the
sets are split into K folds (by set, seeded); for each fold the aekit candidate with the
best mean ROC-AUC on the OTHER folds' sets is chosen, and that choice is scored on the
held-out fold's sets. The in-sample figure (the one candidate best on all sets) is
printed beside it for contrast.

Protocol per set and seed (as benchmarks/adbench.py): a stratified 70/30 split
(``train_test_split(..., stratify=y, random_state=seed)``), fit on the 70 % without
labels (anomalies stay in), ROC-AUC of the anomaly scores on the 30 %, fit + score
seconds, one torch thread (``--threads``).

Methods:

- aekit candidates: ``AnomalyDetector(random_state=seed, **params)`` for each entry of
  ``CANDIDATES`` below. Add a candidate by adding a line; a candidate naming a parameter
  this aekit's detector lacks is skipped with a note, so candidates for parameters added
  later can sit in the list before they exist.
- peers: IsolationForest (scikit-learn defaults, ``random_state=seed``); PCA residual
  (standardised columns, the fewest components explaining 90 % of the variance, squared
  residual); with PyOD installed (``pip install -e '.[bench]'``), PyOD's AutoEncoder
  (defaults, ``random_state=seed``, ``verbose=0``), ECOD and KNN (defaults). PyOD's
  AutoEncoder keeps its 10 epochs uncapped: 2 epochs took 7 s on 34_smtp's 66,609 training
  rows (one thread), so the biggest set costs it about 35 s a fit.

Each method's first fit of a run is preceded by an untimed fit on 64 random rows, so
one-off set-up (torch, numba) is not charged to it.

Every (set, seed, method) result is appended as a JSON line to
benchmarks/results/adbench_lso.jsonl and reused on the next run (keyed on method, params,
set, seed and the producing library's version), so a killed run resumes and a new
candidate costs only its own fits; ``--fresh`` refits everything. The tables go to
stdout and to benchmarks/results/adbench_lso.md (``--quick``: adbench_lso_quick.md).

Run:    .venv/bin/python benchmarks/adbench_lso.py
        .venv/bin/python benchmarks/adbench_lso.py --quick            # 2 small sets, 1 seed
        .venv/bin/python benchmarks/adbench_lso.py --sets 4_breastw,6_cardio --seeds 0 \\
            --candidates default,recon --peers IsolationForest,PCA --folds 2
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

# name -> keyword arguments of aekit.AnomalyDetector (random_state is the seed). contamination
# only moves the threshold, not the scores, so it cannot change a ROC-AUC: no candidate varies it.
#: The single detector before the ensemble became the default (issue 17, third round).
SINGLE = {"n_estimators": 1, "steps": None, "trim": 0.0}
CANDIDATES: dict[str, dict[str, Any]] = {
    "default": {},
    "single": SINGLE,
    "recon": {**SINGLE, "method": "reconstruction"},
    "combined": {**SINGLE, "method": "combined"},
    "code2": {**SINGLE, "code_dim": 2},
    "denoising": {**SINGLE, "variant": "denoising"},
    "vae": {**SINGLE, "variant": "vae"},
    "ens3": {"n_estimators": 3, "steps": None, "trim": 0.0},
    "ens5": {"n_estimators": 5, "steps": None, "trim": 0.0},
    "ens5_short": {"n_estimators": 5, "steps": 1000, "trim": 0.0},
    "ens3_short": {"n_estimators": 3, "steps": 1500, "trim": 0.0},
    "ens3_trim": {"n_estimators": 3, "steps": 1500, "trim": 0.1},
}

PEERS = ("IsolationForest", "PCA", "PyOD AutoEncoder", "PyOD ECOD", "PyOD KNN")
PYOD_PEERS = ("PyOD AutoEncoder", "PyOD ECOD", "PyOD KNN")
BASELINE = "IsolationForest"
QUICK = {
    "sets": "4_breastw,42_WBC",
    "seeds": "0",
    "candidates": "default,recon",
    "peers": "IsolationForest,PCA",
}
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "adbench"
RESULTS = Path(__file__).resolve().parent / "results"
AEKIT = "aekit "  # prefix of a candidate's method name

# results[method][set][seed] -> ROC-AUC (0..1); the same shape holds seconds.
Results = dict[str, dict[str, dict[int, float]]]


# -- selection: plain functions of results dicts, nothing fitted --------------------------
def set_order(name: str) -> tuple[float, str]:
    """ADBench's numbering first (4_breastw before 15_Hepatitis), then the name."""
    head = name.split("_", 1)[0]
    return (int(head) if head.isdigit() else math.inf, name)


def fold_split(sets: Iterable[str], k: int, seed: int = 0) -> list[list[str]]:
    """The sets in ``min(k, len(sets))`` folds of near-equal size, by a seeded permutation."""
    ordered = sorted(set(sets), key=set_order)
    k = max(1, min(k, len(ordered)))
    perm = np.random.default_rng(seed).permutation(len(ordered))
    return [sorted((ordered[i] for i in chunk), key=set_order) for chunk in np.array_split(perm, k)]


def set_mean(results: Results, method: str, name: str) -> float:
    """Mean over seeds of ``method`` on set ``name``; NaN where there is none."""
    runs = results.get(method, {}).get(name, {})
    return float(np.mean(list(runs.values()))) if runs else math.nan


def mean_over(results: Results, method: str, sets: Iterable[str]) -> float:
    """Mean over ``sets`` of the per-set means (over seeds); NaN if any set is missing."""
    return float(np.mean([set_mean(results, method, s) for s in sets]))


def complete(results: Results, method: str, sets: Iterable[str], seeds: Iterable[int]) -> bool:
    """Whether ``method`` has a result for every set and seed."""
    runs = results.get(method, {})
    return all(seed in runs.get(s, {}) for s in sets for seed in seeds)


def choose(results: Results, candidates: Sequence[str], sets: Iterable[str]) -> str:
    """The candidate with the best mean ROC-AUC on ``sets``; ties go to the earlier candidate."""
    sets = list(sets)
    scores = [mean_over(results, c, sets) for c in candidates]
    if not candidates or all(math.isnan(s) for s in scores):
        raise ValueError("no candidate has results on these sets")
    return candidates[int(np.nanargmax(scores))]


def leave_sets_out(results: Results, candidates: Sequence[str], folds: Sequence[Sequence[str]]) -> list[str]:
    """For each fold, the candidate chosen on the other folds' sets (one fold: chosen on itself)."""
    choices = []
    for i, fold in enumerate(folds):
        others = [s for j, f in enumerate(folds) if j != i for s in f] or list(fold)
        choices.append(choose(results, candidates, others))
    return choices


def compose(results: Results, choice_of_set: dict[str, str]) -> dict[str, dict[int, float]]:
    """One method's rows made of each set's chosen method: ``{set: results[choice][set]}``."""
    return {s: dict(results.get(m, {}).get(s, {})) for s, m in choice_of_set.items()}


def wins(results: Results, method: str, baseline: str, sets: Iterable[str]) -> int:
    """Sets where ``method``'s mean ROC-AUC (over seeds) is higher than ``baseline``'s."""
    return sum(set_mean(results, method, s) > set_mean(results, baseline, s) for s in sets)


def seconds_stats(seconds: Results, method: str, sets: Iterable[str]) -> tuple[float, float]:
    """Median and max fit + score seconds of ``method`` over every (set, seed) it ran."""
    values = [v for s in sets for v in seconds.get(method, {}).get(s, {}).values()]
    return (float(np.median(values)), float(np.max(values))) if values else (math.nan, math.nan)


# -- tables ---------------------------------------------------------------------------------
def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.1f}"


def secs(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def report(
    results: Results,
    seconds: Results,
    candidates: Sequence[str],
    peers: Sequence[str],
    folds: Sequence[Sequence[str]],
    info: dict[str, dict[str, int]] | None = None,
) -> str:
    """The Markdown report. ``candidates`` are the method names of aekit candidates complete on
    every set (the pool the choice is made from), ``peers`` the other methods to show;
    ``info[set]`` may give ``n_train`` and ``n_features``."""
    info = info or {}
    sets = [s for f in folds for s in f]
    sets.sort(key=set_order)
    choices = leave_sets_out(results, candidates, folds)
    fold_of = {s: i for i, f in enumerate(folds) for s in f}
    chosen = {s: choices[fold_of[s]] for s in sets}
    best = choose(results, candidates, sets)
    oof, insample = "aekit, out-of-fold choice", f"aekit, in-sample best ({best.removeprefix(AEKIT)})"
    res = {**results, oof: compose(results, chosen), insample: results[best]}
    sec = {**seconds, oof: compose(seconds, chosen), insample: seconds.get(best, {})}
    shown = [oof, insample, *peers]
    out = []

    header = ["set", "train rows", "features", "fold", "chosen", *shown]
    rows = []
    for s in sets:
        d = info.get(s, {})
        rows.append(
            [s, d.get("n_train", "?"), d.get("n_features", "?"), fold_of[s] + 1, chosen[s].removeprefix(AEKIT)]
            + [pct(set_mean(res, m, s)) for m in shown]
        )
    rows.append(["**mean**", "", "", "", ""] + [f"**{pct(mean_over(res, m, sets))}**" for m in shown])
    if BASELINE in peers:
        rows.append(
            [f"wins vs {BASELINE}", "", "", "", ""]
            + [f"{wins(res, m, BASELINE, sets)}/{len(sets)}" if m != BASELINE else "" for m in shown]
        )
    out += ["## ROC-AUC x 100 on the held-out 30 %, mean over seeds", "", markdown_table(header, rows), ""]

    header = ["method", "mean ROC-AUC", f"wins vs {BASELINE}", "median s", "max s"]
    rows = []
    for m in [oof, insample, *candidates, *peers]:
        median, longest = seconds_stats(sec, m, sets)
        win = f"{wins(res, m, BASELINE, sets)}/{len(sets)}" if BASELINE in peers and m != BASELINE else ""
        rows.append([m, pct(mean_over(res, m, sets)), win, secs(median), secs(longest)])
    out += ["## Summary (fit + score seconds over every set and seed)", "", markdown_table(header, rows), ""]

    header = [
        "fold",
        "held-out sets",
        "chosen on the other folds",
        "mean on the others",
        "mean held out",
        "best held out",
    ]
    rows = []
    for i, (fold, choice) in enumerate(zip(folds, choices)):
        others = [s for j, f in enumerate(folds) if j != i for s in f] or list(fold)
        top = choose(results, candidates, fold)
        rows.append(
            [
                i + 1,
                ", ".join(fold),
                choice,
                pct(mean_over(results, choice, others)),
                pct(mean_over(results, choice, fold)),
                f"{top} ({pct(mean_over(results, top, fold))})",
            ]
        )
    out += ["## Folds", "", markdown_table(header, rows), ""]

    header = ["set", *candidates]
    rows = [[s] + [pct(set_mean(results, c, s)) for c in candidates] for s in sets]
    rows.append(["**mean**"] + [f"**{pct(mean_over(results, c, sets))}**" for c in candidates])
    out += ["## Every aekit candidate, ROC-AUC x 100", "", markdown_table(header, rows), ""]
    return "\n".join(out)


def unknown_params(params: dict[str, Any], known: Iterable[str]) -> list[str]:
    """The keys of ``params`` that are not among ``known`` (a detector's get_params())."""
    return sorted(set(params) - set(known))


# -- the cache ------------------------------------------------------------------------------
def cache_key(method: str, config: dict[str, Any], name: str, seed: int, version: str) -> str:
    """``config`` is everything the result depends on besides the seed: for an aekit candidate
    the detector's full get_params(), so a changed default refits rather than reuses."""
    if method.startswith(AEKIT):  # the detector's parameters say what it is; candidates' names are labels
        method, config = AEKIT.strip(), canonical(config)
    return json.dumps([method, config, name, seed, version], sort_keys=True, default=str)


#: Parameters added after results were cached, at the values that reproduce the detector before them.
ADDED_AT = {"n_estimators": 1, "steps": None, "trim": 0.0}


def canonical(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as the same detector under every aekit version: ``criterion`` (the name of
    ``method`` before it) read as ``method``, parameters added since filled in at the value
    that reproduces the detector from before them."""
    config = {k: v for k, v in config.items() if k != "criterion" or v is not None}
    if "criterion" in config:
        config.setdefault("method", config.pop("criterion"))
    return {**ADDED_AT, **config}


def read_cache(path: Path) -> dict[str, dict[str, Any]]:
    """key -> the last record written for it; a torn last line (a killed run) is skipped."""
    cache: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return cache
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
            key = cache_key(r["method"], r.get("config", r["params"]), r["set"], r["seed"], r["library_version"])
            cache[key] = r
        except (ValueError, KeyError, TypeError):
            continue
    return cache


def append_record(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torn = path.exists() and path.stat().st_size > 0 and path.read_bytes()[-1:] != b"\n"
    with path.open("a") as f:
        f.write(("\n" if torn else "") + json.dumps(record, default=str) + "\n")
        f.flush()


# -- the methods (heavy imports here, so the selection functions import fast) ---------------
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def aekit_scorer(params: dict[str, Any], seed: int) -> Scorer:
    from aekit import AnomalyDetector

    return lambda a, b: AnomalyDetector(random_state=seed, **params).fit(a).anomaly_score(b)


def warm_up(method: str, params: dict[str, Any]) -> None:
    """One tiny untimed fit, so first-call set-up (torch, numba, caches) is not charged to a timed one."""
    x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method.startswith(AEKIT):
                aekit_scorer({**params, "epochs": 1}, 0)(x, x)
            else:
                peer_scorer(method, 0)(x, x)
    except Exception:  # the timed fit reports its own failure
        pass


def pca_scores(a: np.ndarray, b: np.ndarray, variance: float = 0.9) -> np.ndarray:
    """Squared residual of ``b`` after the PCA of standardised ``a`` keeping ``variance``."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(a)
    a, b = scaler.transform(a), scaler.transform(b)
    pca = PCA(n_components=variance, svd_solver="full").fit(a)
    return ((pca.inverse_transform(pca.transform(b)) - b) ** 2).sum(1)


def peer_params(name: str, seed: int) -> dict[str, Any]:
    """The settings given to a peer (besides its defaults), recorded with its results."""
    return {"random_state": seed} if name in ("IsolationForest", "PyOD AutoEncoder") else {}


def peer_scorer(name: str, seed: int) -> Scorer:
    params = peer_params(name, seed)
    if name == "IsolationForest":
        from sklearn.ensemble import IsolationForest

        return lambda a, b: -IsolationForest(**params).fit(a).score_samples(b)
    if name == "PCA":
        return pca_scores
    if name == "PyOD AutoEncoder":
        from pyod.models.auto_encoder import AutoEncoder

        return lambda a, b: AutoEncoder(verbose=0, **params).fit(a).decision_function(b)
    if name == "PyOD ECOD":
        from pyod.models.ecod import ECOD

        return lambda a, b: ECOD(**params).fit(a).decision_function(b)
    if name == "PyOD KNN":
        from pyod.models.knn import KNN

        return lambda a, b: KNN(**params).fit(a).decision_function(b)
    raise ValueError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")


def detector_config(params: dict[str, Any]) -> dict[str, Any]:
    """The detector's every parameter with ``params`` applied, defaults resolved (seed aside)."""
    from aekit import AnomalyDetector

    config = AnomalyDetector(**params).get_params(deep=False)
    return {k: v for k, v in sorted(config.items()) if k not in ("random_state", "verbose")}


def source_digest() -> str:
    """A digest of aekit's source files: recorded, so results reused across code changes are flagged."""
    import aekit

    digest = hashlib.sha256()
    for path in sorted(Path(aekit.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def library_version(method: str) -> str:
    import importlib.metadata as md

    if method.startswith(AEKIT):
        import aekit

        return aekit.__version__
    return md.version("pyod" if method.startswith("PyOD") else "scikit-learn")


# -- the run --------------------------------------------------------------------------------
def names(arg: str) -> list[str]:
    return [n.strip() for n in arg.split(",") if n.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder of ADBench .npz files (keys X, y)")
    p.add_argument("--sets", default="", help="comma-separated set names (default: every .npz in --data)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds [default: 0,1,2]")
    p.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated names from CANDIDATES")
    p.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated, of: {', '.join(PEERS)}")
    p.add_argument("--folds", type=int, default=4, help="number of folds of sets [default: 4]")
    p.add_argument("--fold-seed", type=int, default=0, help="seed of the split into folds [default: 0]")
    p.add_argument("--threads", type=int, default=1, help="torch threads [default: 1]")
    p.add_argument("--fresh", action="store_true", help="ignore cached results (new ones are still appended)")
    p.add_argument("--cache", default=str(RESULTS / "adbench_lso.jsonl"))
    p.add_argument("--out", default=None, help="Markdown report [default: results/adbench_lso.md]")
    p.add_argument("--quick", action="store_true", help="check the script: " + json.dumps(QUICK))
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if args.out is None:
        args.out = str(RESULTS / ("adbench_lso_quick.md" if args.quick else "adbench_lso.md"))
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    import torch
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    import aekit

    torch.set_num_threads(args.threads)
    files = {f.stem: f for f in Path(args.data).glob("*.npz")}
    wanted = names(args.sets) or sorted(files, key=set_order)
    if missing := [s for s in wanted if s not in files]:
        raise SystemExit(f"not in {args.data}: {', '.join(missing)}")
    seeds = [int(s) for s in names(args.seeds)]
    if unknown := [c for c in names(args.candidates) if c not in CANDIDATES]:
        raise SystemExit(f"unknown candidates {unknown}; known: {', '.join(CANDIDATES)}")
    known = aekit.AnomalyDetector().get_params()
    methods: dict[str, dict[str, Any]] = {}  # method -> aekit params ({} for a peer)
    for c in names(args.candidates):
        if extra := unknown_params(CANDIDATES[c], known):
            print(f"note: skipping candidate {c!r}: AnomalyDetector (aekit {aekit.__version__}) has no {extra}")
        else:
            methods[AEKIT + c] = CANDIDATES[c]
    peers = names(args.peers)
    if unknown := [p for p in peers if p not in PEERS]:
        raise SystemExit(f"unknown peers {unknown}; known: {', '.join(PEERS)}")
    if importlib.util.find_spec("pyod") is None and any(p in PYOD_PEERS for p in peers):
        print("note: PyOD is not installed (pip install -e '.[bench]'): its AutoEncoder, ECOD and KNN are left out")
        peers = [p for p in peers if p not in PYOD_PEERS]
    for p in peers:
        methods[p] = {}
    if not any(m.startswith(AEKIT) for m in methods):
        raise SystemExit("no aekit candidate to run")

    cache_path = Path(args.cache)
    cache = {} if args.fresh else read_cache(cache_path)
    versions = {m: library_version(m) for m in methods}
    configs = {m: detector_config(p) for m, p in methods.items() if m.startswith(AEKIT)}
    digest = source_digest()
    stale = 0
    results: Results = {}
    seconds: Results = {}
    info: dict[str, dict[str, int]] = {}
    reused = failed = 0
    warm: set[str] = set()
    for name in wanted:
        data = np.load(files[name], allow_pickle=False)
        x, y = data["X"].astype(np.float32), data["y"].astype(int)
        for seed in seeds:
            a, b, _, y_test = train_test_split(x, y, test_size=0.3, stratify=y, random_state=seed)
            info[name] = {"n_train": len(a), "n_features": x.shape[1]}
            for method, aekit_params in methods.items():
                params = aekit_params if method.startswith(AEKIT) else peer_params(method, seed)
                config = configs.get(method, params)
                key = cache_key(method, config, name, seed, versions[method])
                record = cache.get(key)
                if record is None:
                    if method not in warm:
                        warm.add(method)
                        warm_up(method, params)
                    score = aekit_scorer(params, seed) if method.startswith(AEKIT) else peer_scorer(method, seed)
                    t0 = time.perf_counter()
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            scores = score(a, b)
                            elapsed = time.perf_counter() - t0
                            auc = float(roc_auc_score(y_test, scores))
                    except Exception as e:  # one failed fit must not end a long run
                        failed += 1
                        print(f"FAILED {name} seed {seed} {method}: {type(e).__name__}: {e}", flush=True)
                        continue
                    record = {
                        "method": method,
                        "params": params,
                        "config": config,
                        "set": name,
                        "seed": seed,
                        "roc_auc": auc,
                        "seconds": elapsed,
                        "n_train": len(a),
                        "n_features": int(x.shape[1]),
                        "aekit_version": aekit.__version__,
                        "aekit_source": digest,
                        "library_version": versions[method],
                        "threads": args.threads,
                        "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    }
                    append_record(cache_path, record)
                    cache[key] = record
                    print(f"{name} seed {seed} {method}: ROC-AUC {pct(auc)}, {secs(record['seconds'])} s", flush=True)
                else:
                    reused += 1
                    stale += method.startswith(AEKIT) and record.get("aekit_source") != digest
                results.setdefault(method, {}).setdefault(name, {})[seed] = record["roc_auc"]
                seconds.setdefault(method, {}).setdefault(name, {})[seed] = record["seconds"]

    pool = [m for m in methods if m.startswith(AEKIT) and complete(results, m, wanted, seeds)]
    notes = [f"{len(wanted)} sets, seeds {', '.join(map(str, seeds))}; {reused} results reused from {cache_path.name}"]
    if stale:
        notes.append(f"{stale} reused aekit results came from other aekit source files (--fresh refits them)")
    if failed:
        notes.append(f"{failed} fits failed (see the log); they are missing from the tables")
    if left := [m for m in methods if m.startswith(AEKIT) and m not in pool]:
        notes.append(f"left out of the choice, results missing: {', '.join(left)}")
    if not pool:
        raise SystemExit("no aekit candidate has results on every set and seed")
    folds = fold_split(wanted, args.folds, args.fold_seed)
    if len(folds) < 2:
        notes.append("one set only: no other folds to choose on, the 'out-of-fold' choice is in-sample")
    if "PyOD AutoEncoder" in peers:
        notes.append("PyOD AutoEncoder: its defaults (10 epochs, batch 32, hidden 64-32)")
    text = "\n".join(
        [
            "# Leave-sets-out ADBench benchmark of aekit.AnomalyDetector",
            "",
            f"aekit {aekit.__version__}, {len(folds)} folds of sets (fold seed {args.fold_seed}); "
            + "; ".join(notes)
            + ".",
            "",
            report(results, seconds, pool, [p for p in peers if p in results], folds, info),
        ]
    )
    print("\n" + text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
