"""Reading holdout test results: the header's key properties judged as ``--by`` judges them, the
fixed columns in any order, a reason for every bad line with its line; arbitrary bytes never
raise anything but an InputError."""

from __future__ import annotations

import codecs
import csv
import datetime
import gzip
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.engine import make_options
from utmost.errors import InputError
from utmost.ingest.experiments import TEST_COLUMNS, Experiment, parse_experiments

D1, D28 = datetime.date(2026, 3, 1), datetime.date(2026, 3, 28)
HEADER = "utm_source,utm_medium,start,end,test_persons,test_conversions,control_persons,control_conversions\n"
TWO = (HEADER
       + "google,cpc,2026-03-01,2026-03-28,10000,300,1000,20\n"
       + "newsletter,email,2026-03-01,2026-03-01,\"5,000\",40,500,6\n")
GOOGLE = Experiment(("utm_source", "utm_medium"), ("google", "cpc"), D1, D28, 10_000, 300, 1_000, 20)
NEWSLETTER = Experiment(("utm_source", "utm_medium"), ("newsletter", "email"), D1, D1, 5_000, 40, 500, 6)


def test_a_file_gives_one_experiment_per_line_keyed_in_the_headers_order():
    parsed = parse_experiments(TWO.encode(), "a.csv")
    assert parsed.experiments == [GOOGLE, NEWSLETTER]
    assert (parsed.problems, parsed.properties) == ([], ("utm_source", "utm_medium"))


def test_the_fixed_columns_stand_anywhere_in_any_case_and_the_rest_are_key_properties():
    body = ("Control_Conversions, START ,utm_medium,end,test_persons,Channel,test_conversions,control_persons\n"
            "20,2026-03-01,cpc,2026-03-28,10000,Paid Search,300,1000\n")
    (found,) = parse_experiments(body.encode(), "a.csv").experiments
    assert found == Experiment(("utm_medium", "Channel"), ("cpc", "Paid Search"), D1, D28, 10_000, 300, 1_000, 20)


def test_gzip_byte_order_marks_utf16_tabs_and_semicolons_read_the_same():
    for data in (gzip.compress(TWO.encode()), codecs.BOM_UTF8 + TWO.encode(), TWO.encode("utf-16"),
                 TWO.replace(",", "\t").replace('"5\t000"', "5000").encode(),
                 TWO.replace(",", ";").replace('"5;000"', "5000").encode()):
        assert parse_experiments(data, "a.csv").experiments == [GOOGLE, NEWSLETTER]


def test_blank_lines_and_spaces_around_values_are_nothing():
    body = "\n\n" + HEADER + "\n google , cpc ,2026-03-01, 2026-03-28 ,10000,300,1000,20\n,,,,,,,\n"
    parsed = parse_experiments(body.encode(), "a.csv")
    assert (parsed.experiments, parsed.problems) == ([GOOGLE], [])


