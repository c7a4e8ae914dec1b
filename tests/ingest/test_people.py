"""Profile operations with Mixpanel's semantics, pure and through the store."""

from __future__ import annotations

import pytest

from utmost.errors import InputError
from utmost.ingest.people import apply_operation, operations_of


@pytest.mark.parametrize(
    ("before", "operation", "value", "after"),
    [
        (None, "$set", {"plan": "pro"}, {"plan": "pro"}),
        ({"plan": "free", "city": "Oslo"}, "$set", {"plan": "pro"}, {"plan": "pro", "city": "Oslo"}),
        ({"plan": "free"}, "$set_once", {"plan": "pro", "signup": "2026-11-01"}, {"plan": "free", "signup": "2026-11-01"}),
        (None, "$add", {"nights": 3}, {"nights": 3}),
        ({"nights": 3}, "$add", {"nights": -1, "visits": 1.5}, {"nights": 2, "visits": 1.5}),
        ({"nights": "three"}, "$add", {"nights": 1}, {"nights": "three"}),
        (None, "$append", {"rooms": "deluxe"}, {"rooms": ["deluxe"]}),
        ({"rooms": ["suite"]}, "$append", {"rooms": "deluxe"}, {"rooms": ["suite", "deluxe"]}),
        ({"rooms": ["suite"]}, "$append", {"rooms": ["a", "b"]}, {"rooms": ["suite", ["a", "b"]]}),
        ({"rooms": "suite"}, "$append", {"rooms": "deluxe"}, {"rooms": "suite"}),
        (None, "$union", {"tags": ["a", "b", "a"]}, {"tags": ["a", "b"]}),
        ({"tags": ["a"]}, "$union", {"tags": ["b", "a", "c"]}, {"tags": ["a", "b", "c"]}),
        ({"tags": ["a", "b", "a"]}, "$remove", {"tags": "a"}, {"tags": ["b"]}),
        ({"tags": ["a"]}, "$remove", {"missing": "x"}, {"tags": ["a"]}),
        ({"a": 1, "b": 2, "c": 3}, "$unset", ["a", "c", "zz"], {"b": 2}),
        ({"a": 1}, "$delete", "", None),
        ({"a": 1}, "$delete", "user-42", None),
        (None, "$delete", "", None),
    ],
)
def test_operations(before, operation, value, after):
    assert apply_operation(before, operation, value) == after


def test_operations_do_not_mutate_their_input():
    profile = {"tags": ["a"], "n": 1}
    for operation, value in [("$set", {"n": 2}), ("$union", {"tags": ["b"]}), ("$append", {"tags": "c"}), ("$unset", ["n"])]:
        apply_operation(profile, operation, value)
    assert profile == {"tags": ["a"], "n": 1}


@pytest.mark.parametrize(
    ("operation", "value", "message"),
    [
        ("$set", ["x"], '"$set" is not an object'),
        ("$add", {"n": "1"}, '"$add.n" is not a number'),
        ("$add", {"n": True}, '"$add.n" is not a number'),
        ("$union", {"tags": "a"}, '"$union.tags" is not a list'),
        ("$unset", "a", '"$unset" is not a list of property names'),
        ("$increment", {"n": 1}, "unknown profile operation '$increment'"),
    ],
)
def test_bad_operations(operation, value, message):
    with pytest.raises(InputError, match=message.replace("$", r"\$")):
        apply_operation({}, operation, value)


def test_operations_of_a_record_in_fixed_order():
    record = {"$token": "t", "$distinct_id": "u", "$unset": ["a"], "$set": {"a": 1}}
    assert operations_of(record) == [("$set", {"a": 1}), ("$unset", ["a"])]
    with pytest.raises(InputError, match="no profile operation"):
        operations_of({"$token": "t", "$distinct_id": "u"})


def test_store_folds_updates_in_arrival_order(store):
    updates = [
        (("user-42",), "$set_once", {"initial_utm_source": "newsletter"}),
        (("user-42",), "$set", {"plan": "free", "nights": 1}),
        (("user-42",), "$add", {"nights": 2}),
        (("user-42",), "$set_once", {"initial_utm_source": "facebook"}),
        (("user-7",), "$set", {"plan": "pro"}),
    ]
    assert store.update_profiles("people", "default", updates) == 2
    store.update_profiles("people", "default", [(("user-42",), "$union", {"rooms": ["deluxe"]})])
    assert store.profile("people", "default", "user-42") == {
        "initial_utm_source": "newsletter", "plan": "free", "nights": 3, "rooms": ["deluxe"]}
    store.update_profiles("people", "default", [(("user-7",), "$delete", "")])
    assert store.profile("people", "default", "user-7") is None


def test_store_keeps_projects_and_kinds_apart(store):
    store.create_project("other")
    store.update_profiles("people", "default", [(("x",), "$set", {"p": 1})])
    store.update_profiles("groups", "default", [(("company", "x"), "$set", {"g": 1})])
    assert store.profile("people", "other", "x") is None
    assert store.profile("groups", "default", "company", "x") == {"g": 1}


def test_a_failing_update_changes_nothing(store):
    store.update_profiles("people", "default", [(("u",), "$set", {"n": 1})])
    with pytest.raises(InputError):
        store.update_profiles("people", "default", [(("u",), "$set", {"n": 2}), (("u",), "$add", {"n": "x"})])
    assert store.profile("people", "default", "u") == {"n": 1}
