"""A small, slow, obviously-correct Python reading of docs/semantics.md §2 to §10, to check the
engine against.

Works on canonical rows as the store holds them (dicts with event, time as µs, seq, ids,
utm columns, properties). Written straight from the contract's prose, without SQL in mind.
"""

from __future__ import annotations

from collections import defaultdict

DEVICE = "$device:"


def _ids(events):
    devices = {e["device_id"] for e in events if e.get("device_id")}

    def norm(value):
        return DEVICE + value if value in devices else value

    def own(e):
        if e.get("user_id"):
            return norm(e["user_id"])
        if e.get("device_id"):
            return DEVICE + e["device_id"]
        return norm(e["distinct_id"]) if e.get("distinct_id") else None

    return norm, own


def persons(events):
    """id → person label, by union-find over the links of docs/semantics.md §2."""
    norm, own = _ids(events)
    ordered = sorted(events, key=lambda e: (e["time"], e["seq"]))
    parent: dict[str, str] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a, b):
        if a and b and a != b:
            parent[find(a)] = find(b)

    for e in ordered:
        if own(e):
            find(own(e))
    linked_devices = set()
    for e in ordered:  # earliest link per device wins
        pair = None
        if e.get("device_id") and e.get("user_id"):
            pair = (DEVICE + e["device_id"], e["user_id"])
        elif e["event"] == "$identify":
            anon = e["properties"].get("$anon_distinct_id")
            user = e["properties"].get("$identified_id") or e.get("distinct_id")
            if anon:
                pair = (norm(anon), user)
        if pair and pair[0].startswith(DEVICE) and pair[1] and not pair[1].startswith(DEVICE):
            if pair[0] not in linked_devices:
                linked_devices.add(pair[0])
                union(pair[0], norm(pair[1]))
    for e in ordered:
        if e["event"] == "$create_alias" and e["properties"].get("alias") and e.get("distinct_id"):
            union(norm(e["properties"]["alias"]), norm(e["distinct_id"]))
        if e["event"] == "$merge":
            ids = [norm(i) for i in e["properties"].get("$distinct_ids", []) if i]
            for other in ids[1:]:
                union(ids[0], other)
    first_seen = {}
    for e in ordered:
        if own(e) and own(e) not in first_seen:
            first_seen[own(e)] = (e["time"], e["seq"])
    members = defaultdict(list)
    for x in list(parent):
        members[find(x)].append(x)
    label = {}
    for group in members.values():
        best = min(group, key=lambda i: (i.startswith(DEVICE), i not in first_seen, first_seen.get(i, (0, 0)), i))
        for x in group:
            label[x] = best
    return {e["seq"]: label[own(e)] for e in events if own(e)}


def attribute(events, conversion, models, by=("utm_source",), lookback_us=30 * 86400 * 10**6, scope="user",
              timeout_us=30 * 60 * 10**6, half_life_us=7 * 86400 * 10**6, revenue_property="amount",
              split_on_key=False):
    """{model: {key tuple: [credit, revenue]}} for the named rule-based models."""
    person_of = persons(events)
    stream = defaultdict(list)
    for e in sorted(events, key=lambda e: (e["time"], e["seq"])):
        if e["seq"] in person_of:
            stream[person_of[e["seq"]]].append(e)
    totals = {m: defaultdict(lambda: [0.0, 0.0]) for m in models}
    for evs in stream.values():
        session, previous, first_key = 0, None, None
        for e in evs:
            key = tuple(_key_value(e, p) for p in by) if e.get("utm_source") else None
            if previous is None or e["time"] - previous > timeout_us:
                session, first_key = session + 1, None
            elif split_on_key and key is not None and first_key is not None and key != first_key:
                session, first_key = session + 1, None
            if key is not None and first_key is None:
                first_key = key
            e["_session"], previous = session, e["time"]
        touches, last = [], None
        for e in evs:
            if e.get("utm_source"):
                key = tuple(_key_value(e, p) for p in by)
                if last is not None and last[0] == e["_session"] and last[1] == key:
                    continue  # the same click: a reload or a second event on one landing
                last = (e["_session"], key)
                touches.append((e["time"], e["seq"], e["_session"], key))
        for c in evs:
            if c["event"] != conversion:
                continue
            revenue = _revenue(c["properties"].get(revenue_property))
            ts = [t for t in touches if t[0] >= c["time"] - lookback_us and (t[0], t[1]) <= (c["time"], c["seq"])
                  and (scope == "user" or t[2] == c["_session"])]
            for model in models:
                for key, credit in _credits(model, ts, c["time"], half_life_us, len(by)).items():
                    totals[model][key][0] += credit
                    totals[model][key][1] += credit * revenue
    return {m: {k: v for k, v in t.items() if v[0] != 0} for m, t in totals.items()}


def _key_value(e, prop):
    value = e.get(prop) if prop.startswith("utm_") else e["properties"].get(prop)
    return str(value) if value not in (None, "") else "(not set)"


def _revenue(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    if isinstance(value, bool) or number != number or number in (float("inf"), float("-inf")):
        return 0.0
    return number


POSITIONS = {"u_shaped": (40, 20, 40), "j_shaped": (20, 20, 60), "inverse_j": (60, 20, 20)}


def _credits(model, ts, conversion_time, half_life_us, width):
    if not ts:
        return {("(none)",) * width: 1.0}
    n = len(ts)
    if model == "participation":
        return {t[3]: 1.0 for t in ts}
    if model == "first_touch":
        weights = [1.0] + [0.0] * (n - 1)
    elif model == "last_touch":
        weights = [0.0] * (n - 1) + [1.0]
    elif model == "linear":
        weights = [1 / n] * n
    elif model == "time_decay":
        raw = [2 ** (-(conversion_time - t[0]) / half_life_us) for t in ts]
        weights = [w / sum(raw) for w in raw]
    else:
        f, m, last = (x / 100 for x in (POSITIONS.get(model) or map(float, model.split(":")[1].split("/"))))
        if n == 1:
            weights = [1.0]
        elif n == 2:
            weights = [f / (f + last), last / (f + last)]
        else:
            weights = [f] + [m / (n - 2)] * (n - 2) + [last]
    out = defaultdict(float)
    for t, w in zip(ts, weights):
        out[t[3]] += w
    return out
