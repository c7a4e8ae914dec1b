"""The dashboard: server-rendered pages over the same service and options as the query API.

A question page takes exactly the query API's parameters, so its address and its answer in
JSON differ only by ``/api``: ``/attribution?conversion=…&models=first_touch,linear`` shows
what ``/api/attribution?conversion=…&models=first_touch,linear`` returns. A form submit
(repeated ``models=`` for each ticked box, empty fields) is redirected once to that canonical
address: multiple values joined with commas, empty fields and the API's own defaults left
out. With no question at all the page asks the demo's: the booking event, under first touch,
last touch and linear.

Nothing on a page comes from another origin: pygal's charts are inlined without its CDN
script, the page's own script and style sheet are served from ``/static``, and every page
says so in its ``Content-Security-Policy``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from utmost.engine import (
    ATTRIBUTE,
    DEFAULT_MODELS,
    DEVICE_PREFIX,
    JOURNEY,
    NAMES,
    PARAMETERS,
    PARAMETERS_BY_NAME,
    REPORT,
    REQUIRED,
    Journey,
    Options,
    Parameter,
    Report,
    Result,
    evaluation_parameters,
    money_totals,
    parameters,
    parse_model,
)
from utmost.errors import InputError
from utmost.limits import TooManyFailuresError
from utmost.store import Project
from utmost.web import charts
from utmost.web.api import options_of
from utmost.web.auth import followed_from_elsewhere, request_project, sign_in, sign_out

router = APIRouter(include_in_schema=False)

templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True, undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
))
# A float's every digit, for sorting and for tests; "no value" (-inf) as JavaScript's Number reads it.
templates.env.filters["exact"] = lambda value: "-Infinity" if value == float("-inf") else repr(value)
templates.env.filters["keyquery"] = lambda key: urlencode([("key", part) for part in key], quote_via=quote)
templates.env.filters["when"] = lambda time: f"{time:%Y-%m-%d %H:%M:%S} UTC"
templates.env.tests["devicelike"] = lambda any_id: str(any_id).startswith(DEVICE_PREFIX)

LOOKBACKS = ("1d", "7d", "14d", "30d", "60d", "90d")


#: The API's default for each parameter, as text: a canonical address leaves these out.
API_DEFAULTS = {p.query: str(p.default) for p in PARAMETERS
                if p.default is not REQUIRED and p.default is not None and p.type is not bool}
#: The evaluation page's form: ``utmost evaluate``'s options (the truth file fixes the rest).
EVALUATE = "evaluate"
#: Parameters with a field of their own on a question's form; every other one of the question gets
#: a text box, a list of choices or a check box under "More options", from its row of the table.
OWN_FIELDS = {ATTRIBUTE: ("conversion", "models", "by", "lookback", "scope", "start", "end", "ci"),
              REPORT: ("conversion", "model", "interval", "by", "lookback", "scope", "start", "end"),
              EVALUATE: ("models", "lookback", "scope")}
_WIDGETS = ("text", "choice", "check")
#: Pages may only load from here: no CDN, no inline script (pygal's SVG keeps inline styles).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
}
SIGN_IN_ERRORS = {
    "secret": "That is not the secret of any project on this server.",
    "link": "That sign-in link is invalid or was already used. Sign in with the project secret.",
    "elsewhere": "A sign-in link works only when opened by hand: paste it into the address bar.",
}
SIGN_IN_WAIT = "Too many wrong secrets from your address: try again in {seconds} seconds."
#: Why a touchpoint did or did not count, in words for the journey page.
TOUCH_STATUS = {
    "counted": "counted",
    "after the conversion": "not counted: after the conversion",
    "outside the lookback window": "not counted: before the lookback window",
    "another session than the conversion's": "not counted: another session (scope session)",
}


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """A page from its template, with what every page needs (nav, project, error)."""
    context = {"project": None, "error": None, "active": name.removesuffix(".html"), **context}
    return templates.TemplateResponse(request, name, context, status_code=status, headers=SECURITY_HEADERS)


# --- signing in and out ----------------------------------------------------------------------

def _local(target: str) -> str:
    """``target`` when it is a path on this server, else the attribution page (no open redirect)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/attribution"


