"""`make audit`: pip-audit over the installed environment, saying clearly what it could check.

Exit status 1 when a known vulnerability is found. When the vulnerability service cannot be
reached, or knows none of the installed versions (an offline mirror), the audit says so and
exits 0, so that offline runs do not fail; `WERKPLAATS_AUDIT_REQUIRED=1` (set it where the
service is reachable, e.g. a release pipeline) turns an incomplete audit into a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PIP_AUDIT = str(Path(sys.executable).parent / "pip-audit")
SERVICES = ("pypi", "osv")
AUDIT_ARGS = (PIP_AUDIT, "--format", "json", "--progress-spinner", "off", "--skip-editable", "-l")


def run(service: str) -> dict[str, Any] | str:
    """pip-audit's JSON report, or why there is none."""
    try:
        done = subprocess.run(
            [*AUDIT_ARGS, "--vulnerability-service", service],
            capture_output=True,
            text=True,
            timeout=180,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"pip-audit did not run: {exc}"
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{service}: no report ({last[:200]})"
    return report


def main() -> int:
    required = os.environ.get("WERKPLAATS_AUDIT_REQUIRED", "") in ("1", "true", "yes")
    problems: list[str] = []
    for service in SERVICES:
        report = run(service)
        if isinstance(report, str):
            problems.append(report)
            continue
        deps = report.get("dependencies", [])
        audited = [d for d in deps if "skip_reason" not in d]
        vulnerable = [d for d in audited if d.get("vulns")]
        for dep in vulnerable:
            ids = ", ".join(v["id"] for v in dep["vulns"])
            print(f"audit: {dep['name']} {dep['version']} has known vulnerabilities: {ids}")
        if vulnerable:
            return 1
        if audited:
            print(
                f"audit: no known vulnerabilities in {len(audited)} packages "
                f"({service}; {len(deps) - len(audited)} not known to the service)"
            )
            return 0
        problems.append(f"{service}: none of the {len(deps)} installed versions is known to it")
    print("audit: NOT CHECKED - the vulnerability service could not be used from here:")
    for problem in problems:
        print(f"  {problem}")
    if required:
        return 1
    print("  (not a failure offline; set WERKPLAATS_AUDIT_REQUIRED=1 to make it one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
