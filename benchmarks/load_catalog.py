"""Loading a catalog: JSON file -> models -> Catalog, against `json.loads` alone (the floor).

Run: python benchmarks/load_catalog.py [--sizes 10000 100000] [--rounds 3]

A seeded catalog file of P promotions in LiveOps' JSON (coupons, promo codes, item discounts
and personalized rules; 1..6 attribute conditions each, string, number and date; names,
windows, limits, items) is written to a temporary directory. Measured, median of `--rounds`
interleaved rounds in one process: reading and parsing the file (`json.loads`, the floor);
the same plus building the models (`read_json_file` + `load_catalog`); building the
`Catalog` index from the models; and the command line `liveops-rules check FILE --user U
--at T` end to end in a fresh process (interpreter start and imports included), against
the same command on an empty catalog (its fixed cost: start, imports, the user) and
`python -c pass` with the same interpreter, all from cached bytecode as an installed
package runs.

Two floors for building the models are timed beside them, from the models already built (their
field values read before timing): the models' public constructors called again with their own
field values (conditions, windows and names already built), as they are and with attrs'
validators switched off (`attrs.validators.disabled()`, process-wide, so only in a
benchmark); and a new instance of each class with every slot set and nothing else
(`object.__new__`). What no loader producing these classes can go under.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import attrs  # noqa: E402

from liveops_rules import Catalog, Promotion  # noqa: E402
from liveops_rules.wire import load_catalog, read_json_file  # noqa: E402

AT = "2026-11-22T12:00:00+00:00"


def _condition(rng: random.Random) -> dict[str, object]:
    roll = rng.random()
    missing = rng.random() < 0.3
    if roll < 0.7:
        return {
            "attribute": f"attr{rng.randrange(20)}",
            "type": "string",
            "operator": rng.choice(["eq", "ne"]),
            "value": f"v{rng.randrange(30)}",
            "can_be_missing": missing,
        }
    if roll < 0.9:
        return {
            "attribute": "level",
            "type": "number",
            "operator": rng.choice(["eq", "ne", "gt", "ge", "lt", "le"]),
            "value": str(rng.randrange(100)),
            "can_be_missing": missing,
        }
    return {
        "attribute": "registered",
        "type": "date",
        "operator": rng.choice(["gt", "ge", "lt", "le"]),
        "value": f"20{rng.randrange(20, 27)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}",
        "can_be_missing": missing,
    }


def write_catalog(path: Path, size: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    sections: dict[str, list[dict[str, object]]] = {
        "coupons": [],
        "promocodes": [],
        "discounts": [],
        "personalized_rules": [],
    }
    for n in range(size):
        common: dict[str, object] = {
            "date_start": "2026-11-01T00:00:00+00:00",
            "date_end": "2027-01-01T00:00:00+00:00" if n % 2 else None,
            "attribute_conditions": [_condition(rng) for _ in range(rng.randint(1, 6))],
            "is_enabled": rng.random() > 0.1,
        }
        named = {**common, "name": {"en-US": f"Promotion {n}", "de-DE": f"Aktion {n}"}}
        kind = n % 4
        if kind == 0:
            sections["coupons"].append(
                {
                    **named,
                    "external_id": f"coupon_{n}",
                    "bonus": [{"sku": f"item_{rng.randrange(500)}", "quantity": 1}],
                    "redeem_total_limit": 1000,
                    "redeem_user_limit": 1,
                }
            )
        elif kind == 1:
            sections["promocodes"].append(
                {**named, "external_id": f"promo_{n}", "discount": {"percent": "10.00"}}
            )
        elif kind == 2:
            sections["discounts"].append(
                {
                    **named,
                    "id": n + 1,
                    "discount": {"percent": "5.00"},
                    "items": [{"sku": f"item_{rng.randrange(500)}"}],
                }
            )
        else:
            sections["personalized_rules"].append(
                {
                    "attribute_conditions": common["attribute_conditions"],
                    "is_enabled": common["is_enabled"],
                    "rule_id": n + 1,
                    "name": f"Rule {n}",
                    "items": [{"sku": f"item_{rng.randrange(500)}"}],
                    "is_satisfied_for_unauth": bool(n % 3),
                }
            )
    path.write_text(json.dumps(sections))


def _timer(call: Callable[[], object]) -> Callable[[], float]:
    def run() -> float:
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    return run


# The processes timed run this tree's package, from cached bytecode as an installed package
# does: without that, a machine that sets PYTHONDONTWRITEBYTECODE compiles the whole
# package again in every process.
_ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENVIRONMENT["PYTHONPATH"] = str(ROOT)


Prepared = list[tuple[type, dict[str, object]]]


def _field_values(promotions: list[Promotion], *, init_only: bool) -> Prepared:
    """Each promotion's class and its fields' values (only its constructor's arguments when
    `init_only`), read before any timing."""
    names = {
        cls: tuple(f.name for f in attrs.fields(cls) if f.init or not init_only)
        for cls in {p.__class__ for p in promotions}
    }
    return [(p.__class__, {n: getattr(p, n) for n in names[p.__class__]}) for p in promotions]


def _constructed(prepared: Prepared) -> list[object]:
    """Each promotion built again by its public constructor."""
    return [cls(**arguments) for cls, arguments in prepared]


def _unvalidated(prepared: Prepared) -> list[object]:
    with attrs.validators.disabled():
        return _constructed(prepared)


def _slots_set(prepared: Prepared) -> list[object]:
    """A new instance of each promotion's class with every slot set: no constructor at all."""
    setter = object.__setattr__
    built: list[object] = []
    for cls, values in prepared:
        new: object = object.__new__(cls)
        for name, value in values.items():
            setter(new, name, value)
        built.append(new)
    return built


