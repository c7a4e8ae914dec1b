"""The dashboard's charts as inline SVG: credit per key (pygal), credit per key over time (pygal,
the campaign report's), and a person's timeline (drawn here).

Pure: rows in, SVG text out. Nothing in the SVG loads anything: pygal's tooltip script (which
it fetches from a CDN) is switched off with ``js=[]``, and the small configuration script it
still inlines is removed, so the pages can forbid inline scripts. Each bar carries its model,
key and exact value as ``data-*`` attributes and a ``<title>`` (the browser's own tooltip), so
tests and assistive technology read the same numbers the table shows.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as etree
from collections.abc import Sequence
from dataclasses import dataclass

import pygal
from pygal.style import Style

#: Okabe–Ito's colour-blind-safe palette, then two more, one colour per model.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7A6A00", "#000000",
           "#999999", "#882255")
#: The truth's bars beside the models' (the evaluation page, static/evaluate.js): a colour no model takes.
TRUTH_COLOR = "#3E4C59"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

_STYLE = Style(
    background="transparent", plot_background="#ffffff", foreground="#1f2933", foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1", colors=PALETTE, font_family=FONT, label_font_size=13,
    major_label_font_size=13, legend_font_size=14, value_font_size=12, tooltip_font_size=13,
    opacity="0.9", opacity_hover="1", transition="0ms",
)


def credit_chart(keys: Sequence[str], credit: dict[str, list[float]],
                 intervals: dict[str, list[tuple[float, float]]] | None = None, title: str = "",
                 y_title: str = "conversions credited") -> str:
    """Grouped bars: one group per key (in ``keys`` order), one bar per model in each.

    ``credit`` maps each model, in legend order, to its number per key (conversions or revenue);
    ``intervals`` the same models to (low, high) per key, drawn as error bars. The chart has no
    legend of its own: pygal lays a legend out in a fixed height, which clipped its second row
    (seven models), so the page writes it as HTML (:func:`legend`), which wraps as text does.
    """
    top = max([v for values in credit.values() for v in values]
              + [high for bounds in (intervals or {}).values() for _, high in bounds] + [1.0])
    rotate = 30 if len(keys) > 8 or max((len(k) for k in keys), default=0) > 14 else 0
    chart = pygal.Bar(
        js=[], disable_xml_declaration=True, style=_STYLE, width=960, height=400 + (60 if rotate else 0),
        show_legend=False, range=(0, top * 1.05), x_label_rotation=rotate, truncate_label=40, y_title=y_title,
        value_formatter=_axis_number, show_x_guides=False, margin=12, spacing=12,
    )
    chart.x_labels = list(keys)
    for model, values in credit.items():
        bounds = (intervals or {}).get(model)
        chart.add(model, [
            {"value": v, "ci": {"low": bounds[i][0], "high": bounds[i][1]}} if bounds else v
            for i, v in enumerate(values)
        ])
    chart.add_xml_filter(_Annotate(title or "Credit per key and model", list(keys), credit))
    return chart.render(is_unicode=True)


def legend(models: Sequence[str]) -> list[tuple[str, str]]:
    """Each model with the colour of its bars, in the order :func:`credit_chart` draws them."""
    return [(model, PALETTE[n % len(PALETTE)]) for n, model in enumerate(models)]


def _axis_number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


@dataclass
class _Annotate:
    """pygal's tree made quiet and legible: no scripts or comments, labelled bars."""

    title: str
    keys: list[str]
    credit: dict[str, list[float]]

    def __call__(self, root: etree.Element) -> etree.Element:
        _quiet(root, self.title)
        index = {key: n for n, key in enumerate(self.keys)}
        plot = next(g for g in root.iter("g") if g.get("class", "").split() == ["plot"])
        series = [g for g in plot.iter("g") if "series" in g.get("class", "").split()]
        for model, group in zip(self.credit, series):
            for bar in (g for g in group.iter("g") if g.get("class") == "bar"):
                key = next(d.text or "" for d in bar.iter("desc") if d.get("class") == "x_label")
                value = self.credit[model][index[key]]
                bar.attrib.update({"data-model": model, "data-key": key, "data-value": repr(value)})
                etree.SubElement(bar, "title").text = f"{model} · {key}: {value:,.2f}"
        return root