@pytest.mark.parametrize(("line", "reason"), [
    ("google,cpc,2026-03-01,2026-03-28,10000,300,1000", "7 fields, the header has 8"),
    ("google,cpc,2026-03-01,2026-03-28,10000,300,1000,20,9", "9 fields, the header has 8"),
    (",cpc,2026-03-01,2026-03-28,10000,300,1000,20", "missing utm_source"),
    ("google, ,2026-03-01,2026-03-28,10000,300,1000,20", "missing utm_medium"),
    ("google,cpc,,2026-03-28,10000,300,1000,20", "missing start"),
    ("google,cpc,2026-03-01,,10000,300,1000,20", "missing end"),
    ("google,cpc,2026-03-01,2026-03-28,,300,1000,20", "missing test_persons"),
    ("google,cpc,2026-03-01,2026-03-28,10000,300,1000,", "missing control_conversions"),
    ("google,cpc,01/03/2026,2026-03-28,10000,300,1000,20", "start '01/03/2026' is not a day as YYYY-MM-DD"),
    ("google,cpc,2026-03-01,2026-02-30,10000,300,1000,20", "end '2026-02-30' is not a day as YYYY-MM-DD"),
    ("google,cpc,2026-03-28,2026-03-01,10000,300,1000,20", "start 2026-03-28 is after end 2026-03-01"),
    ("google,cpc,2026-03-01,2026-03-28,10000.0,300,1000,20", "test_persons '10000.0' is not a whole number"),
    ("google,cpc,2026-03-01,2026-03-28,10000,3e2,1000,20", "test_conversions '3e2' is not a whole number"),
    ("google,cpc,2026-03-01,2026-03-28,10000,300,1 000,20", "control_persons '1 000' is not a whole number"),
    ("google,cpc,2026-03-01,2026-03-28,10000,300,1000,-2", "control_conversions -2 is negative"),
    ("google,cpc,2026-03-01,2026-03-28,9223372036854775808,0,1,0", "test_persons 9223372036854775808 is too large"),
    ("google,cpc,2026-03-01,2026-03-28," + "9" * 5000 + ",0,1,0", f"test_persons {'9' * 5000} is too large"),
    ("google,cpc,2026-03-01,2026-03-28,0,0,1000,20", "test_persons is 0: a group without persons has no conversion rate"),
    ("google,cpc,2026-03-01,2026-03-28,10000,300,0,0",
     "control_persons is 0: a group without persons has no conversion rate"),
    ("google,cpc,2026-03-01,2026-03-28,100,300,1000,20",
     "test_conversions 300 is more than test_persons 100: count converting persons, not conversions"),
    ("google,cpc,2026-03-01,2026-03-28,10000,300,1000,1001",
     "control_conversions 1001 is more than control_persons 1000: count converting persons, not conversions"),
    ("newsletter,email,2026-03-01,2026-03-01,1,1,1,1", "the same key and days as line 3"),
])
def test_each_bad_line_has_its_reason_and_its_line_and_the_rest_is_read(line, reason):
    body = TWO + line + "\n" + "google,cpc,2026-04-01,2026-04-28,10,1,10,0\n"
    parsed = parse_experiments(body.encode(), "a.csv")
    assert parsed.problems == [(4, reason)]
    assert [e.key for e in parsed.experiments] == [("google", "cpc"), ("newsletter", "email"), ("google", "cpc")]


def test_the_largest_count_a_bigint_holds_is_one():
    body = HEADER + "google,cpc,2026-03-01,2026-03-28,9223372036854775807,9223372036854775807,1,0\n"
    (found,) = parse_experiments(body.encode(), "a.csv").experiments
    assert found.test_persons == found.test_conversions == 2**63 - 1


def test_a_line_that_is_not_utf8_is_bad_alone():
    body = HEADER.encode() + b"g\xffoogle,cpc,2026-03-01,2026-03-28,1,0,1,0\ngoogle,cpc,2026-03-01,2026-03-28,1,0,1,0\n"
    parsed = parse_experiments(body, "a.csv")
    assert parsed.problems == [(2, "not valid UTF-8")] and [e.key for e in parsed.experiments] == [("google", "cpc")]


def test_a_quoted_field_over_lines_is_numbered_by_its_first_line():
    body = HEADER + '"two\nlines",cpc,2026-03-01,2026-03-28,1,0,1,0\nx,y,2026-03-01,2026-03-28,1,2,1,0\n'
    parsed = parse_experiments(body.encode(), "a.csv")
    assert [e.key for e in parsed.experiments] == [("two\nlines", "cpc")]
    assert parsed.problems == [(4, "test_conversions 2 is more than test_persons 1: count converting persons, "
                                   "not conversions")]


def test_a_field_the_csv_module_refuses_is_a_bad_line():
    body = HEADER + 'google,"' + "x" * 200_000 + '",2026-03-01,2026-03-28,1,0,1,0\n'
    parsed = parse_experiments(body.encode(), "a.csv")
    assert parsed.experiments == [] and parsed.problems[0][0] == 2
    assert parsed.problems[0][1].startswith("unreadable: field larger than field limit")


EXPECTED = ("key properties (e.g. utm_source,utm_medium) and "
            "start,end,test_persons,test_conversions,control_persons,control_conversions")