@router.get("/")
def home() -> Response:
    return RedirectResponse("/attribution", 303)


@router.get("/signin")
def signin_form(request: Request, next: str = "/attribution", error: str = "") -> Response:
    return render(request, "signin.html", next=_local(next), error=SIGN_IN_ERRORS.get(error))


@router.post("/signin")
def signin(request: Request, secret: Annotated[str, Form()] = "",
           next_: Annotated[str, Form(alias="next")] = "/attribution") -> Response:
    try:
        project = sign_in(request, secret)
    except TooManyFailuresError as error:
        wait = SIGN_IN_WAIT.format(seconds=error.retry_after)
        refused = render(request, "signin.html", 429, next=_local(next_), error=wait)
        refused.headers["Retry-After"] = str(error.retry_after)
        return refused
    if project is None:
        return render(request, "signin.html", 401, next=_local(next_), error=SIGN_IN_ERRORS["secret"])
    return RedirectResponse(_local(next_), 303)


@router.get("/signin/{code}")
def signin_link(request: Request, code: str) -> Response:
    """A one-time link (``utmost demo`` prints one): signs in and forgets the code.

    Only when opened by hand (typed, pasted, clicked in a terminal) or from this server's pages:
    a link on another site must not sign a visitor in to a project of its choosing.
    """
    if followed_from_elsewhere(request):
        return RedirectResponse("/signin?error=elsewhere", 303)
    if request.app.state.sign_in_links.redeem(request, code) is None:
        return RedirectResponse("/signin?error=link", 303)
    return RedirectResponse("/attribution", 303)


@router.post("/signout")
def signout(request: Request) -> Response:
    sign_out(request)
    return RedirectResponse("/signin", 303)


# --- the question in the address ----------------------------------------------------------

def question_of(request: Request) -> dict[str, str]:
    """The query parameters, repeated ones joined with commas, empty ones dropped."""
    names = dict.fromkeys(request.query_params.keys())
    joined = {n: ",".join(v.strip() for v in request.query_params.getlist(n) if v.strip()) for n in names}
    return {n: v for n, v in joined.items() if v}


def canonical(params: dict[str, str], keep: tuple[str, ...] = ("conversion",)) -> str:
    """The query string the API takes: known parameters in the API's order, defaults left out."""
    order = {name: n for n, name in enumerate(("id", *(p.query for p in PARAMETERS)))}
    kept = {k: v for k, v in params.items() if k in keep or API_DEFAULTS.get(k) != v}
    ordered = sorted(kept.items(), key=lambda kv: order.get(kv[0], len(order)))
    return urlencode(ordered, quote_via=quote, safe=",")


@dataclass
class Pickers:
    """What the question form offers, and what is chosen in it (the parameters as text)."""

    chosen: dict[str, str]
    conversions: list[dict[str, Any]]
    properties: list[str]
    models: list[str] = field(default_factory=list)
    lookbacks: list[str] = field(default_factory=list)
    question: str = ATTRIBUTE

    def value(self, name: str) -> str:
        return self.chosen.get(name) or API_DEFAULTS.get(name, "")

    def many(self, name: str) -> list[str]:
        return [v for v in self.value(name).split(",") if v]

    @staticmethod
    def label(name: str) -> str:
        return PARAMETERS_BY_NAME[name].label

    @staticmethod
    def parameter(name: str) -> Parameter:
        return PARAMETERS_BY_NAME[name]

    @property
    def offered(self) -> tuple[Parameter, ...]:
        """The parameters the form asks: the question's (the evaluation's: ``utmost evaluate``'s)."""
        return evaluation_parameters() if self.question == EVALUATE else parameters(self.question)

    @property
    def more(self) -> list[Parameter]:
        """The parameters under "More options": text boxes, then lists of choices, then check boxes."""
        others = [p for p in self.offered if p.name not in OWN_FIELDS[self.question]]
        return sorted(others, key=lambda p: _WIDGETS.index(self.widget(p)))

    @staticmethod
    def widget(parameter: Parameter) -> str:
        return "check" if parameter.type is bool else "choice" if Pickers.choices(parameter) else "text"

    @staticmethod
    def choices(parameter: Parameter) -> list[str]:
        numbers = range(parameter.bounds[0], parameter.bounds[1] + 1) if parameter.bounds else ()
        return [*parameter.choices, *map(str, numbers)]

    @staticmethod
    def meaning(model: str) -> str:
        """What a model offered in the form means; nothing for a name that is no model."""
        try:
            return parse_model(model).meaning
        except InputError:
            return ""


