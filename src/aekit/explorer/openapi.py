"""The explorer's OpenAPI 3.1 description, built from one session: the contract the server keeps.

The spec is exact for the session it describes: model names are an ``enum``, every
code has the model's ``code_dim`` numbers within ``max_abs_code``, every input the
data set's ``n_features`` numbers within its value range, and each request body
forbids unknown fields, as the server does. So a request the spec calls valid is
answered 2xx, one it calls invalid gets the documented 4xx, and a fuzzer
(schemathesis, ``tests/explorer/test_schemathesis.py``) can check both directions.

The drag WebSocket (``/ws/drag``) is not HTTP and OpenAPI cannot describe it; its
messages are listed in :mod:`aekit.explorer.server`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from aekit.explorer.session import MAX_GRID_VALUES, Session

#: The page's assets, served by name from the package (no other file is reachable).
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

_ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_WHY = {
    400: "A malformed request: not JSON, a missing or unknown field or query parameter, a value of the "
    "wrong type or out of range, or a Host header the server does not answer to.",
    401: "No token, or a wrong one: send Authorization: Bearer TOKEN, the cookie the page's first load "
    "sets, or ?token=TOKEN.",
    403: "A request from another origin (its Origin header is not this page's).",
    404: "An unknown model name.",
    413: "A body over the size limit, or a grid over the value limit.",
    415: "A body that is not sent as application/json.",
    422: "More codes than max_decode in one request, or the model returned non-finite numbers for a valid request.",
    500: "An internal error; the message is generic and the server's log has the details.",
}


def build_spec(session: Session, max_body_bytes: int, *, token_required: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every HTTP endpoint serving ``session``.

    Parameters
    ----------
    session : Session
        Its models, data set and limits fix the enums, lengths and ranges.
    max_body_bytes : int
        The request body limit (413 beyond it).
    token_required : bool, default False
        The server requires its token (as ``aekit explore`` does): the document then lists
        the ways to send it and every operation's 401 (and a POST's 403).

    Returns
    -------
    dict
        JSON-ready; served at ``/openapi.json``.

    Examples
    --------
    >>> spec = build_spec(session, 4 * 1024 * 1024, token_required=True)  # doctest: +SKIP
    >>> sorted(spec["components"]["securitySchemes"])  # doctest: +SKIP
    ['bearer', 'query']
    """
    from aekit._version import __version__

    meta = session.meta()
    ds, limits = meta["dataset"], meta["limits"]
    n_features, (low, high) = ds["n_features"], ds["value_range"]
    bound = limits["max_abs_code"]
    by_dim: dict[int, list[str]] = {}
    for m in meta["models"]:
        by_dim.setdefault(m["code_dim"], []).append(m["name"])
    dims = sorted(by_dim)
    max_n = min(limits["max_grid"], math.isqrt(MAX_GRID_VALUES // n_features))
    x = _numbers(n_features, low, high, f"An input: {n_features} numbers in the data's range [{low:g}, {high:g}].")
    names = {"type": "string", "enum": [m["name"] for m in meta["models"]]}

    def per_model(body: Callable[[int, dict], tuple[dict, list[str]]]) -> dict[str, Any]:
        """``body(code_dim, model_enum)`` -> (properties, required) as one closed object per code size
        (a body's lengths depend on its model), joined by ``oneOf`` when the models differ."""
        options = [_object(body(code_dim, {"type": "string", "enum": by_dim[code_dim]})) for code_dim in dims]
        return options[0] if len(options) == 1 else {"oneOf": options}

    def code(code_dim: int) -> dict[str, Any]:
        return _numbers(code_dim, -bound, bound, f"A code: {code_dim} numbers in [-{bound:g}, {bound:g}].")

    def grid_dims(code_dim: int) -> dict[str, Any]:
        if code_dim == 1:  # the page's default [0, 1] is accepted for a 1-D code too
            return {"enum": [[0], [0, 1]], "default": [0, 1]}
        return {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": code_dim - 1},
            "minItems": 2,
            "maxItems": 2,
            "uniqueItems": True,
            "default": [0, 1],
            "description": "The code dimensions along x and y.",
        }

    encode = per_model(lambda d, model: ({"model": model, "x": x}, ["model", "x"]))
    decode = per_model(
        lambda d, model: (
            {
                "model": model,
                "codes": {"type": "array", "items": code(d), "minItems": 1, "maxItems": limits["max_decode"]},
                "x": {**x, "type": ["array", "null"], "description": "Measure each decoded sample's error against it."},
            },
            ["model", "codes"],
        )
    )
    grid = per_model(
        lambda d, model: (
            {
                "model": model,
                "n": {"type": "integer", "minimum": 2, "maximum": max_n, "default": 10, "description": "Grid side."},
                "dims": grid_dims(d),
                "base": {**code(d), "type": ["array", "null"], "description": "Values of the other dimensions."},
            },
            ["model"],
        )
    )

    vector = {"type": "array", "items": {"type": "number"}, "minItems": dims[0], "maxItems": dims[-1]}
    sample_x = {"type": "array", "items": {"type": "number"}, "minItems": n_features, "maxItems": n_features}
    label = {"type": ["integer", "null"]}
    schemas = {
        "Error": _object({"error": {"type": "string", "minLength": 1}}, ["error"], closed=False),
        "Meta": _object(
            {
                "aekit_version": {"type": "string"},
                "dataset": _object(
                    {
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "n": {"type": "integer", "minimum": 1},
                        "sample_shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                        "n_features": {"const": n_features},
                        "label_names": {"type": ["array", "null"], "items": {"type": "string"}},
                        "value_range": _pair(),
                    },
                    closed=False,
                ),
                "models": {
                    "type": "array",
                    "minItems": 1,
                    "items": _object(
                        {
                            "name": names,
                            "variant": {"type": "string"},
                            "bottleneck": {"type": "string"},
                            "stochastic": {"type": "boolean"},
                            "code_dim": {"enum": dims},
                            "input_shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                            "latent_range": {"type": "array", "items": _pair()},
                        },
                        closed=False,
                    ),
                },
                "limits": _object({key: {"type": "number"} for key in limits}, closed=False),
            },
            closed=False,
        ),
        "Presets": {
            "type": "array",
            "items": _object({"name": {"type": "string"}, "label": label, "x": sample_x}, closed=False),
        },
        "Sample": _object(
            {
                "index": {"type": "integer", "minimum": 0},
                "label": label,
                "label_name": {"type": ["string", "null"]},
                "x": sample_x,
            },
            closed=False,
        ),
        "Codes": _object(
            {
                "codes": {"type": "array", "items": vector},
                "indices": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                "labels": {"type": ["array", "null"], "items": {"type": "integer"}},
            },
            closed=False,
        ),
        "Encoded": _object(
            {
                "mean": vector,
                "logvar": {**vector, "type": ["array", "null"]},
                "reconstruction": sample_x,
                "error": {"type": "number", "minimum": 0},
                "terms": {"type": "object", "additionalProperties": {"type": "number"}},
            },
            closed=False,
        ),
        "Decoded": _object(
            {
                "codes": {"type": "array", "items": vector, "minItems": 1},
                "images": {"type": "array", "items": sample_x, "minItems": 1},
                "errors": {"type": ["array", "null"], "items": {"type": "number", "minimum": 0}},
            },
            closed=False,
        ),
        "Grid": _object(
            {
                "n": {"type": "integer"},
                "dims": {"type": "array", "items": {"type": "integer"}},
                "xs": {"type": "array", "items": {"type": "number"}},
                "ys": {"type": ["array", "null"], "items": {"type": "number"}},
                "images": {"type": "array", "items": sample_x},
            },
            closed=False,
        ),
    }
    query_model = {"name": "model", "in": "query", "required": True, "schema": names}
    paths = {
        "/": {
            "get": {
                "operationId": "page",
                "summary": "The explorer page (HTML, strict CSP).",
                "responses": {
                    "200": {"description": "The page.", "content": {"text/html": {"schema": {"type": "string"}}}},
                    **_errors(400),
                },
            }
        },
        "/static/{name}": {
            "get": {
                "operationId": "asset",
                "summary": "One of the page's scripts or style sheets, by name.",
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": static_names()},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The file.",
                        "content": {t.split(";")[0]: {"schema": {"type": "string"}} for t in STATIC_TYPES.values()},
                    },
                    **_errors(400),
                    "404": {"description": "Not one of the page's assets.", "content": _ERROR_JSON},
                },
            }
        },
        "/openapi.json": _get("openapi", "This document.", {"type": "object", "required": ["openapi", "paths"]}),
        "/api/meta": _get(
            "meta", "Data set, models (code_dim, latent range) and limits.", {"$ref": "#/components/schemas/Meta"}
        ),
        "/api/presets": _get("presets", "The preset inputs.", {"$ref": "#/components/schemas/Presets"}),
        "/api/sample": _get(
            "sample",
            "One sample of the data set.",
            {"$ref": "#/components/schemas/Sample"},
            [
                {
                    "name": "index",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 0, "maximum": ds["n"] - 1},
                }
            ],
        ),
        "/api/codes": _get(
            "codes",
            "Codes, row indices and labels of a bounded, seeded subsample.",
            {"$ref": "#/components/schemas/Codes"},
            [
                query_model,
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": limits["max_points"]},
                },
            ],
            (404,),
        ),
        "/api/encode": _post("encode", "Encode one input and reconstruct it.", encode, "Encoded"),
        "/api/decode": _post("decode", f"Decode 1 to {limits['max_decode']} codes.", decode, "Decoded"),
        "/api/grid": _post("grid", "The decoded n x n manifold over the latent range.", grid, "Grid"),
    }
    out: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "aekit explorer",
            "version": __version__,
            "description": "The explorer's HTTP API, exact for the session served. Every error is JSON "
            '`{"error": message}`, never a stack trace. Request bodies are JSON '
            f"objects of at most {max_body_bytes} bytes with no unknown fields; query "
            "parameters are the documented ones, each at most once. The drag WebSocket "
            "`/ws/drag` is described in aekit.explorer.server.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if token_required:
        _require_token(out)
    return out


