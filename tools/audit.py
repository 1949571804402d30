"""pip-audit of the hashed lock files that tolerates a closed network.

Known vulnerabilities in a locked dependency fail (exit 1). When the advisory service cannot be reached
(PyPI's JSON API by default; our build machines may reach only a mirror of the simple index, or nothing) it
warns and exits 0, so ``make test`` still runs offline; the next run with a network audits again.

    python tools/audit.py requirements/runtime.lock requirements/dev.lock
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: phrases of pip-audit / requests / urllib3 errors that mean "no network", not "vulnerable"
UNREACHABLE = (
    "ConnectionError",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "timed out",
    "ProxyError",
    "SSLError",
    "Network is unreachable",
    "ServiceError",
)


def judge(lock: str, found: list[dict[str, Any]] | None, returncode: int, output: str) -> tuple[int, str]:
    """Exit code and message for one pip-audit run (``found``: its JSON ``dependencies``, None without a report)."""
    if found is not None:
        lines = [
            f"{lock}: {d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v.get('fix_versions') or []) or '-'})"
            for d in found
            for v in d.get("vulns") or []
        ]
        if lines:
            return 1, "\n".join(lines)
        # a package the service does not know is skipped, not audited: when that is every package, the service
        # answered nothing (a mirror without the JSON API, a proxy answering 404)
        skipped = [d["name"] for d in found if d.get("skip_reason")]
        audited = len(found) - len(skipped)
        if found and not audited:
            return 0, f"WARNING {lock}: vulnerability service unreachable (no package could be looked up); skipped"
        if returncode == 0:
            note = f"; not found, so not audited: {', '.join(skipped)}" if skipped else ""
            return 0, f"{lock}: no known vulnerabilities in {audited} locked packages{note}"
    if returncode != 0 and any(marker in output for marker in UNREACHABLE):
        return 0, f"WARNING {lock}: vulnerability service unreachable; audit skipped ({output.strip()[-300:]})"
    if returncode != 0:
        return 1, f"{lock}: pip-audit failed:\n{output.strip()[-2000:]}"
    return 0, f"{lock}: audited"


def audit(lock: Path) -> int:
    """Audit one requirements file without installing it; 0 when clean or unreachable, 1 when vulnerable."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        result = subprocess.run(  # noqa: S603 - our own interpreter running pip-audit on our lock files
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--requirement",
                str(lock),
                "--disable-pip",  # the lock is fully pinned and hashed: nothing to resolve
                "--no-deps",
                "--progress-spinner=off",
                "--format=json",
                f"--output={report}",
                "--timeout=20",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        found = None
        if report.is_file() and report.stat().st_size:
            found = json.loads(report.read_text()).get("dependencies", [])
        code, message = judge(str(lock), found, result.returncode, result.stdout + result.stderr)
    print(message)
    return code


def main(argv: list[str]) -> int:
    """Audit every lock file given; non-zero when any has a known vulnerability."""
    locks = [Path(a) for a in argv] or [Path("requirements/runtime.lock")]
    return max(audit(lock) for lock in locks)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