def pickers(service: Any, project: Project, chosen: dict[str, str], question: str = ATTRIBUTE) -> Pickers:
    offered = Pickers(chosen, service.event_names(project.name), service.properties(project.name), question=question)
    asked = offered.many("models") if question != REPORT else [offered.value("model")]
    offered.models = [*NAMES, *(m for m in asked if m not in NAMES)]
    offered.lookbacks = [*LOOKBACKS, *([offered.value("lookback")] if offered.value("lookback") not in LOOKBACKS else [])]
    offered.properties += [p for p in offered.many("by") if p not in offered.properties]
    return offered


# --- attribution ---------------------------------------------------------------------------

@dataclass
class CreditRow:
    """One key of the table: each model's numbers (conversions, revenue, share, intervals)."""

    key: tuple[str, ...]
    cells: dict[str, dict[str, float]]


#: The table's columns per model, and their headings.
METRICS = {"conversions": "Credit", "share": "Share", "revenue": "Revenue"}
INTERVAL_METRICS = {"conversions_ci": "Credit interval", "revenue_ci": "Revenue interval"}
#: With spend (docs/semantics.md §15): shown as "·" where there is none, sorted first.
MONEY_METRICS = {"cost": "Cost", "cpa": "CPA", "roas": "ROAS"}
#: What the difference view subtracts: the default model, as Mixpanel's and most tools' is.
BASELINE_MODEL = "last_touch"


@dataclass(frozen=True)
class Cell:
    """One number of the table as shown (``text``) and as sorted (``value``, exact)."""

    model: str
    metric: str
    text: str
    value: float
    low: float | None = None
    high: float | None = None


@dataclass
class Credit:
    """A result shaped for the page: keys in the CLI's order, models side by side."""

    models: list[str]
    by: tuple[str, ...]
    rows: list[CreditRow]
    totals: dict[str, dict[str, float | None]]
    intervals: bool
    result: Result
    money: bool = False

    @property
    def labels(self) -> list[str]:
        return [key_label(row.key) for row in self.rows]

    @property
    def differences(self) -> list[tuple[tuple[str, ...], list[tuple[str, float]]]] | None:
        """Per key, each other model's credit minus last touch's: what leaving last click changes.
        None unless last_touch and another model were asked for."""
        others = [m for m in self.models if m != BASELINE_MODEL]
        if BASELINE_MODEL not in self.models or not others:
            return None

        def credit(row: CreditRow, model: str) -> float:
            return row.cells.get(model, {}).get("conversions") or 0.0

        return [(row.key, [(m, credit(row, m) - credit(row, BASELINE_MODEL)) for m in others]) for row in self.rows]

    @property
    def metrics(self) -> dict[str, str]:
        return {**METRICS, **(INTERVAL_METRICS if self.intervals else {}), **(MONEY_METRICS if self.money else {})}

    def cells(self, numbers: dict[str, dict[str, float | None]]) -> list[Cell]:
        """Every model's cells for one row (``numbers``: model → metric → value; 0 when absent)."""
        shown = []
        for model in self.models:
            got = numbers.get(model, {})
            for metric in self.metrics:
                base = metric.removesuffix("_ci")
                if metric.endswith("_ci"):
                    low, high = got.get(f"{base}_low") or 0.0, got.get(f"{base}_high") or 0.0
                    shown.append(Cell(model, metric, f"{low:,.2f} – {high:,.2f}", low, low, high))
                elif metric in MONEY_METRICS:
                    money = got.get(metric)
                    shown.append(Cell(model, metric, "·" if money is None else f"{money:,.2f}",
                                      float("-inf") if money is None else money))
                else:
                    value = got.get(metric) or 0.0
                    text = f"{value:.1%}" if metric == "share" else f"{value:,.2f}"
                    shown.append(Cell(model, metric, text, value))
        return shown