def credit_over_time(periods: Sequence[str], credit: dict[str, list[float]], title: str,
                     y_title: str = "conversions credited") -> str:
    """Lines: one per key (in ``credit``'s order, coloured as :func:`legend` lists them), its
    credit in each of ``periods`` (0 where it has none), so a campaign's launch and fatigue show.

    Each point carries its key, period and exact value as ``data-*`` attributes and a ``<title>``.
    """
    top = max([v for values in credit.values() for v in values] + [1.0])
    rotate = 30 if len(periods) > 12 else 0
    chart = pygal.Line(
        js=[], disable_xml_declaration=True, style=_STYLE, width=960, height=400 + (60 if rotate else 0),
        show_legend=False, range=(0, top * 1.05), x_label_rotation=rotate, y_title=y_title,
        value_formatter=_axis_number, show_x_guides=False, margin=12, dots_size=4, allow_interruptions=False,
    )
    chart.x_labels = list(periods)
    for key, values in credit.items():
        chart.add(key, list(values))
    chart.add_xml_filter(_AnnotatePoints(title, list(periods), credit))
    return chart.render(is_unicode=True)


def _quiet(root: etree.Element, title: str) -> None:
    """No scripts, comments or tooltip overlay; the chart named by ``title``."""
    for parent in [root, *root.iter()]:
        for child in list(parent):
            if child.tag in ("script", etree.Comment) or "tooltip-overlay" in child.get("class", ""):
                parent.remove(child)
    root.set("role", "img")
    root.set("aria-label", title)
    for node in root.iter("title"):
        node.text = title


@dataclass
class _AnnotatePoints:
    """Each point of a line labelled with its key, period and exact value."""

    title: str
    periods: list[str]
    credit: dict[str, list[float]]

    def __call__(self, root: etree.Element) -> etree.Element:
        _quiet(root, self.title)
        index = {period: n for n, period in enumerate(self.periods)}
        overlay = next(g for g in root.iter("g") if g.get("class", "").split() == ["plot", "overlay"])
        series = [g for g in overlay if "series" in g.get("class", "").split()]
        for key, group in zip(self.credit, series):
            group.set("data-key", key)
            for point in (g for g in group.iter("g") if g.get("class") == "dots"):
                period = next(d.text or "" for d in point.iter("desc") if d.get("class") == "x_label")
                value = self.credit[key][index[period]]
                point.attrib.update({"data-key": key, "data-period": period, "data-value": repr(value)})
                etree.SubElement(point, "title").text = f"{key} · {period}: {value:,.2f}"
        return root


# --- the journey timeline ------------------------------------------------------------------

#: How each kind of event is drawn on the timeline: (shape, legend text), bottom layer first.
MARKS = {
    "ignored": ("dot", "UTM echo, not a click (ignored)"),
    "dropped": ("ring", "repeat of the same landing (dropped)"),
    "sign-in": ("square", "sign-in / id link"),
    "touchpoint": ("circle", "touchpoint (a campaign landing)"),
    "conversion": ("diamond", "conversion"),
}
_GAP, _LANE, _LEFT, _TOP, _WIDTH = 64, 48, 170, 40, 1180
#: Narrowest session column: up to six sessions fit in _WIDTH, the page's width on a laptop.
_MIN_COLUMN = 110
_LEGEND_WIDTH = _LEFT + sum(34 + 6.4 * len(words) for _, words in MARKS.values())


@dataclass(frozen=True)
class Mark:
    """One event on the timeline: when, in which session, from which id, drawn as ``kind``."""

    time: dt.datetime
    session: int
    id: str
    kind: str  # a key of MARKS
    label: str  # the event's own words, for its tooltip
    source: str | None = None  # the landing utm_source of a touchpoint