def _require_token(spec: dict[str, Any]) -> None:
    """Add the token's carriers and the 401 (and a POST's 403) to every operation of ``spec``."""
    spec["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "The token aekit explore printed."},
        "query": {"type": "apiKey", "in": "query", "name": "token", "description": "The printed URL's ?token=."},
    }
    spec["security"] = [{"bearer": []}, {"query": []}]
    spec["info"]["description"] += (
        " Every route requires the server's token (401 without it): as a bearer token, as ?token=, or in the "
        "HttpOnly cookie the page's first load (/?token=...) sets. POSTs from another origin get 403."
    )
    for operations in spec["paths"].values():
        for method, operation in operations.items():
            operation["responses"].update(_errors(401, *((403,) if method == "post" else ())))


def static_names() -> list[str]:
    """The asset names ``/static/{name}`` serves: the package's scripts and style sheets."""
    from importlib.resources import files

    folder = files("aekit.explorer") / "static"
    return sorted(p.name for p in folder.iterdir() if p.is_file() and ("." + p.name.rsplit(".", 1)[-1]) in STATIC_TYPES)


# -- schema pieces --------------------------------------------------------------------------
def _numbers(n: int, low: float, high: float, description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "number", "minimum": low, "maximum": high},
        "minItems": n,
        "maxItems": n,
        "description": description,
    }


def _pair() -> dict[str, Any]:
    return {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}


def _object(properties: Any, required: list[str] | None = None, closed: bool = True) -> dict[str, Any]:
    """An object schema; ``properties`` may be a ``(properties, required)`` pair. Request bodies are closed."""
    if isinstance(properties, tuple):
        properties, required = properties
    out: dict[str, Any] = {"type": "object", "properties": properties, "required": list(required or properties)}
    if closed:
        out["additionalProperties"] = False
    return out


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": _WHY[s], "content": _ERROR_JSON} for s in statuses}


def _get(
    name: str, summary: str, schema: dict[str, Any], parameters: list | None = None, errors: tuple[int, ...] = ()
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": name,
            "summary": summary,
            "parameters": parameters or [],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
                **_errors(400, *errors, 500),
            },
        }
    }


def _post(name: str, summary: str, body: dict[str, Any], answer: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": name,
            "summary": summary,
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{answer}"}}},
                },
                **_errors(400, 404, 413, 415, 422, 500),
            },
        }
    }