def key_label(key: tuple[str, ...]) -> str:
    return " · ".join(key)


def credit_of(result: Result) -> Credit:
    """Rows per key; share = credit ÷ the question's conversions (above 100% in total only
    under participation, which credits every key a conversion touched with 1)."""
    by, models = result.options.by, [m.name for m in result.options.models]
    cells: dict[tuple[str, ...], dict[str, dict[str, float]]] = {}
    for row in result.totals.to_pylist():
        numbers = {k: v for k, v in row.items() if k != "model" and k not in by}
        numbers["share"] = row["conversions"] / result.conversions if result.conversions else 0.0
        cells.setdefault(tuple(row[p] for p in by), {})[row["model"]] = numbers
    first = models[0]
    order = sorted(cells, key=lambda k: (-cells[k].get(first, {}).get("conversions", 0.0), k))
    totals: dict[str, dict[str, float | None]] = {m: {metric: sum(cells[k][m][metric] for k in cells if m in cells[k])
                  for metric in ("conversions", "revenue", "share")} for m in models}
    intervals = "conversions_low" in result.totals.column_names
    money = "cost" in result.totals.column_names
    if money:
        for m, spent in money_totals(cells, models).items():
            totals[m] |= spent
    return Credit(models, by, [CreditRow(k, cells[k]) for k in order], totals, intervals, result, money)


#: The charts of an answer: what each draws, and the words of its axis and title.
CHARTS = {"conversions": ("conversions credited", "Conversions credited"),
          "revenue": ("revenue credited", "Revenue credited"),
          "roas": ("revenue per unit of cost", "Return on ad spend")}  # with spend only


def credit_charts(credit: Credit) -> dict[str, Markup]:
    """Conversions and revenue per key, one bar per model (with whiskers under intervals)."""

    def column(rows: list[CreditRow], model: str, metric: str) -> list[float]:
        return [row.cells.get(model, {}).get(metric) or 0.0 for row in rows]

    drawn = {}
    for metric, (axis, words) in CHARTS.items():
        rows = credit.rows
        if metric == "roas":  # only the keys that spent have a return on it
            rows = [row for row in rows if next(iter(row.cells.values())).get("cost") is not None]
            if not credit.money or not rows:
                continue
        values = {m: column(rows, m, metric) for m in credit.models}
        bounds = None
        if credit.intervals and metric != "roas":
            bounds = {m: list(zip(column(rows, m, f"{metric}_low"), column(rows, m, f"{metric}_high")))
                      for m in credit.models}
        title = f"{words} per {', '.join(credit.by)}, one bar per model"
        drawn[metric] = Markup(charts.credit_chart([key_label(r.key) for r in rows], values, bounds, title, axis))
    return drawn


