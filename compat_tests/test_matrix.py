"""The runtime matrix (``compat_tests/matrix.py``), one producer x worker pair per test.

Pairs of Python and node run everywhere (CI); pairs with Ruby run where Ruby Resque is found.
A pair passes when every scenario behaves as Ruby Resque does, except where node-resque
deviates from Ruby in a documented way: then the test asserts that exactly those deviations
show (node's actual behaviour), so a node-resque release that changes one fails here and the
table in docs/compatibility.md gets updated, rather than our behaviour being bent to node's.
"""

from __future__ import annotations

import pytest

from compat_tests.matrix import (
    DEVIATIONS,
    EXPECTED_DEVIATIONS,
    RUNTIMES,
    SCENARIOS,
    Finding,
    Outcome,
    PairResult,
    available_runtimes,
    difference,
    expected_deviations,
    render_markdown,
    run_pair,
)
from compat_tests.runtimes import requires_node, requires_ruby


def _pair(producer: str, worker: str) -> object:
    marks = []
    if "ruby" in (producer, worker):
        marks.append(requires_ruby)
    if "node" in (producer, worker):
        marks.append(requires_node)
    return pytest.param(producer, worker, id=f"{producer}-to-{worker}", marks=marks)


@pytest.mark.parametrize(("producer", "worker"), [_pair(p, w) for p in RUNTIMES for w in RUNTIMES])
def test_pair(redis_url: str, producer: str, worker: str) -> None:
    result = run_pair(redis_url, producer, worker, available_runtimes())

    assert [outcome.scenario for outcome in result.outcomes] == list(SCENARIOS)
    unexplained = [
        f"{outcome.scenario}/{finding.check}: {finding.message}"
        for outcome in result.outcomes
        for finding in outcome.unexplained
    ]
    assert unexplained == []
    for outcome in result.outcomes:
        expected = expected_deviations(outcome.scenario, producer, worker)
        assert outcome.deviations == expected, (
            f"{outcome.scenario}: node-resque's deviations changed "
            f"(update EXPECTED_DEVIATIONS and docs/compatibility.md): {outcome.findings}"
        )


# --------------------------------------------------------------------------------------------
# The matrix's own rules (no runtime needed)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (1, 1.0),
        (1, True),
        (0.0, -0.0),
        (2**70, float(2**70)),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ([1, [2, 3]], [1, [2]]),
        ("café", "cafe"),
        (None, "null"),
    ],
)
def test_difference_tells_apart_what_ruby_tells_apart(expected: object, actual: object) -> None:
    assert difference(expected, actual) is not None


def test_difference_accepts_the_same_value() -> None:
    value = ["x", 2**70, -0.0, 1e20, None, True, {"k": [1.5, {}]}]
    assert difference(value, [*value]) is None


def test_every_expected_deviation_is_documented() -> None:
    assert {rule.code for rule in EXPECTED_DEVIATIONS} == set(DEVIATIONS)
    assert {rule.scenario for rule in EXPECTED_DEVIATIONS} <= set(SCENARIOS)


def test_python_and_ruby_pairs_allow_no_deviation() -> None:
    for scenario in SCENARIOS:
        for producer in ("python", "ruby"):
            for worker in ("python", "ruby"):
                assert expected_deviations(scenario, producer, worker) == frozenset()


def test_table_marks_unexplained_findings_as_failures() -> None:
    passed = Outcome("simple", "python", "node")
    deviates = Outcome("numbers", "python", "node", [Finding("args-exact", "x", "js-numbers")])
    broken = Outcome("failure", "python", "node", [Finding("readable", "ruby read []")])
    table = render_markdown([PairResult("python", "node", ["python"], [passed, deviates, broken])])
    row = next(line for line in table.splitlines() if line.startswith("| python → node"))
    assert row == (
        "| python → node | pass | node deviation: `js-numbers` | **FAIL**: readable: ruby read [] |"
    )
    assert f"- `js-numbers`: {DEVIATIONS['js-numbers']}." in table
