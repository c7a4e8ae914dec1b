"""The answers the SDKs expect, in Mixpanel's shapes, for success and for every failure.

Two families:

- ``/track``, ``/engage``, ``/groups``, and ``/import`` sent as a ``data=`` form (as the Python
  and Node SDKs send it): ``1`` / ``0`` as text, or with ``verbose=1`` (in the query string or
  the form body) ``{"status": 1, "error": null}`` / ``{"status": 0, "error": "..."}``. Each SDK
  reads only the one it asks for: the Python SDK sends ``verbose=1`` and parses the JSON, the
  Node SDK sends ``verbose=0`` and compares the body with ``1``.
- ``/import`` with a JSON or NDJSON body: ``{"code": 200, "num_records_imported": N, "status":
  "OK"}``, or ``{"code": 4xx, "error", "status", "num_records_imported", "failed_records"}``,
  whatever ``verbose`` says: it is Mixpanel's one answer there, and not one of its parameters.

A failure is always a 4xx; when some records of a batch fail, the valid ones are stored, the
answer is 400, and ``failed_records`` lists each bad record's index, ``$insert_id``, field and
message (also on the verbose ``status``/``error`` shape, as an extra key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus

from starlette.responses import JSONResponse, PlainTextResponse, Response

from utmost.collector.records import Failure

#: How many failed records the ``error`` message spells out; ``failed_records`` has them all.
NAMED_FAILURES = 5


@dataclass
class Outcome:
    """What happened to a request: records accepted, records refused, or a refusal of all."""

    accepted: int
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    status: int | None = None

    @property
    def http_status(self) -> int:
        if self.status:
            return self.status
        return 400 if self.error or self.failures else 200

    @property
    def message(self) -> str | None:
        if self.error:
            return self.error
        if not self.failures:
            return None
        failures = sorted(self.failures, key=lambda failure: failure.index)
        named = "; ".join(str(failure) for failure in failures[:NAMED_FAILURES])
        more = f" (and {len(failures) - NAMED_FAILURES} more)" if len(failures) > NAMED_FAILURES else ""
        total = self.accepted + len(failures)
        return f"{len(failures)} of {total} records rejected: {named}{more}"


def answer(endpoint: str, outcome: Outcome, *, verbose: bool, form: bool) -> Response:
    """The response for ``endpoint`` ("track" style or "import"), given how the request came."""
    status = outcome.http_status
    failed = [failure.as_json() for failure in sorted(outcome.failures, key=lambda f: f.index)]
    if endpoint == "import" and not form:
        body: dict[str, object] = {"code": status, "num_records_imported": outcome.accepted}
        body["status"] = "OK" if status == 200 else HTTPStatus(status).phrase
        if status != 200:
            body |= {"error": outcome.message, "failed_records": failed}
        return JSONResponse(body, status)
    if verbose:
        body = {"status": int(status == 200), "error": outcome.message}
        if failed:
            body["failed_records"] = failed
        return JSONResponse(body, status)
    return PlainTextResponse("1" if status == 200 else "0", status)
