"""Reading spend exports: the native CSV, the Google Ads and Meta presets, ``--map``/``--set``,
and a reason for every bad line; arbitrary bytes never raise anything but an InputError."""

from __future__ import annotations

import codecs
import datetime
import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.errors import InputError
from utmost.ingest.spend import SpendRow, parse_spend
from utmost.ingest.spend_layout import Layout, parse_assignments

D1, D2 = datetime.date(2026, 3, 1), datetime.date(2026, 3, 2)
NATIVE = (
    "date,utm_source,utm_medium,utm_campaign,cost,currency\n"
    "2026-03-01,google,cpc,brand,12.50,EUR\n"
    "2026-03-01,google,cpc,brand,7.25,EUR\n"  # the same key and day: added, 19.75
    "2026-03-01,newsletter,,,0,EUR\n"  # empty medium and campaign: None
    "2026-03-02,facebook,paid_social,spring,\"1,234.56\",eur\n"  # thousands, lower-case code
)


def test_a_native_file_gives_its_rows_summed_per_key_and_day():
    parsed = parse_spend(NATIVE.encode(), "a.csv")
    assert parsed.rows == [
        SpendRow(D1, "google", "cpc", "brand", 19.75),
        SpendRow(D1, "newsletter", None, None, 0.0),
        SpendRow(D2, "facebook", "paid_social", "spring", 1234.56),
    ]
    assert (parsed.problems, parsed.currency, parsed.currency_line, parsed.lines) == ([], "EUR", 2, 4)


def test_gzip_and_a_utf8_byte_order_mark_read_the_same():
    plain = parse_spend(NATIVE.encode(), "a.csv").rows
    assert parse_spend(gzip.compress(NATIVE.encode()), "a.csv.gz").rows == plain
    assert parse_spend(codecs.BOM_UTF8 + NATIVE.encode(), "a.csv").rows == plain


def test_a_file_without_currency_takes_the_projects_or_none():
    body = b"date,utm_source,utm_medium,utm_campaign,cost\n2026-03-01,google,cpc,brand,1\n"
    assert parse_spend(body, "a.csv").currency is None
    assert parse_spend(body, "a.csv", currency="USD").currency == "USD"


@pytest.mark.parametrize(("line", "reason"), [
    ("2026-02-30,google,cpc,brand,1", "date '2026-02-30' is not a day as YYYY-MM-DD"),
    ("01/03/2026,google,cpc,brand,1", "date '01/03/2026' is not a day as YYYY-MM-DD"),
    (",google,cpc,brand,1", "missing date"),
    ("2026-03-01,,cpc,brand,1", "missing utm_source"),
    ("2026-03-01,google,cpc,brand,", "missing cost"),
    ("2026-03-01,google,cpc,brand,-3.5", "cost -3.5 is negative"),
    ("2026-03-01,google,cpc,brand,12 EUR", "cost '12 EUR' is not a number"),
    ("2026-03-01,google,cpc,brand,1.234,56", "6 fields, the header has 5"),
    ("2026-03-01,google,cpc,brand,nan", "cost 'nan' is not finite"),
    ("2026-03-01,google,cpc,brand,inf", "cost 'inf' is not finite"),
    ("2026-03-01,google,cpc,brand,1e400", "cost '1e400' is not a number"),
    ("2026-03-01,google,cpc", "3 fields, the header has 5"),
])
def test_each_bad_line_has_its_reason_and_the_rest_is_read(line, reason):
    body = f"date,utm_source,utm_medium,utm_campaign,cost\n2026-03-01,google,cpc,a,1\n{line}\n2026-03-02,google,cpc,a,2\n"
    parsed = parse_spend(body.encode(), "a.csv")
    assert parsed.problems == [(3, reason)]
    assert [row.cost for row in parsed.rows] == [1.0, 2.0]


def test_a_line_that_is_not_utf8_is_bad_alone():
    body = b"date,utm_source,utm_medium,utm_campaign,cost\n2026-03-01,g\xffoogle,cpc,a,1\n2026-03-01,google,cpc,a,2\n"
    parsed = parse_spend(body, "a.csv")
    assert parsed.problems == [(2, "not valid UTF-8")] and parsed.rows == [SpendRow(D1, "google", "cpc", "a", 2.0)]


