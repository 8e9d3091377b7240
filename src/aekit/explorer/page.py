"""The single-file page: an HTML template with its scripts, styles and a JSON payload inlined.

:func:`write_standalone_page` turns the explorer's page (or any template) into
one file that runs from ``file://`` and makes no request at all.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aekit._atomic import atomic_write_text
from aekit.errors import ConfigError

#: Where decoder.js and the explorer's page files live.
STATIC_DIR = Path(__file__).resolve().parent / "static"

_SCRIPT_SRC = re.compile(r"<script\b([^>]*)>\s*</script\s*>", re.I)
_LINK = re.compile(r"<link\b[^>]*>", re.I)
_DATA_ELEMENT = re.compile(r"<script\b[^>]*\bid\s*=\s*['\"]?aekit-data['\"]?[^>]*>.*?</script\s*>", re.I | re.S)
_ATTR = re.compile(r"([\w:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))")
# Tags whose src/href/data attribute the browser would fetch on load.
_FETCHING = re.compile(
    r"<(?:img|iframe|source|audio|video|embed|object|input|track|script|link)\b[^>]*?"
    r"\b(?:src|href|data|srcset|poster)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))",
    re.I,
)
_INLINE_BODY = re.compile(r"(<(script|style)\b[^>]*>).*?(</\2\s*>)", re.I | re.S)
_CSS_URL = re.compile(r"(?:url\(\s*['\"]?|@import\s+['\"])(?!data:|#)([^'\")\s]+)", re.I)


def write_standalone_page(
    html_template: str,
    spec: Mapping[str, Any],
    out_path: str | os.PathLike,
    *,
    assets: Mapping[str, str] | None = None,
    extra_scripts: Sequence[str] = ("decoder.js",),
) -> Path:
    """Write one self-contained HTML file: scripts, styles and a JSON payload inlined.

    Every ``<script src=...></script>`` becomes an inline ``<script>`` with that
    file's text (``defer``/``async`` ones move to the end of ``<body>``, where an
    inline script runs at the same point), every ``<link rel="stylesheet">`` a
    ``<style>``. ``spec`` goes into ``<script type="application/json"
    id="aekit-data">``, replacing such an element if the template has one, else
    placed before the first script; the page reads it with
    ``JSON.parse(document.getElementById("aekit-data").textContent)``. Every ``<``
    in the payload is written ``\\u003c`` and ``</script`` in inlined code ``\\x3C/script``,
    so no content can close its element early. The file is written atomically.

    Parameters
    ----------
    html_template : str
        The page's HTML.
    spec : mapping
        The JSON payload, e.g. ``{"model": model_spec(est), ...}``; no NaN or infinity.
    out_path : path
        Where the page goes.
    assets : mapping of str to str, optional
        File contents by the name the template uses in ``src``/``href`` (the full
        reference or its last path segment); anything not given is read from
        ``aekit/explorer/static/``.
    extra_scripts : sequence of str, default ("decoder.js",)
        Scripts the standalone page needs beyond those the template references;
        each one it does not reference is inlined after the payload.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    ConfigError
        The template refers to a file that is neither in ``assets`` nor in the
        static folder, or to anything the browser would fetch (``<img src=...>``, a
        CSS ``url(...)``), since the page must make no requests at all.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> html = '<html><head><link rel="stylesheet" href="p.css"></head><body><script src="p.js"></script></body></html>'
    >>> out = write_standalone_page(html, {"note": "</script>"}, pathlib.Path(tempfile.mkdtemp()) / "page.html",
    ...                             assets={"p.css": "body{margin:0}", "p.js": "var data = 1;"})
    >>> text = out.read_text()
    >>> "body{margin:0}" in text, '"\\\\u003c/script>"' in text, "window.AekitDecoder" in text
    (True, True, True)
    >>> "src=" in text, "href=" in text
    (False, False)
    """

    def read(ref: str) -> str:
        name = _file_name(ref)
        for key in (ref, name):
            if assets is not None and key in assets:
                return assets[key]
        path = STATIC_DIR / name
        if name and path.is_file():
            return path.read_text(encoding="utf-8")
        raise ConfigError(
            f"the page refers to {ref!r}, which is neither in assets "
            f"({', '.join(sorted(assets or {})) or 'none given'}) nor a file in {STATIC_DIR}"
        )

    _check_no_fetches(html_template)
    referenced: set[str] = set()
    deferred: list[str] = []

    def script(match: re.Match) -> str:
        attrs = _attrs(match.group(1))
        src = attrs.get("src")
        if src is None or src.startswith("data:"):
            return match.group(0)
        referenced.add(_file_name(src))
        type_attr = f' type="{attrs["type"]}"' if "type" in attrs else ""
        inline = f"<script{type_attr}>\n{_escape_js(read(src))}\n</script>"
        if "defer" in attrs or "async" in attrs:
            deferred.append(inline)
            return ""
        return inline

    def link(match: re.Match) -> str:
        attrs = _attrs(match.group(0))
        href = attrs.get("href", "")
        if not href or href.startswith("data:") or "stylesheet" not in attrs.get("rel", "").lower().split():
            return match.group(0)  # fetches nothing: _check_no_fetches refused the rest
        css = read(href)
        _check_css(css, href)
        return f"<style>\n{_escape_css(css)}\n</style>"

    marker = "\x00aekit-data\x00"
    html, had_data = _DATA_ELEMENT.subn(marker, html_template, count=1)
    html = _SCRIPT_SRC.sub(script, html)
    html = _LINK.sub(link, html)

    payload = json.dumps(spec, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    head = f'<script type="application/json" id="aekit-data">{payload}</script>'
    for name in extra_scripts:
        if name not in referenced:
            head += f"\n<script>\n{_escape_js(read(name))}\n</script>"
    if deferred:
        html = _insert_before(html, re.compile(r"</body\s*>", re.I), "\n".join(deferred) + "\n")
    if had_data:
        html = html.replace(marker, head, 1)
    else:
        html = _insert_before(html, re.compile(r"<script\b|</body\s*>", re.I), head + "\n")
    out_path = Path(out_path)
    atomic_write_text(out_path, html)
    return out_path


# -- helpers ---------------------------------------------------------------------------
def _file_name(ref: str) -> str:
    """The last path segment of a URL reference, without query or fragment."""
    return ref.split("#")[0].split("?")[0].rsplit("/", 1)[-1]


def _check_no_fetches(html: str) -> None:
    """Refuse a template that would make the browser fetch anything but what gets inlined."""
    # Inline code may build tags in strings; only the markup itself is checked.
    markup = _INLINE_BODY.sub("", _DATA_ELEMENT.sub("", html))
    for tag in _LINK.findall(markup):
        attrs = _attrs(tag)
        href = attrs.get("href", "")
        if href and not href.startswith("data:") and "stylesheet" not in attrs.get("rel", "").lower().split():
            raise ConfigError(
                f"the page links {href!r} (rel={attrs.get('rel')!r}), which a file:// page would "
                "fetch; only stylesheets and scripts can be inlined"
            )
    markup = _LINK.sub("", _SCRIPT_SRC.sub("", markup))
    for found in _FETCHING.finditer(markup):
        url = next(g for g in found.groups() if g is not None)
        if not url.startswith(("data:", "#")):
            raise ConfigError(
                f"the page refers to {url!r} in {found.group(0)[:60]!r}, which it would fetch; "
                "a standalone page makes no requests"
            )
    for style in re.findall(r"<style\b[^>]*>(.*?)</style\s*>", html, flags=re.I | re.S):
        _check_css(style, "<style>")


def _check_css(css: str, where: str) -> None:
    found = _CSS_URL.search(css)
    if found is not None:
        raise ConfigError(
            f"stylesheet {where!r} refers to {found.group(1)!r}, which the page would fetch; use a data: URL"
        )


def _attrs(tag: str) -> dict[str, str]:
    """Attributes of an HTML tag (or its attribute text); bare ones (``defer``) map to ''."""
    out = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _ATTR.finditer(tag)}
    for bare in re.findall(r"\s(defer|async)(?=[\s>/]|$)", tag, flags=re.I):
        out.setdefault(bare.lower(), "")
    return out


def _escape_js(code: str) -> str:
    """Script text that cannot end its ``<script>`` early: ``\\x3C`` is ``<`` in strings and regexes."""
    return re.sub(r"<(?=/script|!--)", r"\\x3C", code, flags=re.I)


def _escape_css(css: str) -> str:
    """Style text that cannot end its ``<style>`` early: ``\\/`` is ``/`` in CSS strings."""
    return re.sub(r"</(?=style)", r"<\\/", css, flags=re.I)


def _insert_before(html: str, pattern: re.Pattern, text: str) -> str:
    """``text`` before the first match of ``pattern``, or at the end."""
    found = pattern.search(html)
    if found is None:
        return html + text
    return html[: found.start()] + text + html[found.start() :]