@router.get("/attribution")
def attribution(request: Request) -> Response:
    project = request_project(request)
    service = request.app.state.service
    chosen = question_of(request)
    offered = pickers(service, project, chosen)
    first = service.default_question(project.name)
    if not first["conversion"]:
        return render(request, "attribution.html", project=project, pickers=offered, credit=None, api=None)
    if not chosen:
        chosen = dict(first)
    chosen.setdefault("conversion", first["conversion"])
    query = canonical(chosen)
    if parse_qsl(request.url.query, keep_blank_values=True) != parse_qsl(query):  # not only spelt otherwise
        return RedirectResponse(f"/attribution?{query}", 303)
    offered.chosen = chosen
    page: dict[str, Any] = {"project": project, "pickers": offered, "api": f"/api/attribution?{query}", "query": query}
    try:
        result = service.attribution(options_of(chosen, project.name))
    except InputError as error:
        return render(request, "attribution.html", 400, error=str(error), credit=None, **page)
    credit = credit_of(result)
    compare = None if BASELINE_MODEL in credit.models else canonical(
        {**chosen, "models": ",".join([BASELINE_MODEL, *credit.models])})
    return render(request, "attribution.html", credit=credit, charts=credit_charts(credit),
                  legend=charts.legend(credit.models), compare=compare, **page)


@router.get("/conversions")
def conversions(request: Request) -> Response:
    """The conversions credited to one key (``key``, one per --by property) under each model of
    the question: the rows behind a number of the attribution table, each leading to its journey."""
    project = request_project(request)
    service = request.app.state.service
    chosen = question_of(request)
    key = tuple(value for name, value in parse_qsl(request.url.query, keep_blank_values=True) if name == "key")
    chosen.pop("key", None)
    query = canonical(chosen)
    page: dict[str, Any] = {"project": project, "key": key, "query": query, "rows": [], "by": ()}
    try:
        options = options_of(chosen, project.name)
        if len(key) != len(options.by):
            raise InputError(f"key: give one value per --by property ({', '.join(options.by)}), as key=…")
        result = service.attribution(options, per_conversion=True)
    except InputError as error:
        return render(request, "conversions.html", 400, error=str(error), **page)
    rows = [r for r in result.per_conversion.to_pylist() if tuple(r[p] for p in options.by) == key]
    return render(request, "conversions.html", **{**page, "rows": rows, "by": options.by,
                                                   "conversion": options.conversion})


# --- the campaign report ---------------------------------------------------------------------

#: The report's columns beside its keys, and their headings (docs/semantics.md §16).
REPORT_HEADINGS = {"sessions": "Sessions", "persons": "Persons", "landings": "Landings", "conversions": "Credit",
                   "conversion_rate": "Conv. rate", "revenue": "Revenue", "cost": "Cost", "cpa": "CPA", "roas": "ROAS"}
#: The most keys the chart draws a line for (the most credited); the table has them all.
CHART_KEYS = 10


@dataclass
class ReportView:
    """The report as the page shows it: each row's key (period first) and its cells."""

    keys: list[str]  # the key columns' names: period (with an interval), then the --by properties
    columns: dict[str, str]  # the number columns' names and headings
    rows: list[tuple[tuple[str, ...], list[Cell]]]
    found: Report


def report_view(found: Report, options: Options) -> ReportView:
    keys = [*(["period"] if options.interval else []), *options.by]
    columns = {c: REPORT_HEADINGS[c] for c in found.table.column_names if c in REPORT_HEADINGS}
    rows = []
    for row in found.table.to_pylist():
        cells = [Cell("", c, _report_text(c, row[c]), float("-inf") if row[c] is None else float(row[c]))
                 for c in columns]
        rows.append((tuple(row[k] for k in keys), cells))
    return ReportView(keys, columns, rows, found)


def _report_text(column: str, value: float | int | None) -> str:
    if value is None:
        return "·"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.1%}" if column == "conversion_rate" else f"{value:,.2f}"


def report_chart(found: Report, options: Options) -> tuple[Markup, list[tuple[str, str]]] | None:
    """With an interval: credit per key over the periods, one line per key (the
    :data:`CHART_KEYS` most credited), and its legend; None without one."""
    if not options.interval:
        return None
    rows = found.table.to_pylist()
    periods = sorted({r["period"] for r in rows})
    credit: dict[str, list[float]] = {}
    for row in rows:
        line = credit.setdefault(key_label(tuple(row[p] for p in options.by)), [0.0] * len(periods))
        line[periods.index(row["period"])] += row["conversions"]
    drawn = sorted(credit, key=lambda k: (-sum(credit[k]), k))[:CHART_KEYS]
    lines = {k: credit[k] for k in drawn}
    title = f"Conversions credited ({options.models[0].name}) per {', '.join(options.by)} and {options.interval}"
    return Markup(charts.credit_over_time(periods, lines, title)), charts.legend(drawn)


