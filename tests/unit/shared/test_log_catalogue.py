"""docs/log-events.md lists every log event the code emits, at its level, and nothing the code no longer logs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "docs" / "log-events.md"
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}

#: call sites whose event name is computed: file -> (expression, the names it can take)
DYNAMIC = {
    ("services/notify/handlers.py", "f'notification_{notification.status.value}'"): "notification_",
    ("services/notify/handlers.py", "name"): "webhook_",
}


def _logged() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Constant event names with their levels, and the computed ones (file, expression, level)."""
    constant: dict[str, set[str]] = {}
    computed: list[tuple[str, str, str]] = []
    for path in sorted([*REPO.glob("shared/**/*.py"), *REPO.glob("services/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            target = node.func.value
            if node.func.attr not in LEVELS or not (isinstance(target, ast.Name) and target.id == "log"):
                continue
            if not node.args:
                continue
            first = node.args[0]
            level = "error" if node.func.attr == "exception" else node.func.attr
            # a conditional between two literal names counts as both ("a" if applied else "b")
            choices = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            if all(isinstance(c, ast.Constant) and isinstance(c.value, str) for c in choices):
                for choice in choices:
                    constant.setdefault(choice.value, set()).add(level)  # type: ignore[attr-defined]
            else:
                computed.append((str(path.relative_to(REPO)), ast.unparse(first), level))
    return constant, computed


def _catalogue() -> dict[str, str]:
    """Event name -> level, from the tables of docs/log-events.md."""
    rows = re.findall(r"^\| `([a-z_]+)` \| (debug|info|warning|error|critical) \|", CATALOGUE.read_text(), flags=re.M)
    return dict(rows)


def _computed_names() -> set[str]:
    """Names the computed call sites can produce, read from the code that builds them."""
    from services.notify.adapters.metrics import OUTCOMES

    webhook: set[str] = set()
    tree = ast.parse((REPO / "services" / "notify" / "handlers.py").read_text())
    for node in ast.walk(tree):
        # name = {"delivered": "webhook_delivered", ...}.get(final or "", "webhook_retry_scheduled")
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "name" for t in node.targets):
            webhook |= {
                c.value
                for c in ast.walk(node.value)
                if isinstance(c, ast.Constant) and str(c.value).startswith("webhook_")
            }
    return {f"notification_{o}" for o in OUTCOMES} | webhook


def test_every_logged_event_is_in_the_catalogue_at_its_level() -> None:
    """Each constant event name of shared/ and services/ has a row with the level the code logs it at."""
    constant, _ = _logged()
    catalogue = _catalogue()
    missing = sorted(set(constant) - set(catalogue))
    assert not missing, f"log events not in docs/log-events.md: {missing}"
    wrong = {name: (levels, catalogue[name]) for name, levels in constant.items() if catalogue[name] not in levels}
    assert not wrong, f"levels differ (code, catalogue): {wrong}"


def test_computed_event_names_are_known_and_catalogued() -> None:
    """Call sites that compute their event name are the known ones, and every name they produce is listed."""
    _, computed = _logged()
    unknown = [(path, expr) for path, expr, _ in computed if (path, expr) not in DYNAMIC]
    assert not unknown, f"computed log event names: add them to DYNAMIC and the catalogue: {unknown}"
    names = _computed_names()
    assert {n for n in names if n.startswith("webhook_")} == {
        "webhook_delivered",
        "webhook_failed",
        "webhook_retry_scheduled",
    }
    assert not names - set(_catalogue()), f"not catalogued: {sorted(names - set(_catalogue()))}"


def test_the_catalogue_lists_nothing_the_code_no_longer_logs() -> None:
    """Every row is an event some code still emits."""
    constant, _ = _logged()
    stale = sorted(set(_catalogue()) - set(constant) - _computed_names())
    assert not stale, f"docs/log-events.md lists events no code logs: {stale}"
    assert len(_catalogue()) >= 40
