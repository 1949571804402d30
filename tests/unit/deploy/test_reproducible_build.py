"""Builds are reproducible: hashed lock files agree with pyproject.toml, the image and `make install` use them,
the base image has an exact tag, `holidays` is pinned, and the audit tolerates a closed network."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[3]
RUNTIME_LOCK = REPO / "requirements" / "runtime.lock"
DEV_LOCK = REPO / "requirements" / "dev.lock"
AUDIT = REPO / "tools" / "audit.py"


def _pins(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every requirement in a uv/pip-compile lock file."""
    pins: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in lock.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^ ;\\]+)", line):
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(3), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def _project() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=["runtime", "dev"])
def test_every_pin_is_exact_and_hashed(lock: Path) -> None:
    """Each locked package has one exact version and at least one sha256 hash."""
    pins = _pins(lock)
    assert len(pins) > 50
    unhashed = [name for name, (_, hashes) in pins.items() if hashes == 0]
    assert not unhashed, f"{lock.name}: no hash for {unhashed}"


@pytest.mark.parametrize(("lock", "groups"), [(RUNTIME_LOCK, ()), (DEV_LOCK, ("dev", "bench"))], ids=["runtime", "dev"])
def test_lock_satisfies_pyproject(lock: Path, groups: tuple[str, ...]) -> None:
    """Every dependency declared in pyproject.toml is in the lock at a version it allows (else: make lock)."""
    project = _project()
    declared = list(project["dependencies"])  # type: ignore[call-overload]
    for group in groups:
        declared += project["optional-dependencies"][group]  # type: ignore[index]
    pins = _pins(lock)
    problems = []
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement.name} missing")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{requirement.name}: lock has {pins[name][0]}, pyproject wants {requirement.specifier}")
    assert not problems, f"{lock.name} is stale (run `make lock`): {problems}"


def test_holidays_is_pinned() -> None:
    """A holidays release can move legal due dates: the version is pinned, not a range."""
    (holidays,) = [Requirement(d) for d in _project()["dependencies"] if d.startswith("holidays")]  # type: ignore[attr-defined]
    assert str(holidays.specifier).startswith("==")
    assert _pins(RUNTIME_LOCK)["holidays"][0] == str(holidays.specifier).removeprefix("==")


def test_dockerfile_uses_the_lock_and_an_exact_base_tag() -> None:
    """FROM names an exact patch version; dependencies come from the hashed lock; the project installs without deps."""
    dockerfile = (REPO / "deploy" / "docker" / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), (
        f"base image not pinned to an exact tag: {base}"
    )
    assert "pip install --no-cache-dir --require-hashes -r requirements/runtime.lock" in dockerfile
    assert "pip install --no-cache-dir --no-deps ." in dockerfile
    assert re.search(r"^USER\s+(?!root|0\b)\S+", dockerfile, flags=re.M), "the image runs as root"


def test_make_install_uses_the_hashed_lock() -> None:
    """`make install` installs from requirements/dev.lock with --require-hashes, and the project without deps."""
    makefile = (REPO / "Makefile").read_text()
    assert "pip install -q --require-hashes -r $(LOCK)" in makefile
    assert "LOCK := requirements/dev.lock" in makefile
    assert "pip install -q --no-deps -e ." in makefile
    assert re.search(r"^test: install audit ", makefile, flags=re.M), "make test does not run the audit"


def _audit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(AUDIT), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def test_audit_warns_and_passes_when_the_advisory_service_is_unreachable() -> None:
    """With no route to the vulnerability service the audit warns and exits 0 (make test goes on)."""
    dead_proxy = {"HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    result = _audit(str(RUNTIME_LOCK), env=dead_proxy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" in result.stdout and "unreachable" in result.stdout


def test_audit_fails_on_a_known_vulnerability(tmp_path: Path) -> None:
    """A lock with a release known to be vulnerable fails (skipped when the service cannot be reached)."""
    lock = tmp_path / "old.lock"
    lock.write_text("jinja2==2.10\n")
    result = _audit(str(lock))
    if "unreachable" in result.stdout:
        pytest.skip("the vulnerability service is unreachable from this machine")
    assert result.returncode == 1, result.stdout
    assert "jinja2 2.10" in result.stdout.lower() or "Jinja2 2.10" in result.stdout


def _judge() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("lienthong_audit", AUDIT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.judge


@pytest.mark.parametrize(
    ("found", "returncode", "output", "code", "says"),
    [
        (
            [{"name": "jinja2", "version": "2.10", "vulns": [{"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"]}]}],
            1,
            "",
            1,
            "PYSEC-2019-217",
        ),
        ([{"name": "a", "version": "1", "vulns": []}, {"name": "b", "version": "2", "vulns": []}], 0, "", 0, "in 2"),
        ([{"name": "a", "skip_reason": "Dependency not found on PyPI"}], 0, "", 0, "WARNING"),
        (None, 1, "requests.exceptions.ConnectionError: Max retries exceeded", 0, "WARNING"),
        (None, 1, "invalid requirement: 'a=='", 1, "failed"),
    ],
    ids=["vulnerable", "clean", "all-skipped", "no-network", "broken-file"],
)
def test_audit_verdicts(found: object, returncode: int, output: str, code: int, says: str) -> None:
    """Vulnerable fails; clean passes; an unreachable service (no answer or nothing looked up) warns; errors fail."""
    judge = _judge()
    got, message = judge("x.lock", found, returncode, output)  # type: ignore[operator]
    assert got == code and says in message
