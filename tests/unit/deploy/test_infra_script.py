"""deploy/local/infra.sh's own logic, with its functions sourced (no broker or store is started)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[3] / "deploy" / "local" / "infra.sh"

# A launched "broker" that is alive but whose command line is not the broker's yet: right after
# `setsid nohup java … &` the pid is for a moment a forked copy of infra.sh. Or one that exits at once.
HARNESS = """
set -u
INFRA_SH_SOURCED=1 source "$1"
DATA="$2"
if [[ $3 == alive ]]; then sleep 10 & else true & wait $! || true; fi
child=$!
echo "$child" >"$(pid_file kafka)"
ready_at=$((SECONDS + 1))
ready() { ((SECONDS >= ready_at)); }
wait_ready kafka ready && echo READY
kill "$child" 2>/dev/null || true
"""


def _wait_ready(tmp_path: Path, launched: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", HARNESS, "harness", str(INFRA), str(tmp_path), launched],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("launched", "ready"), [("alive", True), ("exited", False)])
def test_wait_ready_judges_a_launched_process_by_being_alive(tmp_path: Path, launched: str, ready: bool) -> None:
    """A just-launched process that has not exec'd its program yet is waited for, not declared dead (a fault test
    once failed on "kafka exited during start-up" while that broker went on to start); one that exited is reported."""
    done = _wait_ready(tmp_path, launched)
    if ready:
        assert done.returncode == 0 and "READY" in done.stdout, done.stderr
    else:
        assert done.returncode != 0 and "kafka exited during start-up" in done.stderr, done.stdout
