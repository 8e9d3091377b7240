"""Options are stated once (aekit.config) and every other place is read off them: the
estimator's parameters, the CLI flags and their help, the TOML keys, config.json and
the README's table."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import aekit
import aekit.config.options as opts
from aekit.cli.common import main
from aekit.cli.options import help_text, to_params
from aekit.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"
RUN_ONLY = {"checkpoint_dir", "resume", "verbose"}  # how one fit runs; not part of the model

# One fit per group of options that go together; every option appears in one of them with a
# value other than its default (test_the_fits_cover_every_option keeps it so).
FITS = {
    "table": dict(
        code_dim=3,
        variant="sparse",
        hidden=(16,),
        activation="tanh",
        linear_path=False,
        pca_init=False,
        penalty="kl_sparsity",
        penalty_weight=0.01,
        sparsity_target=0.1,
        corruption="mask",
        corruption_level=0.1,
        scaling="robust",
        epochs=2,
        batch_size=16,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.01,
        schedule="cosine",
        warmup=0.2,
        val_fraction=0.2,
        patience=3,
        random_state=5,
        device="cpu",
        precision="fp32",
    ),
    "image": dict(
        code_dim=2,
        variant="vae",
        kind="image",
        arch="conv",
        channels=(4, 8),
        input_shape=(1, 8, 8),
        bottleneck="gaussian",
        loss="bce",
        binarize=True,
        beta=2.0,
        kl_warmup_epochs=1,
        free_bits=0.1,
        epochs=1,
    ),
    "tokens": dict(
        code_dim=4,
        bottleneck="vq",
        codebook_size=16,
        token_dim=2,
        commitment=0.5,
        vq_ema=False,
        vq_decay=0.9,
        kmeans_init=False,
        dead_code_reset=False,
        steps=20,  # the budget in steps: 57 training rows, batch 32, 10 epochs
    ),
    "tied": dict(code_dim=2, tied=True, loss="ce", categorical=((0, 2),), epochs=1),
}


def _data(name: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    if name == "image":
        return rng.random((64, 64), dtype=np.float32)  # flat rows, shaped by input_shape
    x = rng.normal(size=(64, 6)).astype(np.float32)
    if name == "tied":
        hot = rng.integers(0, 2, size=64)
        x[:, 0], x[:, 1] = hot, 1 - hot
    return x


def _own_network_options() -> set[str]:
    """Options tested by tests/test_own_networks.py (they need a factory module on the path)."""
    return {o.param for o in opts.options() if o.name in ("encoder", "decoder", "encoder_kwargs", "decoder_kwargs")}


def test_the_fits_cover_every_option():
    covered = set().union(*FITS.values()) | _own_network_options()
    params = set(aekit.AutoEncoder().get_params()) - RUN_ONLY
    assert params - covered == set(), "add the new option to a fit in FITS"
    for values in FITS.values():
        defaults = aekit.AutoEncoder().get_params()
        same = [k for k, v in values.items() if v == defaults[k] and k not in ("epochs",)]
        assert not same, f"{same} are set to their defaults: the round trip would prove nothing"


@pytest.mark.parametrize("name", sorted(FITS))
def test_every_option_survives_fit_save_load(name, tmp_path):
    values = FITS[name]
    est = aekit.AutoEncoder(**values).fit(_data(name))
    again = aekit.load(est.save(tmp_path / "m"))
    params = again.get_params()
    for key, value in values.items():
        got = params[key]
        if isinstance(value, tuple):
            got = tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in got)
        assert got == value, f"{key}: fitted with {value!r}, loaded {params[key]!r}"
    x = _data(name)
    np.testing.assert_array_equal(again.transform(x), est.transform(x))


def test_the_estimator_parameters_are_the_options():
    signature = inspect.signature(aekit.AutoEncoder.__init__).parameters
    assert set(signature) - {"self"} == {o.param for o in opts.options()} | RUN_ONLY
    for opt in opts.options():
        default = signature[opt.param].default
        if opt.group == "model" and opt.name not in ("code_dim", "variant"):
            assert default is None, f"{opt.param}: None means 'the variant's preset, else the config default'"
        else:
            assert default == opt.default, f"{opt.param} defaults to {default!r}, the config says {opt.default!r}"


def test_every_option_has_a_cli_flag_whose_help_shows_the_true_default():
    fit = main.commands["fit"]
    by_name = {p.name: p for p in fit.params}
    for opt in opts.options():
        assert opt.name in by_name, f"aekit fit has no flag for {opt.name}"
        flag = by_name[opt.name]
        assert opt.flag in flag.opts
        default = (
            "none"
            if opt.default is None
            else json.dumps(list(opt.default) if isinstance(opt.default, tuple) else opt.default)
        )
        assert f"[default: {default}" in flag.help, f"{opt.flag}: help {flag.help!r} does not show {default}"
        assert flag.help == help_text(opt)


def test_the_readme_table_is_the_option_table():
    text = README.read_text()
    match = re.search(r"<!-- options:start -->\n(.*?)\n<!-- options:end -->", text, re.S)
    assert match, "README.md lacks the <!-- options:start --> ... <!-- options:end --> table"
    assert match.group(1).strip() == opts.markdown_table().strip(), (
        "README's option table is stale: paste the output of "
        "`python -c 'import aekit.config.options as o; print(o.markdown_table())'`"
    )


def test_cli_flags_toml_and_set_reach_the_estimator(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(80, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    toml = tmp_path / "opts.toml"
    toml.write_text('[model]\nhidden = [12]\n[train]\nseed = 3\nlr = 0.004\n[data]\nscaling = "robust"\n')
    model = tmp_path / "m"
    code = main.main(
        [
            "fit",
            str(tmp_path / "x.npy"),
            "-o",
            str(model),
            "--config",
            str(toml),
            "--code-dim",
            "2",
            "--epochs",
            "1",
            "--set",
            "warmup=0.25",
            "--channels",
            "8,16",
            "--no-linear-path",
            "-q",
        ],
        standalone_mode=False,
    )
    assert code in (None, 0)
    params = aekit.load(model).get_params()
    assert (params["hidden"], params["random_state"], params["lr"], params["scaling"]) == ((12,), 3, 0.004, "robust")
    assert (params["code_dim"], params["warmup"], params["channels"], params["linear_path"]) == (
        2,
        0.25,
        (8, 16),
        False,
    )


def test_unknown_keys_are_named_with_the_allowed_ones(tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text("[model]\ncode_dimm = 3\n")
    np.save(tmp_path / "x.npy", np.zeros((10, 3), np.float32))
    result = CliRunner().invoke(
        main, ["fit", str(tmp_path / "x.npy"), "-o", str(tmp_path / "m"), "--config", str(toml)]
    )
    assert result.exit_code == 1
    assert re.search(r"unknown option\(s\) \['code_dimm'\] in .*bad.toml; allowed: .*\bcode_dim\b", result.output)
    with pytest.raises(ConfigError, match="code_dimm"):
        to_params({"code_dimm": 3}, "x")


def test_a_directory_from_before_data_options_loads_with_its_scaling(tmp_path):
    """Model directories written before config.json recorded the data options still load, identically."""
    x = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    for scaling, expected in (("robust", "robust"), ("standard", "auto")):
        est = aekit.AutoEncoder(code_dim=2, epochs=1, scaling=scaling).fit(x)
        path = est.save(tmp_path / scaling)
        saved = json.loads((path / "config.json").read_text())
        del saved["data_config"]  # as the previous format wrote it
        (path / "config.json").write_text(json.dumps(saved))
        again = aekit.load(path)
        assert again.get_params()["scaling"] == expected  # robust statistics say robust; standard could be auto
        np.testing.assert_array_equal(again.transform(x), est.transform(x))
