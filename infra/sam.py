"""Run the SAM CLI the way this repository needs it (`make validate`, `make build`, the infra tests).

- The SAM CLI lives in its own venv, `.venv-sam` (its pins conflict with ours); `sam` on PATH is
  the fallback.
- `sam build` without a container needs the Lambda runtime's exact Python (python3.13) on PATH.
  Machines of this kind have it under pyenv without it being on PATH, so it is looked up there
  and its directory is put in front of PATH for SAM.
- SAM_CLI_TELEMETRY=0.

    python -m infra.sam validate        # sam validate --lint --region us-east-1
    python -m infra.sam build [ARGS]    # sam build [ARGS]
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAM_VENV = ROOT / ".venv-sam"
RUNTIME_PYTHON = "python3.13"
REGION = "us-east-1"


class SamUnavailable(RuntimeError):
    """The SAM CLI or the runtime's Python is missing (run `make setup`)."""


def _works(python: str) -> bool:
    try:
        out = subprocess.run([python, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip().startswith("Python 3.13")


def find_runtime_python() -> str:
    """Path of a working python3.13 (PATH first, then pyenv's versions, then the usual places)."""
    candidates = []
    on_path = shutil.which(RUNTIME_PYTHON)
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.13*/bin/{RUNTIME_PYTHON}"), reverse=True)
    candidates += [f"/usr/local/bin/{RUNTIME_PYTHON}", f"/usr/bin/{RUNTIME_PYTHON}"]
    for candidate in candidates:
        if os.path.exists(candidate) and _works(candidate):
            return str(Path(candidate).resolve()) if "shims" not in candidate else candidate
    raise SamUnavailable(f"{RUNTIME_PYTHON} is not installed (sam build needs the Lambda runtime's Python)")


def find_sam() -> str:
    venv_sam = SAM_VENV / "bin" / "sam"
    if venv_sam.exists():
        return str(venv_sam)
    on_path = shutil.which("sam")
    if on_path:
        return on_path
    raise SamUnavailable("the SAM CLI is not installed: run `make setup` (it installs it in .venv-sam)")


def sam_env(*, with_runtime_python: bool = True) -> dict[str, str]:
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", REGION),
    }
    if with_runtime_python:
        # The interpreter's own bin directory (a symlink elsewhere would not find its stdlib/pip
        # when a pyvenv.cfg sits next to it).
        python_dir = os.path.dirname(find_runtime_python())
        env["PATH"] = f"{python_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(
    args: list[str], *, with_runtime_python: bool, capture: bool = False, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_sam(), *args],
        cwd=ROOT,
        env=sam_env(with_runtime_python=with_runtime_python),
        capture_output=capture,
        text=True,
        timeout=timeout,
        check=False,
    )


def validate(*, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return run(
        ["validate", "--lint", "--region", REGION, "--template-file", "template.yaml"],
        with_runtime_python=False,
        capture=capture,
        timeout=600,
    )


def build(extra: list[str] | None = None, *, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return run(
        ["build", "--template-file", "template.yaml", *(extra or [])],
        with_runtime_python=True,
        capture=capture,
        timeout=1800,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("validate", "build"):
        print(__doc__)
        return 2
    try:
        result = validate() if args[0] == "validate" else build(args[1:])
    except SamUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
