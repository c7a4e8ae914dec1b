"""The query API's documentation page: Swagger UI, served from this server, over an OpenAPI 3.0 copy.

FastAPI describes the API in OpenAPI 3.1 (``/openapi.json``, the document for machines). The
Swagger UI that the swagger-ui-bundle package ships (4.15.5) reads 3.0 only, and refuses a 3.1
document whole: "Unable to render this definition … does not specify a valid version field".
Swagger UI 5, which reads 3.1, is packaged for Python only by a fork that installs under the same
module name, so the two would overwrite each other in one environment. The page is given
``/docs/openapi.json`` instead: the same document written in 3.0's words (:func:`openapi_30`),
which says the same of every operation. Nothing is loaded from a CDN.
"""

from __future__ import annotations

from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

#: What the page is told the document is: the last 3.0 release, which Swagger UI 4 reads.
OPENAPI_30 = "3.0.3"


def add_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs``, its files at ``/docs/static``, its document at ``/docs/openapi.json``."""
    app.mount("/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-static")

    @app.get("/docs/openapi.json", include_in_schema=False)
    async def document() -> Response:
        return JSONResponse(openapi_30(app.openapi()))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/docs/openapi.json",
            title="utmost query API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )


def openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.1 document as 3.0 says it; the original is left as it is.

    What FastAPI writes in 3.1's words: a value that may be null (``anyOf: [X, {type: null}]``
    or ``type: [X, "null"]``) becomes ``X`` with ``nullable: true``; a schema's ``examples`` list
    its first ``example``; ``const`` a one-value ``enum``; a numeric ``exclusiveMinimum`` (or
    ``Maximum``) a bound with the flag; ``info.summary``, which 3.0 has not, leads the description.

    >>> openapi_30({"openapi": "3.1.0", "info": {"title": "t", "summary": "s", "version": "1"},
    ...             "paths": {"/a": {"get": {"parameters": [{"name": "ci", "in": "query", "schema":
    ...             {"anyOf": [{"type": "number"}, {"type": "null"}], "title": "Ci"}}]}}}})["paths"]
    {'/a': {'get': {'parameters': [{'name': 'ci', 'in': 'query', 'schema': {'title': 'Ci', 'type': 'number', 'nullable': True}}]}}}
    """
    converted = _node(document)
    converted["openapi"] = OPENAPI_30
    info = converted.get("info", {})
    if "summary" in info:
        summary = info.pop("summary")
        info["description"] = f"{summary}\n\n{info['description']}" if info.get("description") else summary
    return converted


def _node(value: Any) -> Any:
    if isinstance(value, list):
        return [_node(item) for item in value]
    if not isinstance(value, dict):
        return value
    node = {key: _node(item) for key, item in value.items()}
    for union in ("anyOf", "oneOf"):
        if isinstance(node.get(union), list) and {"type": "null"} in node[union]:
            rest = [option for option in node.pop(union) if option != {"type": "null"}]
            node.update(rest[0] if len(rest) == 1 else {union: rest})
            node["nullable"] = True
    if isinstance(node.get("type"), list):
        kinds = [kind for kind in node["type"] if kind != "null"]
        node["nullable"] = node.get("nullable", False) or len(kinds) < len(node["type"])
        node["type"] = kinds[0] if len(kinds) == 1 else kinds
    if isinstance(node.get("examples"), list) and node["examples"]:
        node["example"] = node.pop("examples")[0]
    if "const" in node and "properties" not in node:
        node["enum"] = [node.pop("const")]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), (int, float)) and not isinstance(node[bound], bool):
            node[limit], node[bound] = node[bound], True
    return node
