"""How an export's columns become spend fields: the presets of the ad platforms' exports
(``--columns``), the user's renames (``--map column=field``) and constants (``--set
field=value``). Data, read by :mod:`utmost.ingest.spend`; a new platform is one row of
:data:`PRESETS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from utmost.errors import InputError, did_you_mean

#: The fields of a spend row, in the native header's order.
FIELDS = ("date", "utm_source", "utm_medium", "utm_campaign", "cost", "currency")
#: Fields ``--set`` may give: a constant date or cost would make every line the same.
SETTABLE = ("utm_source", "utm_medium", "utm_campaign", "currency")


@dataclass(frozen=True)
class Preset:
    """The column names of one ad platform's export, and what it leaves out.

    ``columns``: (column, field) in order of preference (the first the header has wins);
    ``constants``: fields every row gets; ``cost_currency``: a cost column whose header names
    the currency, as ``Amount spent (EUR)``; ``ranges``: (start, end) columns of a row that
    covers a date range, which must be one day when ``start`` gave the date.
    """

    name: str
    help: str
    columns: tuple[tuple[str, str], ...]
    constants: tuple[tuple[str, str], ...] = ()
    cost_currency: re.Pattern[str] | None = None
    ranges: tuple[tuple[str, str], ...] = ()


#: The exports a marketer has at hand, by the names ``--columns`` takes.
#:
#: Google Ads, a campaign report downloaded from Reports (columns "Day", "Campaign", "Cost",
#: "Currency code", as the report editor names them): every click is google / cpc, as auto-tagged
#: clicks read in GA4 (support.google.com/analytics/answer/9756891, "Paid Search": medium cpc).
#: Meta Ads Manager, "Export table data" as .csv with a breakdown by day ("Day", or "Reporting
#: starts"/"Reporting ends" when the rows are already days; "Campaign name"; "Amount spent (EUR)",
#: the account currency in the header; "Currency" when added): facebook / paid_social, which GA4
#: reads as Paid Social (a social source with a medium matching ``paid.*``, same page). Both
#: assume utm_campaign is the platform's campaign name (Meta's ``{{campaign.name}}`` URL
#: parameter, Google's ``{_campaign}`` custom parameter); ``--map``/``--set`` say otherwise.
PRESETS: dict[str, Preset] = {
    preset.name: preset for preset in (
        Preset(
            "google-ads", "Google Ads campaign report (Day, Campaign, Cost, Currency code): google / cpc",
            columns=(("Day", "date"), ("Campaign", "utm_campaign"), ("Cost", "cost"), ("Currency code", "currency")),
            constants=(("utm_source", "google"), ("utm_medium", "cpc")),
        ),
        Preset(
            "meta", "Meta Ads Manager export by day (Day, Campaign name, Amount spent (CUR)): facebook / paid_social",
            columns=(("Day", "date"), ("Reporting starts", "date"), ("Campaign name", "utm_campaign"),
                     ("Amount spent", "cost"), ("Currency", "currency")),
            constants=(("utm_source", "facebook"), ("utm_medium", "paid_social")),
            cost_currency=re.compile(r"Amount spent \((?P<currency>[A-Za-z]{3})\)"),
            ranges=(("Reporting starts", "Reporting ends"),),
        ),
    )
}


@dataclass(frozen=True)
class Layout:
    """How a file's columns become fields: a preset, then the user's renames and constants.

    ``renames``: column → field (``--map``), preferred to the preset's; ``constants``: field →
    value (``--set``), which wins over any column.
    """

    preset: Preset | None = None
    renames: tuple[tuple[str, str], ...] = ()
    constants: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, columns: str | None = None, renames: Mapping[str, str] | None = None,
           constants: Mapping[str, str] | None = None) -> Layout:
        """The layout for ``--columns NAME``, ``--map column=field`` and ``--set field=value``;
        an unknown name or field is an :class:`InputError` that suggests the right one."""
        preset = None
        if columns:
            preset = PRESETS.get(columns)
            if preset is None:
                raise InputError(f"unknown columns {columns!r}{_suggest(columns, PRESETS)}")
        for column, name in (renames or {}).items():
            if name not in FIELDS:
                raise InputError(f"--map {column}={name}: no field {name!r}{_suggest(name, FIELDS)}")
        for name, value in (constants or {}).items():
            if name not in SETTABLE:
                raise InputError(f"--set {name}={value}: only {', '.join(SETTABLE)} can be set{_suggest(name, SETTABLE)}")
        return cls(preset, tuple((renames or {}).items()), tuple((constants or {}).items()))

    def candidates(self, name: str) -> list[str]:
        """The columns that may give field ``name``, most preferred first."""
        preset = [column for column, given in self.preset.columns if given == name] if self.preset else []
        return [column for column, given in self.renames if given == name] + preset + [name]

    def constant(self, name: str) -> str | None:
        own = dict(self.constants)
        if name in own:
            return own[name]
        return dict(self.preset.constants).get(name) if self.preset else None


def parse_assignments(pairs: tuple[str, ...] | list[str], option: str, last: bool) -> dict[str, str]:
    """``NAME=VALUE`` pairs as a dict; split at the ``last`` "=" (``--map``: a column name may
    hold one, a field never does) or the first (``--set``: a value may hold one)."""
    found = {}
    for pair in pairs:
        left, sign, right = pair.rpartition("=") if last else pair.partition("=")
        if not sign or not left.strip() or not right.strip():
            raise InputError(f"{option} {pair!r}: expected {'COLUMN=FIELD' if last else 'FIELD=VALUE'}")
        found[left.strip()] = right.strip()
    return found


def _suggest(name: str, known: Mapping[str, object] | tuple[str, ...]) -> str:
    return did_you_mean(name, known, f" (known: {', '.join(known)})")


