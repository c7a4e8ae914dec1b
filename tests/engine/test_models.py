"""The models table: every row can be named, computed and explained, and no one lists models but it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from utmost.engine import make_options, queries
from utmost.engine.models import MODELS, NAMES, Caused, Learned, Rule, parse_model
from utmost.engine.options import Options
from utmost.errors import InputError

SRC = Path(__file__).parents[2] / "src" / "utmost"


@pytest.mark.parametrize("name", NAMES)
def test_every_name_is_its_own_row(name: str) -> None:
    model = parse_model(f" {name} ")
    assert model.name == name and model.meaning and model in MODELS


def test_a_position_family_instance_takes_the_familys_meaning_and_rule() -> None:
    family = next(m for m in MODELS if m.pattern)
    model = parse_model("position:30/40/30")
    assert (model.name, model.meaning, model.computes, model.position) == (
        "position:30/40/30", family.meaning, family.computes, (30.0, 40.0, 30.0))


def test_the_unknown_model_error_lists_the_table() -> None:
    with pytest.raises(InputError) as raised:
        parse_model("zzz")
    assert str(raised.value) == f"unknown model 'zzz'. Models: {', '.join(NAMES)}, position:F/M/L."


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_each_row_is_computed_one_way_and_reads_real_parameters(model) -> None:
    fields = {f.name for f in dataclasses.fields(Options)}
    assert isinstance(model.computes, Rule | Learned | Caused)
    assert set(model.parameters) <= fields, "a model reads only the question's parameters"
    if isinstance(model.computes, Rule):
        assert model.computes.combine in ("sum", "max")
        assert model.computes.reads <= set(queries.MEASURES), "a rule reads only measures attributable computes"
        if not model.pattern:
            assert "SELECT" not in model.computes.weight(model)


def test_a_learned_model_reads_its_parameters_from_the_question() -> None:
    options = make_options("Buy", models="markov", markov_order=3)
    assert options.models[0]._reading(options) == {"markov_order": 3}


def test_no_module_but_the_table_names_a_model_to_choose_what_to_compute() -> None:
    """Variants as data: no ``if model … == "markov"`` left outside the table."""
    chain = re.compile(r"""(?:kind|name|model)\s*(?:==|!=|in)\s*\(?["'](?:first_touch|last_touch|linear|u_shaped|"""
                       r"""j_shaped|inverse_j|time_decay|participation|markov|shapley|position)""")
    offenders = [f"{path.relative_to(SRC)}:{n}" for path in SRC.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if chain.search(line)]
    assert not offenders