@router.get("/report")
def report(request: Request) -> Response:
    project = request_project(request)
    service = request.app.state.service
    chosen = question_of(request)
    offered = pickers(service, project, chosen, REPORT)
    first = service.default_question(project.name)
    if not first["conversion"]:
        return render(request, "report.html", project=project, pickers=offered, view=None, api=None)
    chosen.setdefault("conversion", first["conversion"])
    query = canonical(chosen)
    if parse_qsl(request.url.query, keep_blank_values=True) != parse_qsl(query):  # not only spelt otherwise
        return RedirectResponse(f"/report?{query}", 303)
    offered.chosen = chosen
    page: dict[str, Any] = {"project": project, "pickers": offered, "api": f"/api/report?{query}", "query": query}
    try:
        options = options_of(chosen, project.name, REPORT)
        found = service.report(options)
    except InputError as error:
        return render(request, "report.html", 400, error=str(error), view=None, **page)
    return render(request, "report.html", view=report_view(found, options), chart=report_chart(found, options),
                  options=options, **page)


# --- a model's accuracy on a simulation --------------------------------------------------------

@router.get("/evaluate")
def evaluation(request: Request) -> Response:
    """The truth file of a simulation, picked here and read by the page's script, posted to
    ``/api/evaluate`` with the options of the form; the answer drawn beside the truth
    (static/evaluate.js, in the SVG conventions of :mod:`utmost.web.charts`)."""
    project = request_project(request)
    chosen = {"models": ",".join(DEFAULT_MODELS), **question_of(request)}
    offered = pickers(request.app.state.service, project, chosen, EVALUATE)
    return render(request, "evaluate.html", project=project, pickers=offered, palette=list(charts.PALETTE),
                  truth_color=charts.TRUTH_COLOR)


# --- journey ---------------------------------------------------------------------------------

@dataclass
class Conversion:
    """One conversion of the person: its touchpoints (counted or why not) and credit per model."""

    insert_id: str
    time: Any
    device: str
    revenue: float
    touches: list[dict[str, Any]]
    keys: list[str]
    credit: dict[str, dict[str, float]]  # model → key label → credit


def id_label(any_id: str) -> str:
    if any_id.startswith(DEVICE_PREFIX):
        return f"device {any_id.removeprefix(DEVICE_PREFIX)[:8]}…"
    return any_id


def _mark_kind(event: dict[str, Any]) -> str | None:
    touch = event["touch"] or ""
    if event["conversion"]:
        return "conversion"
    for prefix, kind in (("touchpoint", "touchpoint"), ("dropped", "dropped")):
        if touch.startswith(prefix):
            return kind
    if event["event"] in ("$identify", "$create_alias", "$merge"):
        return "sign-in"
    return "ignored" if touch.startswith("ignored") else None


@dataclass
class JourneyView:
    """The journey as the page shows it: ids, a timeline, each conversion explained, the events."""

    ids: list[str]
    labels: dict[str, str]
    timeline: Markup
    conversions: list[Conversion]
    events: list[dict[str, Any]]


