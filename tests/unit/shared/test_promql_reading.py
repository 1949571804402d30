"""The small PromQL reader the alert-rule check relies on finds metrics, matchers and grouping labels."""

from __future__ import annotations

from tests.support.promql import Selector, parse, satisfied, series


def test_functions_keywords_and_durations_are_not_metrics() -> None:
    """rate/sum/deriv are functions, by/and are keywords, [15m:1m] is a duration: only the two metrics remain."""
    usage = parse(
        'deriv(sum by (group) (max by (group, topic, partition) (lag_a))[15m:1m]) > 1 and rate(b_total{x="1"}[5m]) > 0'
    )
    assert usage.metrics == {"lag_a", "b_total"}
    assert usage.grouping_labels == {"group", "topic", "partition"}
    assert usage.selectors[1].matchers == [("x", "=", "1")]


def test_regex_matchers_and_ratios() -> None:
    """A ratio of two selectors of one metric yields both selectors with their matchers."""
    usage = parse('sum(rate(req_total{status=~"5.."}[5m])) / sum(rate(req_total[5m])) > 0.02')
    assert [s.metric for s in usage.selectors] == ["req_total", "req_total"]
    assert usage.selectors[0].matchers == [("status", "=~", "5..")]


def test_exposition_parsing_and_matching() -> None:
    """Samples are read with their labels; a matcher is satisfied only by a sample with that label value."""
    text = '# HELP up x\nlienthong_dependency_up{dependency="kafka"} 1.0\nprocess_open_fds 7.0\n'
    found = series(text)
    assert found == {"lienthong_dependency_up": [{"dependency": "kafka"}], "process_open_fds": [{}]}
    kafka = Selector("lienthong_dependency_up", [("dependency", "=", "kafka")])
    mongo = Selector("lienthong_dependency_up", [("dependency", "=", "mongodb")])
    assert satisfied(kafka, found["lienthong_dependency_up"])
    assert not satisfied(mongo, found["lienthong_dependency_up"])
