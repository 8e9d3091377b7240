"""The leave-sets-out selection of benchmarks/adbench_lso.py on synthetic results: nothing is fitted."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "adbench_lso.py"


@pytest.fixture(scope="module")
def lso():
    spec = importlib.util.spec_from_file_location("adbench_lso", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SETS = [f"{i}_set" for i in range(1, 9)]
FOLDS = [SETS[0:2], SETS[2:4], SETS[4:6], SETS[6:8]]


def const(value: float, sets=SETS, seeds=(0, 1, 2)) -> dict[str, dict[int, float]]:
    return {s: dict.fromkeys(seeds, value) for s in sets}


def test_fold_split_covers_every_set_once_in_near_equal_folds(lso):
    sets = [f"{i}_s" for i in range(1, 18)]
    folds = lso.fold_split(sets, 4, seed=0)
    assert len(folds) == 4
    assert sorted(s for f in folds for s in f) == sorted(sets)
    assert sorted(len(f) for f in folds) == [4, 4, 4, 5]
    assert folds == lso.fold_split(list(reversed(sets)), 4, seed=0)  # seeded, not order-dependent
    assert any(lso.fold_split(sets, 4, seed=s) != folds for s in range(1, 5))
    assert len(lso.fold_split(sets[:2], 4)) == 2  # never more folds than sets
    assert all(f == sorted(f, key=lso.set_order) for f in folds)


def test_set_order_follows_adbench_numbers(lso):
    assert sorted(["15_Hepatitis", "4_breastw", "1_ALOI", "x"], key=lso.set_order) == [
        "1_ALOI",
        "4_breastw",
        "15_Hepatitis",
        "x",
    ]


def test_mean_is_over_seeds_then_sets(lso):
    results = {"m": {"a": {0: 0.6, 1: 0.8, 2: 1.0}, "b": {0: 0.4}}}
    assert lso.set_mean(results, "m", "a") == pytest.approx(0.8)
    assert lso.mean_over(results, "m", ["a", "b"]) == pytest.approx(0.6)  # not (0.6+0.8+1+0.4)/4
    assert math.isnan(lso.mean_over(results, "m", ["a", "c"]))
    assert lso.complete(results, "m", ["a"], [0, 1, 2])
    assert not lso.complete(results, "m", ["a", "b"], [0, 1])


def test_out_of_fold_choice_ignores_the_held_out_fold(lso):
    # A is best on folds 2-4 but worst on fold 1; B is 0.8 everywhere.
    a = const(0.9)
    a.update(const(0.4, SETS[0:2]))
    results = {"A": a, "B": const(0.8)}
    choices = lso.leave_sets_out(results, ["A", "B"], FOLDS)
    assert choices[0] == "A"  # chosen on folds 2-4, although B wins on fold 1 itself
    # For the other folds the weak fold 1 is among the training sets: A's mean is (2*0.4 + 4*0.9)/6 < 0.8.
    assert choices[1:] == ["B", "B", "B"]
    assert lso.choose(results, ["A", "B"], SETS) == "B"  # in sample: (2*0.4 + 6*0.9)/8 < 0.8
    chosen = {s: choices[i] for i, f in enumerate(FOLDS) for s in f}
    oof = lso.compose(results, chosen)
    assert oof["1_set"] == {0: 0.4, 1: 0.4, 2: 0.4} and oof["3_set"] == {0: 0.8, 1: 0.8, 2: 0.8}


def test_ties_go_to_the_earlier_candidate(lso):
    results = {"A": const(0.7), "B": const(0.7)}
    assert lso.choose(results, ["A", "B"], SETS) == "A"
    assert lso.choose(results, ["B", "A"], SETS) == "B"


def test_wins_count_sets_with_a_higher_mean(lso):
    forest = const(0.8)
    method = const(0.9, SETS[:3])  # 3 wins
    method.update(const(0.8, SETS[3:5]))  # 2 ties: not wins
    method.update(const(0.7, SETS[5:]))  # 3 losses
    method["1_set"] = {0: 0.75, 1: 0.95, 2: 0.95}  # mean 0.883 beats 0.8, though seed 0 loses
    results = {"m": method, "IsolationForest": forest}
    assert lso.wins(results, "m", "IsolationForest", SETS) == 3
    assert lso.wins(results, "IsolationForest", "m", SETS) == 3


def test_report_tables(lso):
    a = const(0.9)
    a.update(const(0.4, SETS[0:2]))
    results = {"aekit A": a, "aekit B": const(0.8), "IsolationForest": const(0.85)}
    seconds = {m: const(1.0) for m in results}
    seconds["aekit A"]["1_set"] = {0: 1.0, 1: 1.0, 2: 9.0}
    text = lso.report(results, seconds, ["aekit A", "aekit B"], ["IsolationForest"], FOLDS)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("|")}
    # Out of fold: A (0.4) on fold 1's two sets, B (0.8) on the other six: mean 0.7, no wins.
    assert "| 1_set | ? | ? | 1 | A | 40.0 | 80.0 | 85.0 |" in text
    assert "| aekit, out-of-fold choice | 70.0 | 0/8 | 1.0 | 9.0 |" in text
    assert "| aekit, in-sample best (B) | 80.0 | 0/8 |" in rows["aekit, in-sample best (B)"]
    assert "| 1 | 1_set, 2_set | aekit A | 90.0 | 40.0 | aekit B (80.0) |" in text


def test_unknown_params_are_named(lso):
    assert lso.unknown_params({"criterion": "x", "new_knob": 1}, ["criterion", "epochs"]) == ["new_knob"]
    assert lso.unknown_params({}, ["criterion"]) == []
    assert all(isinstance(p, dict) for p in lso.CANDIDATES.values()) and "default" in lso.CANDIDATES


def test_cache_keeps_the_last_record_and_skips_a_torn_line(lso, tmp_path):
    path = tmp_path / "c.jsonl"
    base = {"method": "PCA", "params": {}, "set": "4_breastw", "seed": 0, "library_version": "1"}
    lso.append_record(path, {**base, "roc_auc": 0.5})
    lso.append_record(path, {**base, "roc_auc": 0.6})
    with path.open("a") as f:
        f.write(json.dumps({**base, "seed": 1})[:20])
    cache = lso.read_cache(path)
    assert list(cache.values()) == [{**base, "roc_auc": 0.6}]
    assert lso.cache_key("PCA", {}, "4_breastw", 0, "1") in cache
    assert lso.cache_key("PCA", {}, "4_breastw", 0, "2") not in cache  # a new version refits
    # An aekit result is keyed on the detector's full configuration: a changed default refits.
    record = {**base, "method": "aekit default", "config": {"epochs": 50}, "roc_auc": 0.7}
    lso.append_record(path, record)
    assert lso.cache_key("aekit default", {"epochs": 50}, "4_breastw", 0, "1") in lso.read_cache(path)
    assert lso.cache_key("aekit default", {"epochs": None}, "4_breastw", 0, "1") not in lso.read_cache(path)
