"""Just enough PromQL reading to list the series an alert expression uses (promtool is not available here)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


@dataclass
class Selector:
    """One metric used by an expression, with its label matchers."""

    metric: str
    matchers: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Usage:
    """What one expression needs from the scraped series."""

    selectors: list[Selector]
    grouping_labels: set[str]

    @property
    def metrics(self) -> set[str]:
        """Names of the metrics used."""
        return {s.metric for s in self.selectors}


def parse(expr: str) -> Usage:
    """Metric selectors (name + matchers) and the labels named in by/without/on/ignoring clauses."""
    text = re.sub(r"\[[^\]]*\]", " ", expr)  # range and subquery durations
    grouping: set[str] = set()
    for match in _GROUPING.finditer(text):
        grouping |= {label.strip() for label in match.group(2).split(",") if label.strip()}
    text = _GROUPING.sub(" ", text)
    selectors: list[Selector] = []
    position = 0
    while position < len(text):
        ident = _IDENT.match(text, position)
        if ident is None:
            position += 1
            continue
        name, end = ident.group(0), ident.end()
        rest = text[end:].lstrip()
        if name in KEYWORDS or rest.startswith("("):  # keyword or function call
            position = end
            continue
        matchers: list[tuple[str, str, str]] = []
        if rest.startswith("{"):
            close = text.index("}", end)
            matchers = [(m.group(1), m.group(2), m.group(3)) for m in _MATCHER.finditer(text[end:close])]
            end = close + 1
        selectors.append(Selector(name, matchers))
        position = end
    return Usage(selectors, grouping)


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def series(exposition: str) -> dict[str, list[dict[str, str]]]:
    """Prometheus text format → metric name → label sets of its samples."""
    found: dict[str, list[dict[str, str]]] = {}
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            labels = dict(_LABEL.findall(match.group(3) or ""))
            found.setdefault(match.group(1), []).append(labels)
    return found


def satisfied(selector: Selector, samples: list[dict[str, str]]) -> bool:
    """True when some sample has the value of every equality matcher and the label of every regex matcher."""
    for labels in samples:
        # job and instance are written by Prometheus at scrape time
        checked = [m for m in selector.matchers if m[0] not in {"job", "instance"}]
        if all(_matches(labels.get(name), op, value) for name, op, value in checked):
            return True
    return False


def _matches(actual: str | None, op: str, value: str) -> bool:
    if op == "=":
        return actual == value
    if op == "=~":
        # a regex often selects values that occur only in trouble (status=~"5.."): the label must exist
        return actual is not None
    return True  # negative matchers need no particular sample