def journey_view(found: Journey, by: tuple[str, ...]) -> JourneyView:
    events = found.events.to_pylist()
    device_at = {(e["time"], e["session"]): e["id"] for e in events if (e["touch"] or "").startswith("touchpoint")}
    converted_on = {e["time"]: e["id"] for e in events if e["conversion"]}
    sources = list(dict.fromkeys(e["landing_source"] for e in events if e["landing_source"]))
    colors = {s: charts.PALETTE[n % len(charts.PALETTE)] for n, s in enumerate(sources)}
    ids = sorted(found.ids, key=lambda i: (i.startswith(DEVICE_PREFIX), i))
    labels = {i: id_label(i) for i in ids}
    marks = [charts.Mark(e["time"], e["session"], e["id"], kind, _event_words(e), e["landing_source"])
             for e in events if (kind := _mark_kind(e))]
    timeline = Markup(charts.journey_timeline(ids, found.sessions.to_pylist(), marks, colors, labels))
    conversions: dict[str, Conversion] = {}
    for row in found.credits.to_pylist():
        conversion = conversions.setdefault(row["insert_id"], Conversion(
            row["insert_id"], row["time"], id_label(converted_on.get(row["time"], "")), 0.0, [], [], {}))
        key = key_label(tuple(row[p] for p in by))
        conversion.keys += [key] if key not in conversion.keys else []
        conversion.credit.setdefault(row["model"], {})[key] = row["credit"]
        if row["credit"]:  # every row's revenue is its credit times the conversion's
            conversion.revenue = row["revenue"] / row["credit"]
    for touch in found.touches.to_pylist():
        if touch["conversion"] in conversions:
            touch["device"] = id_label(device_at.get((touch["time"], touch["session"]), ""))
            touch["why"] = TOUCH_STATUS.get(touch["status"], touch["status"])
            conversions[touch["conversion"]].touches.append(touch)
    return JourneyView(ids, labels, timeline, sorted(conversions.values(), key=lambda c: c.time), events)


def _event_words(event: dict[str, Any]) -> str:
    words = event["event"] + (f" from {event['landing_source']}" if event["landing_source"] else "")
    return f"{words} — {event['touch']}" if event["touch"] else words


def latest_converters(service: Any, options: Options, count: int = 12) -> list[dict[str, Any]]:
    """Who converted last: a starting point when no id was asked for."""
    first = dataclasses.replace(options, models=options.models[:1])
    rows = service.attribution(first, per_conversion=True).per_conversion.to_pylist()
    latest = sorted(rows, key=lambda r: r["time"], reverse=True)
    people: dict[str, Any] = {}
    for row in latest:
        people.setdefault(row["person"], row["time"])
    return [{"person": p, "time": t} for p, t in list(people.items())[:count]]


@router.get("/journey")
def journey(request: Request) -> Response:
    project = request_project(request)
    service = request.app.state.service
    chosen = question_of(request)
    any_id = chosen.pop("id", "")
    offered = pickers(service, project, chosen)
    chosen.setdefault("conversion", service.default_question(project.name)["conversion"])
    chosen.setdefault("models", PARAMETERS_BY_NAME["models"].default_for(JOURNEY))  # as /api/journey
    query = canonical({"id": any_id, **chosen} if any_id else chosen, keep=("conversion", "models"))
    page: dict[str, Any] = {"project": project, "pickers": offered, "any_id": any_id, "query": query, "view": None,
            "api": f"/api/journey?{query}" if any_id else None, "people": [],
            "hidden": {k: v for k, v in chosen.items() if k not in ("conversion", "scope", "lookback")}}
    if not chosen["conversion"]:
        return render(request, "journey.html", **page)
    try:
        options = options_of(chosen, project.name, JOURNEY)
        if not any_id:
            return render(request, "journey.html", **{**page, "people": latest_converters(service, options)})
        found = service.journey(options, any_id)
    except InputError as error:
        return render(request, "journey.html", 400, error=str(error), **page)
    models = [m.name for m in options.models]
    return render(request, "journey.html", **{**page, "view": journey_view(found, options.by), "person": found.person,
                                               "models": models, "by": options.by})


# --- sending data ----------------------------------------------------------------------------

@router.get("/send")
def send(request: Request) -> Response:
    """How to point the SDKs and ``/import`` at this server (the secret is never printed)."""
    project = request_project(request)
    origin = str(request.base_url).rstrip("/")
    return render(request, "send.html", project=project, origin=origin)

