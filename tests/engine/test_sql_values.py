"""No value of a question becomes SQL text except as a literal made by ``Dialect.literal``.

Every query the engine runs for a question whose every string is hostile is recorded, then cut
into tokens by DuckDB's own tokenizer: each piece of a hostile value must lie inside a string
constant. Code that pasted a value into SQL any other way (an f-string inside quotes, a JSON
path written by hand) puts a piece of it outside one, and this test fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import hypothesis.strategies as st
import pytest
from conftest import raw_lines
from engine.journeys import book, identify, land
from hypothesis import given, settings

from utmost.backends.duckdb import DuckDBBackend
from utmost.dialect import DUCKDB, SPARK
from utmost.engine import REPORT, attribute, check_question, journey, make_options, report
from utmost.store import Store

#: Each hostile value is made of marked pieces around what breaks out of a literal or a path.
BREAKERS = ["'", '"', "\\", "$.", "[0]", "--", ";", "\x00", "/", "~1", "') || ('", "ü€"]


def hostile(name: str) -> str:
    return "".join(f"{name.upper()}{i}{breaker}" for i, breaker in enumerate(BREAKERS))


MARKS = {name: re.compile(f"{name.upper()}\\d+".encode()) for name in ("project", "conversion", "prop", "revenue", "person")}


class Recording(DuckDBBackend):
    """The real DuckDB backend, keeping the text of every statement it is given."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        super().__init__(cursor)
        self.statements: list[str] = []

    def create(self, name: str, sql: str) -> None:
        self.statements.append(sql)
        super().create(name, sql)

    def view(self, name: str, sql: str) -> None:
        self.statements.append(sql)
        super().view(name, sql)

    def arrow(self, sql: str):
        self.statements.append(sql)
        return super().arrow(sql)

    def scalar(self, sql: str):
        self.statements.append(sql)
        return super().scalar(sql)


def outside_literals(sql: str) -> list[str]:
    """The marked pieces of hostile values found anywhere but inside a string constant.

    The tokenizer counts positions in UTF-8 bytes.
    """
    tokens = duckdb.tokenize(sql)
    text = sql.encode()
    strings = [(start, tokens[i + 1][0] if i + 1 < len(tokens) else len(text))
               for i, (start, kind) in enumerate(tokens) if kind == duckdb.token_type.string_const]
    found = []
    for mark in MARKS.values():
        for match in mark.finditer(text):
            if not any(a <= match.start() < b for a, b in strings):
                found.append(match.group())
    return found


def test_every_value_of_a_question_reaches_sql_only_as_a_literal(tmp_path):
    project, conversion, prop, revenue, person = (hostile(n) for n in MARKS)
    events = [
        land(0, "newsletter", **{prop: "kept"}),
        identify(60, "d1", person),
        {**book(120, user=person), "event": conversion},
    ]
    events[-1]["properties"][revenue] = 42
    with Store(tmp_path / "values.duckdb") as store:
        store.create_project(project)
        store.insert_lines(project, raw_lines(events)).result()
        options = make_options(conversion, project=project, by=[prop, "utm_medium"], revenue_property=revenue,
                               models="first_touch,linear,time_decay,position:30/40/30,markov,shapley",
                               split_on_key=True, ci=0.9, bootstrap=5, start="2023-11-01", end="2023-12-01")
        backend = Recording(store.reader())
        check_question(backend, options)
        result = attribute(backend, options)
        path = journey(backend, options, person)
        reported = report(backend, make_options(conversion, project=project, question=REPORT, by=[prop, "utm_medium"],
                                                revenue_property=revenue, model="linear", interval="week",
                                                start="2023-11-01", end="2023-12-01"))
    assert reported.table.column(prop).to_pylist() == ["kept"] and reported.table.column("revenue")[0].as_py() == 42
    assert result.totals.column(prop).to_pylist() == ["kept"] * 6
    assert result.totals.column("revenue").to_pylist() == [42.0] * 6
    assert path.person == person and path.ids == ["$device:d1", person]
    assert len(backend.statements) > 20
    leaks = {sql: outside_literals(sql) for sql in backend.statements if outside_literals(sql)}
    assert not leaks


def test_the_check_itself_sees_a_value_pasted_into_sql():
    """The test above can fail: a value pasted between quotes by hand is caught."""
    prop = hostile("prop")
    assert outside_literals(f"SELECT json_extract_string(properties, '$.\"{prop}\"') FROM events")
    assert not outside_literals(f"SELECT {DUCKDB.json_text('properties', prop)} FROM events")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_a_duckdb_literal_reads_back_as_the_same_string(value):
    assert duckdb.execute(f"SELECT {DUCKDB.literal(value)}").fetchone()[0] == value


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), st.text(), min_size=1, max_size=4), st.data())
def test_a_duckdb_json_key_is_taken_literally(properties, data):
    import orjson

    key = data.draw(st.sampled_from(sorted(properties)))
    document = DUCKDB.literal(orjson.dumps(properties).decode())
    assert duckdb.execute(f"SELECT {DUCKDB.json_text(document, key)}").fetchone()[0] == properties[key]


def test_spark_literals_and_json_keys_read_back(spark):
    """Spark escapes with backslashes (``''`` there is two literals run together)."""
    import orjson

    names = [hostile("prop"), "it's", "a''b", "back\\slash\\'", "\\u0041", "nul\x00", "dots.and[0]", "$x", "/~1"]
    document = SPARK.literal(orjson.dumps({name: f"value of {name}" for name in names}).decode())
    columns = ", ".join(f"{SPARK.literal(name)}, {SPARK.json_text(document, name)}" for name in names)
    row = spark.sql(f"SELECT {columns}").collect()[0]
    assert list(row) == [x for name in names for x in (name, f"value of {name}")]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), object()])
def test_literal_refuses_what_it_cannot_spell(value):
    if isinstance(value, float):
        assert DUCKDB.literal(value) == "NULL"
    else:
        with pytest.raises(TypeError):
            DUCKDB.literal(value)


def test_no_code_but_the_dialect_quotes_sql_by_hand():
    """Quoting written out anywhere else (``.replace("'", "''")``) would be a second, unaudited way in."""
    import utmost

    package = Path(utmost.__file__).parent
    hand_quoting = re.compile(r"""\.replace\(\s*(["'])(\\?["'])\1""")
    found = [f"{path.relative_to(package)}:{number}"
             for path in sorted(package.rglob("*.py")) if path != package / "engine" / "dialect.py"
             for number, line in enumerate(path.read_text().splitlines(), 1) if hand_quoting.search(line)]
    assert not found