def journey_timeline(ids: Sequence[str], sessions: Sequence[dict], marks: Sequence[Mark],
                     colors: dict[str, str], id_label: dict[str, str]) -> str:
    """Sessions as columns in time order (gaps between them written out), one lane per id.

    A person's sessions last minutes and lie days apart, so a linear time axis would shrink
    each to a hairline: every session gets the same width, events are placed linearly inside
    it, and the time between sessions is printed in the gap. Touchpoints are named by their
    source, their marks coloured per source.
    """
    count = max(len(sessions), 1)
    gap = _GAP if count <= 4 else _GAP * 3 / 4
    column = min(max((_WIDTH - _LEFT - 24 - (count - 1) * gap) / count, _MIN_COLUMN), 320)
    lanes = {i: n for n, i in enumerate(ids)}
    width = max(_LEFT + count * (column + gap) - gap + 24, _LEGEND_WIDTH)
    bottom = _TOP + len(ids) * _LANE
    # As wide as the page allows, never wider than drawn: the style sheet sets width 100%, and
    # below a phone's minimum the frame scrolls (to the last conversion, by the page's script).
    svg = etree.Element("svg", xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {width:.0f} {bottom + 80}",
                        role="img", style=f"max-width: {width:.0f}px")
    svg.set("class", "timeline")
    etree.SubElement(svg, "title").text = (
        f"{len(sessions)} sessions from {len(ids)} ids; touchpoints, sign-ins and conversions in time order"
    )
    for lane, name in enumerate(ids):
        y = _TOP + lane * _LANE + _LANE / 2
        _text(svg, 8, y + 4, id_label.get(name, name), "lane-label", tip=name)
        etree.SubElement(svg, "line", x1=str(_LEFT - 8), x2=f"{width - 12:.0f}", y1=str(y), y2=str(y),
                         attrib={"class": "lane"})
    left = {}
    for n, session in enumerate(sessions):
        x = _LEFT + n * (column + gap)
        left[session["session"]] = (x, session)
        etree.SubElement(svg, "rect", x=f"{x:.1f}", y=str(_TOP - 4), width=f"{column:.1f}",
                         height=str(bottom - _TOP + 8), rx="6", attrib={"class": "session"})
        _text(svg, x + 6, _TOP - 12, f"session {session['session']}", "session-label")
        _text(svg, x + 6, bottom + 22, f"{session['start']:%b %d %H:%M}", "session-time")
        if n:
            _text(svg, x - gap / 2, (_TOP + bottom) / 2 + 4, _gap(session["start"] - sessions[n - 1]["end"]),
                  "gap", anchor="middle")
    order = list(MARKS)
    for mark in sorted(marks, key=lambda m: order.index(m.kind)):
        if mark.session not in left or mark.id not in lanes:
            continue
        x0, session = left[mark.session]
        span = (session["end"] - session["start"]).total_seconds()
        share = (mark.time - session["start"]).total_seconds() / span if span else 0.5
        x, y = x0 + 16 + share * (column - 32), _TOP + lanes[mark.id] * _LANE + _LANE / 2
        color = colors.get(mark.source or "", "#52606d")
        _mark(svg, x, y, mark, color)
        if mark.kind == "touchpoint" and mark.source:
            _text(svg, x, y - 12, mark.source, "source", anchor="middle")
    _legend(svg, bottom + 56)
    return etree.tostring(svg, encoding="unicode")


def _mark(svg: etree.Element, x: float, y: float, mark: Mark, color: str) -> None:
    group = etree.SubElement(svg, "g", attrib={"class": f"mark {mark.kind}", "data-kind": mark.kind})
    etree.SubElement(group, "title").text = f"{mark.time:%Y-%m-%d %H:%M:%S} UTC · {mark.label}"
    _shape(group, MARKS[mark.kind][0], x, y, color)


def _shape(parent: etree.Element, shape: str, x: float, y: float, color: str) -> None:
    if shape == "circle":
        etree.SubElement(parent, "circle", cx=f"{x:.1f}", cy=f"{y:.1f}", r="8", fill=color, stroke="#fff")
    elif shape == "ring":
        etree.SubElement(parent, "circle", cx=f"{x:.1f}", cy=f"{y:.1f}", r="6", fill="#fff", stroke=color,
                         attrib={"stroke-width": "2"})
    elif shape == "dot":
        etree.SubElement(parent, "circle", cx=f"{x:.1f}", cy=f"{y:.1f}", r="3", fill="#9aa5b1")
    elif shape == "square":
        etree.SubElement(parent, "rect", x=f"{x - 6:.1f}", y=f"{y - 6:.1f}", width="12", height="12", fill="#3e4c59")
    else:
        points = f"{x:.1f},{y - 10:.1f} {x + 10:.1f},{y:.1f} {x:.1f},{y + 10:.1f} {x - 10:.1f},{y:.1f}"
        etree.SubElement(parent, "polygon", points=points, fill="#c81e1e", stroke="#fff")


def _legend(svg: etree.Element, y: float) -> None:
    x = float(_LEFT)
    for shape, words in MARKS.values():
        _shape(svg, shape, x, y, "#52606d")
        _text(svg, x + 14, y + 4, words, "legend")
        x += 34 + 6.4 * len(words)


def _text(parent: etree.Element, x: float, y: float, words: str, css: str, anchor: str = "start",
          tip: str | None = None) -> None:
    node = etree.SubElement(parent, "text", x=f"{x:.1f}", y=f"{y:.1f}", attrib={"class": css, "text-anchor": anchor})
    node.text = words
    if tip and tip != words:
        etree.SubElement(node, "title").text = tip


def _gap(delta: dt.timedelta) -> str:
    """The time between two sessions, as a person would say it: ``+3 d``, ``+5 h``, ``+40 min``."""
    seconds = delta.total_seconds()
    if seconds >= 86400:
        return f"+{seconds / 86400:.0f} d"
    if seconds >= 3600:
        return f"+{seconds / 3600:.0f} h"
    return f"+{max(seconds / 60, 1):.0f} min"