def test_a_second_currency_names_the_line_that_fixed_the_first_or_the_project():
    body = (b"date,utm_source,utm_medium,utm_campaign,cost,currency\n2026-03-01,google,cpc,a,1,EUR\n"
            b"2026-03-01,google,cpc,b,1,USD\n2026-03-01,google,cpc,c,1,euro\n")
    assert parse_spend(body, "a.csv").problems == [
        (3, "currency USD, but line 2 is in EUR: one currency per project"),
        (4, "currency 'euro' is not a 3-letter ISO 4217 code"),
    ]
    assert parse_spend(body, "a.csv", currency="GBP").problems[:2] == [
        (2, "currency EUR, but the project's spend is in GBP: one currency per project"),
        (3, "currency USD, but the project's spend is in GBP: one currency per project"),
    ]


def test_a_quoted_field_over_lines_is_numbered_by_its_first_line():
    body = b'date,utm_source,utm_medium,utm_campaign,cost\n2026-03-01,google,cpc,"two\nlines",1\n2026-03-01,x,y,z,-1\n'
    parsed = parse_spend(body, "a.csv")
    assert parsed.rows == [SpendRow(D1, "google", "cpc", "two\nlines", 1.0)] and parsed.problems == [(4, "cost -1 is negative")]


def test_a_header_without_the_needed_columns_names_them_and_what_it_found():
    with pytest.raises(InputError) as raised:
        parse_spend(b"day,source,cost\n2026-03-01,google,1\n", "a.csv")
    assert str(raised.value) == (
        "a.csv:1: the header has no column for date, utm_source, utm_medium, utm_campaign "
        "(found: day,source,cost); name them with --map COLUMN=FIELD, --set FIELD=VALUE or --columns")
    with pytest.raises(InputError, match=r"^a\.csv: empty"):
        parse_spend(b"\n\n", "a.csv")


def test_map_renames_columns_and_set_gives_constants_over_any_column():
    body = b"Tag,Source,Spend\n2026-03-01,bing,3\n"
    layout = Layout.of(None, parse_assignments(["Tag=date", "Source=utm_source", "Spend=cost"], "--map", last=True),
                       parse_assignments(["utm_medium=cpc", "utm_campaign=a=b", "currency=chf"], "--set", last=False))
    parsed = parse_spend(body, "a.csv", layout)
    assert parsed.rows == [SpendRow(D1, "bing", "cpc", "a=b", 3.0)] and parsed.currency == "CHF"
    over = Layout.of(None, {}, {"utm_source": "google"})
    assert parse_spend(NATIVE.encode(), "a.csv", over).rows[1].utm_source == "google"


def test_layout_names_are_checked_with_a_suggestion():
    with pytest.raises(InputError, match=r"^unknown columns 'googleads'\. Did you mean google-ads\?$"):
        Layout.of("googleads")
    with pytest.raises(InputError, match=r"^--map Day=dat: no field 'dat'\. Did you mean date\?$"):
        Layout.of(None, {"Day": "dat"})
    with pytest.raises(InputError, match=r"^--set cost=1: only utm_source, utm_medium, utm_campaign, currency can be set"):
        Layout.of(None, {}, {"cost": "1"})
    with pytest.raises(InputError, match=r"^--map 'Day': expected COLUMN=FIELD$"):
        parse_assignments(["Day"], "--map", last=True)


# Google Ads: a campaign report downloaded from Reports, as the report editor writes it: the
# report's name and date range first, totals last, costs with thousands separators.
GOOGLE_ADS = (
    "Campaign report\n"
    "March 1, 2026 - March 2, 2026\n"
    "Day,Campaign,Campaign type,Currency code,Impr.,Clicks,Cost\n"
    "2026-03-01,Brand,Search,EUR,\"10,000\",512,\"1,024.50\"\n"
    "2026-03-01,Generic,Search,EUR,300,12,19.99\n"
    "2026-03-02,Brand,Search,EUR,\"9,870\",498,998.00\n"
    "Total: Account,--,--,EUR,\"20,170\",\"1,022\",\"2,042.49\"\n"
    "Total: Search,--,--,EUR,\"20,170\",\"1,022\",\"2,042.49\"\n"
)