def _process(arguments: list[str]) -> Callable[[], float]:
    def run() -> float:
        started = time.perf_counter()
        subprocess.run(arguments, check=True, stdout=subprocess.DEVNULL, env=_ENVIRONMENT)
        return time.perf_counter() - started

    return run


def measure(size: int, rounds: int, directory: Path) -> None:
    path = directory / f"catalog_{size}.json"
    write_catalog(path, size)
    user = directory / "user.json"
    user.write_text(json.dumps({"id": "u1", "attributes": {"attr1": "v3", "level": "42"}}))
    promotions = load_catalog(read_json_file(path))
    assert len(promotions) == size
    arguments = _field_values(promotions, init_only=True)
    slot_values = _field_values(promotions, init_only=False)
    empty = directory / "empty.json"
    empty.write_text("{}")
    check = [sys.executable, "-m", "liveops_rules.cli", "check", str(path)]
    check += ["--user", str(user), "--at", AT, "--format", "json"]
    check_empty = [*check[:4], str(empty), *check[5:]]
    timers = [
        _timer(lambda: json.loads(path.read_bytes())),
        _timer(lambda: load_catalog(read_json_file(path))),
        _timer(lambda: Catalog(promotions)),
        _timer(lambda: _constructed(arguments)),
        _timer(lambda: _unvalidated(arguments)),
        _timer(lambda: _slots_set(slot_values)),
        _process(check),
        _process(check_empty),
        _process([sys.executable, "-c", "pass"]),
    ]
    samples: list[list[float]] = [[] for _ in timers]
    for _ in range(rounds):
        for index, timer in enumerate(timers):
            samples[index].append(timer())
    medians = [statistics.median(s) for s in samples]
    floor, models, catalog, constructed, unvalidated, slots, cli, imports, python = medians
    each = 1e6 / size
    print(
        f"P={size:>7,}  json.loads {floor:6.3f} s  models {models:6.3f} s "
        f"({models / floor:5.1f}x the floor, {models * each:5.1f} µs/promotion)  "
        f"Catalog {catalog:6.3f} s  CLI check {cli:6.3f} s (of an empty catalog "
        f"{imports:5.3f} s, python alone {python:5.3f} s)"
    )
    print(
        f"           floors of the models, µs/promotion: public constructors again "
        f"{constructed * each:5.1f}, validators off {unvalidated * each:5.1f}, "
        f"slots set {slots * each:5.1f}; a check's floor (empty check + json.loads + "
        f"constructors, validators off) {imports + floor + unvalidated:6.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}; median of {args.rounds} interleaved rounds")
    with tempfile.TemporaryDirectory() as directory:
        for size in args.sizes:
            measure(size, args.rounds, Path(directory))


if __name__ == "__main__":
    main()
