"""Schemathesis against the explorer's own OpenAPI spec (/openapi.json), in process on the ASGI app.

Every phase (explicit examples, the coverage phase's boundary and negative values,
the fuzzing phase's random valid and invalid data, unsupported methods) and every
check (not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, response_headers_conformance, positive_data_acceptance,
negative_data_rejection, unsupported_method, ...) must pass: no 5xx, every status and
body as documented, every valid request accepted and every invalid one refused.

Bounded and seeded (``deterministic``) so CI runs the same cases. Without schemathesis
the tests skip, and fail when ``CI`` is set. A longer run in process:
``AEKIT_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/explorer/test_schemathesis.py``;
or against the real server over HTTP, with a config file holding
``[checks.negative_data_rejection] expected-statuses = ["400", "404", "405", "413", "415", "422"]``::

    aekit explore &    # prints http://127.0.0.1:PORT/
    schemathesis --config-file st.toml run http://127.0.0.1:PORT/openapi.json --checks all --mode all \
        -n 2000 --seed 11 --workers 2 --max-time 540
"""

from __future__ import annotations

import collections
import os

import pytest

import aekit
from aekit.explorer import Session
from aekit.explorer.server import create_app

#: Cases per operation and phase; the environment variable makes a longer run.
EXAMPLES = int(os.environ.get("AEKIT_FUZZ_EXAMPLES", "30"))
#: The explorer answers too many codes, or too large a grid, with 413: a refusal schemathesis does not expect.
REFUSALS = ["400", "404", "405", "413", "415", "422"]


def _schemathesis():
    try:
        import schemathesis
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("schemathesis is required in CI (pip install -e '.[dev]')")
        pytest.skip("schemathesis is not installed")
    return schemathesis


def fuzz(app, examples: int, seed: int = 0) -> dict:
    """Run schemathesis on ``app``: cases per operation, statuses, checks run and the failures found."""
    schemathesis = _schemathesis()
    from schemathesis.engine import events, from_schema

    config = schemathesis.Config.from_dict(
        {
            "seed": seed,
            "generation": {"mode": "all", "max-examples": examples, "deterministic": True, "database": "none"},
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    out = {
        "cases": collections.Counter(),
        "statuses": collections.Counter(),
        "checks": collections.Counter(),
        "failures": [],
        "errors": [],
    }
    for event in from_schema(schema).execute():
        if isinstance(event, (events.NonFatalError, events.FatalError)):
            out["errors"].append(f"{getattr(event, 'label', '')}: {event.info.message}")
        if not isinstance(event, events.ScenarioFinished):
            continue
        recorder = event.recorder
        for interaction in recorder.interactions.values():
            out["cases"][event.label] += 1
            if interaction.response is not None:
                out["statuses"][(event.label, interaction.response.status_code)] += 1
        for case_id, checks in recorder.checks.items():
            for check in checks:
                out["checks"][check.name] += 1
                if check.failure_info is not None:
                    interaction = recorder.interactions.get(case_id)
                    request = interaction.request if interaction else None
                    response = interaction.response if interaction else None
                    out["failures"].append(
                        f"{event.label} [{check.name}] {check.failure_info.failure.title}: "
                        f"{check.failure_info.failure.message}\n  request: "
                        f"{request and (request.method, request.uri, (request.body or b'')[:300])}\n  response: "
                        f"{response and (response.status_code, response.content[:300])}"
                    )
    return out


@pytest.fixture(scope="module")
def default_run(session):
    """Schemathesis on the page's usual session (conftest.py): a 2-D plain autoencoder and a 2-D VAE."""
    return fuzz(create_app(session), EXAMPLES)


def test_schemathesis_finds_nothing(default_run):
    assert not default_run["errors"], "\n".join(default_run["errors"])
    assert not default_run["failures"], "\n\n".join(sorted(set(default_run["failures"]))[:20])


def test_every_operation_and_check_was_exercised(default_run):
    """Not a vacuous pass: each operation saw valid and invalid requests, and each check ran.
    (Schemathesis leaves out the spec's own location, /openapi.json.)"""
    operations = {
        "GET /",
        "GET /static/{name}",
        "GET /api/meta",
        "GET /api/presets",
        "GET /api/sample",
        "GET /api/codes",
        "POST /api/encode",
        "POST /api/decode",
        "POST /api/grid",
    }
    assert set(default_run["cases"]) == operations
    for check in (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "positive_data_acceptance",
        "negative_data_rejection",
        "unsupported_method",
    ):
        assert default_run["checks"][check] > 0, check
    statuses = default_run["statuses"]
    for label in ("POST /api/encode", "POST /api/decode", "POST /api/grid"):
        seen = {status for (op, status), _ in statuses.items() if op == label}
        assert {200, 400, 404, 405, 415} <= seen, (label, seen)  # valid, invalid, unknown model, method, type
    for label in ("GET /api/sample", "GET /api/codes", "GET /static/{name}"):
        seen = {status for (op, status), _ in statuses.items() if op == label}
        assert 200 in seen and seen & {400, 404}, (label, seen)
    assert sum(default_run["cases"].values()) > 300


def test_spec_holds_for_other_code_sizes(shapes):
    """Models of different code sizes: a per-model ``oneOf`` body and a 1-D model's grid dims."""
    models = {
        name: aekit.AutoEncoder(code_dim=d, epochs=1, batch_size=64, random_state=0).fit(shapes)
        for name, d in (("line", 1), ("cube", 3))
    }
    run = fuzz(create_app(Session(models, shapes, max_points=50)), max(8, EXAMPLES // 4), seed=1)
    assert not run["errors"], "\n".join(run["errors"])
    assert not run["failures"], "\n\n".join(sorted(set(run["failures"]))[:20])
    assert run["statuses"][("POST /api/grid", 200)] > 0 and run["statuses"][("POST /api/decode", 200)] > 0