def test_a_google_ads_campaign_report_is_google_cpc():
    parsed = parse_spend(GOOGLE_ADS.encode(), "google.csv", Layout.of("google-ads"))
    assert parsed.rows == [
        SpendRow(D1, "google", "cpc", "Brand", 1024.5),
        SpendRow(D1, "google", "cpc", "Generic", 19.99),
        SpendRow(D2, "google", "cpc", "Brand", 998.0),
    ]
    assert (parsed.problems, parsed.currency, parsed.lines) == ([], "EUR", 3)


def test_google_ads_csv_for_excel_is_utf16_with_tabs():
    excel = ("Campaign report\nMarch 1, 2026 - March 2, 2026\n"
             "Day\tCampaign\tCurrency code\tCost\n"
             "2026-03-01\tBrand\tEUR\t1,024.50\n"
             "2026-03-02\tBrand, the second\tEUR\t998.00\n"
             "Total: Account\t--\tEUR\t2,022.50\n")
    parsed = parse_spend(excel.encode("utf-16"), "google.csv", Layout.of("google-ads"))
    assert parsed.rows == [SpendRow(D1, "google", "cpc", "Brand", 1024.5),
                           SpendRow(D2, "google", "cpc", "Brand, the second", 998.0)]
    assert parsed.problems == []
    with pytest.raises(InputError, match="UTF-16 without a byte-order mark"):
        parse_spend(excel.encode("utf-16-le"), "google.csv", Layout.of("google-ads"))


# Meta Ads Manager: "Export table data" (.csv), campaigns broken down by day, with the
# account's currency in the header of the amount spent.
META = (
    "Reporting starts,Reporting ends,Campaign name,Campaign delivery,Results,Amount spent (EUR),Ends\n"
    "2026-03-01,2026-03-01,Spring sale,active,12,40.10,Ongoing\n"
    "2026-03-01,2026-03-01,Spring sale,active,3,9.90,Ongoing\n"
    "2026-03-02,2026-03-02,Retargeting,active,1,5,Ongoing\n"
    "2026-03-01,2026-03-31,Spring sale,active,1,500,Ongoing\n"
)


def test_a_meta_export_is_facebook_paid_social_in_the_headers_currency():
    parsed = parse_spend(codecs.BOM_UTF8 + META.encode(), "meta.csv", Layout.of("meta"))
    assert parsed.rows == [
        SpendRow(D1, "facebook", "paid_social", "Spring sale", 50.0),
        SpendRow(D2, "facebook", "paid_social", "Retargeting", 5.0),
    ]
    assert parsed.problems == [(5, "covers 2026-03-01 to 2026-03-31: export it with a breakdown by day")]
    assert parsed.currency == "EUR"


def test_a_meta_export_with_a_day_column_reads_the_day():
    body = "Campaign name,Day,Amount spent (USD),Currency,Reporting starts,Reporting ends\nA,2026-03-02,7.5,USD,2026-03-01,2026-03-31\n"
    parsed = parse_spend(body.encode(), "meta.csv", Layout.of("meta"))
    assert parsed.rows == [SpendRow(D2, "facebook", "paid_social", "A", 7.5)] and parsed.currency == "USD"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_give_rows_problems_or_an_input_error(data):
    try:
        parsed = parse_spend(b"date,utm_source,utm_medium,utm_campaign,cost\n" + data, "x.csv")
    except InputError:
        return
    assert all(isinstance(line, int) and isinstance(reason, str) for line, reason in parsed.problems)
    assert all(row.cost >= 0 and row.utm_source for row in parsed.rows)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), max_size=7), max_size=8), st.sampled_from([None, "google-ads", "meta"]))
def test_arbitrary_lines_never_raise_but_an_input_error(rows, columns):
    body = "\n".join(",".join(cells) for cells in rows).encode("utf-8", "surrogatepass")
    try:
        parse_spend(body, "x.csv", Layout.of(columns))
    except InputError:
        pass
