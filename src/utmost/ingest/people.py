"""Profile operations with Mixpanel's semantics, for people and group profiles alike.

Pure: :func:`apply_operation` maps a profile (a dict, or None when there is none) and one
``/engage`` or ``/groups`` operation to the new profile (None once deleted). The store reads
the profiles a batch touches, folds the batch's operations over them in arrival order, and
writes them back in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Number
from typing import Any

from utmost.errors import InputError

Profile = dict[str, Any]


def _set(profile: Profile, values: Any) -> Profile:
    return {**profile, **_mapping("$set", values)}


def _set_once(profile: Profile, values: Any) -> Profile:
    return {**_mapping("$set_once", values), **profile}


def _add(profile: Profile, values: Any) -> Profile:
    result = dict(profile)
    for key, amount in _mapping("$add", values).items():
        if not _is_number(amount):
            raise InputError(f'"$add.{key}" is not a number')
        current = result.get(key, 0)
        # Mixpanel leaves a property that holds a non-number untouched.
        if _is_number(current):
            result[key] = current + amount
    return result


def _append(profile: Profile, values: Any) -> Profile:
    result = dict(profile)
    for key, value in _mapping("$append", values).items():
        current = result.get(key, [])
        if isinstance(current, list):
            result[key] = [*current, value]
    return result


def _union(profile: Profile, values: Any) -> Profile:
    result = dict(profile)
    for key, items in _mapping("$union", values).items():
        if not isinstance(items, list):
            raise InputError(f'"$union.{key}" is not a list')
        current = result.get(key, [])
        if isinstance(current, list):
            merged = list(current)
            for item in items:
                if item not in merged:
                    merged.append(item)
            result[key] = merged
    return result


def _remove(profile: Profile, values: Any) -> Profile:
    result = dict(profile)
    for key, value in _mapping("$remove", values).items():
        current = result.get(key)
        if isinstance(current, list):
            result[key] = [item for item in current if item != value]
    return result


def _unset(profile: Profile, names: Any) -> Profile:
    if not isinstance(names, list):
        raise InputError('"$unset" is not a list of property names')
    return {key: value for key, value in profile.items() if key not in names}


OPERATIONS: dict[str, Callable[[Profile, Any], Profile]] = {
    "$set": _set,
    "$set_once": _set_once,
    "$add": _add,
    "$append": _append,
    "$union": _union,
    "$remove": _remove,
    "$unset": _unset,
}
#: ``$delete`` removes the whole profile; its value is ignored (SDKs send "" or the id).
DELETE = "$delete"


def apply_operation(profile: Profile | None, operation: str, value: Any) -> Profile | None:
    """Apply one operation; a missing profile starts empty, ``$delete`` returns None.

    >>> apply_operation({"plan": "free"}, "$set_once", {"plan": "pro", "city": "Oslo"})
    {'plan': 'free', 'city': 'Oslo'}
    """
    if operation == DELETE:
        return None
    try:
        apply = OPERATIONS[operation]
    except KeyError:
        raise InputError(f"unknown profile operation {operation!r}") from None
    return apply(profile or {}, value)


def operations_of(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """The operations in an engage/groups record, in Mixpanel's fixed order of application."""
    found = [(name, record[name]) for name in (*OPERATIONS, DELETE) if name in record]
    if not found:
        raise InputError("no profile operation ($set, $set_once, $add, ...) in record")
    return found


def _mapping(operation: str, values: Any) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise InputError(f'"{operation}" is not an object')
    return values


def _is_number(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)