@pytest.mark.parametrize(("body", "message"), [
    (b"", f"a.csv: empty: expected a header line of {EXPECTED}"),
    (b"\n \n", f"a.csv: empty: expected a header line of {EXPECTED}"),
    (b"utm_source,start,end,test_persons,test_conversions\ngoogle,2026-03-01,2026-03-02,1,1\n",
     "a.csv:1: the header has no column for control_persons, control_conversions "
     f"(found: utm_source,start,end,test_persons,test_conversions); expected {EXPECTED}"),
    (b"start,end,test_persons,test_conversions,control_persons,control_conversions\n",
     "a.csv:1: the header names no key property: add a column for each property of the tested key "
     "(e.g. utm_source) beside start,end,test_persons,test_conversions,control_persons,control_conversions"),
    (b"model,start,end,test_persons,test_conversions,control_persons,control_conversions\n",
     "a.csv:1: the header's key properties: 'model' is also a column of the answer (model, conversions, revenue, …)"),
    (b"a,a,start,end,test_persons,test_conversions,control_persons,control_conversions\n",
     "a.csv:1: the header's key properties: 'a' is named twice"),
    (b"a, a ,start,end,test_persons,test_conversions,control_persons,control_conversions\n",
     "a.csv:1: the header's key properties: 'a' is named twice"),
    (b"a,,start,end,test_persons,test_conversions,control_persons,control_conversions\n",
     "a.csv:1: the header's column 2 has no name "
     "(found: a,,start,end,test_persons,test_conversions,control_persons,control_conversions)"),
    (b"a,start,End,end,test_persons,test_conversions,control_persons,control_conversions\n",
     "a.csv:1: the header names end twice"),
    (b"\xffa,start,end,test_persons,test_conversions,control_persons,control_conversions\n",
     "a.csv:1: the header is not valid UTF-8"),
    (HEADER.encode("utf-16-le"), "a.csv: holds NUL bytes: UTF-16 without a byte-order mark, or not text; "
                                 "save it as UTF-8 CSV"),
])
def test_what_is_no_experiments_file_is_one_error(body, message):
    with pytest.raises(InputError) as raised:
        parse_experiments(body, "a.csv")
    assert str(raised.value) == message


def test_a_broken_gzip_file_is_one_error():
    with pytest.raises(InputError, match=r"^a\.csv: not a readable gzip file \(Error -3 while decompressing"):
        parse_experiments(b"\x1f\x8bnot gzip", "a.csv")


def header(names: list[str]) -> bytes:
    """A header of key properties ``names`` and the fixed columns, quoted as CSV quotes them."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow([*names, *TEST_COLUMNS])
    return buffer.getvalue().encode("utf-8", "surrogatepass")


NAME = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=8).map(str.strip)


@settings(max_examples=300, deadline=None)
@given(st.lists(NAME | st.sampled_from(["model", "conversions", "channel", "utm_source", "$os", "a,b", 'x"y']),
                max_size=4))
def test_a_header_takes_exactly_the_key_properties_by_takes(names):
    """The names are judged by the rule ``--by`` is judged by (what ``make_options`` accepts from
    Python, where each name is taken literally), once stripped and unless a fixed column's."""
    if any(name.casefold() in TEST_COLUMNS for name in names):
        return  # a fixed column, not a key property
    try:
        make_options("Purchase", by=names)
    except InputError:
        with pytest.raises(InputError):
            parse_experiments(header(names), "a.csv")
    else:
        assert parse_experiments(header(names), "a.csv").properties == tuple(names)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_after_a_header_give_experiments_bad_lines_or_an_input_error(data):
    try:
        parsed = parse_experiments(HEADER.encode() + data, "x.csv")
    except InputError:
        return
    assert all(isinstance(line, int) and line >= 2 and isinstance(reason, str) for line, reason in parsed.problems)
    for found in parsed.experiments:
        assert found.start <= found.end and all(found.key)
        assert 0 <= found.test_conversions <= found.test_persons and found.test_persons > 0
        assert 0 <= found.control_conversions <= found.control_persons and found.control_persons > 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_but_an_input_error(data):
    try:
        parse_experiments(data, "x.csv")
    except InputError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), max_size=9), max_size=8))
def test_arbitrary_lines_under_a_header_never_raise_but_an_input_error(rows):
    body = HEADER + "\n".join(",".join(cells) for cells in rows)
    try:
        parse_experiments(body.encode("utf-8", "surrogatepass"), "x.csv")
    except InputError:
        pass
