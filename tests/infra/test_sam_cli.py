"""The deployment tooling accepts the template: cfn-lint, `sam validate --lint`, and `sam build`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra import sam
from infra.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def test_cfn_lint_finds_nothing_including_informational_checks():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--include-checks", "I", "--", "template.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_accepts_the_template():
    result = sam.validate(capture=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_runtime_python_is_found():
    python = sam.find_runtime_python()
    out = subprocess.run([python, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("Python 3.13")


@pytest.mark.slow
def test_sam_build_packages_every_function_and_arm64_layers():
    # The default build directory (what `sam deploy` uploads), so --cached can reuse the layers'
    # dependencies between runs: ~10 s instead of ~2 min when the requirements did not change.
    build_dir = ROOT / ".aws-sam" / "build"
    result = sam.build(["--cached", "--parallel"], capture=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    built = yaml.load((build_dir / "template.yaml").read_text(), Loader=yaml.BaseLoader)
    for fn in load_template().functions().values():
        code = build_dir / built["Resources"][fn.logical_id]["Properties"]["CodeUri"]
        module = fn.handler.rpartition(".")[0].replace(".", "/")
        assert (code / "signalos" / "__init__.py").is_file(), fn.logical_id
        assert (code / f"{module}.py").is_file() or not (ROOT / "functions" / f"{module}.py").is_file()
    deps = build_dir / built["Resources"]["DependenciesLayer"]["Properties"]["ContentUri"] / "python"
    for package in ("aws_lambda_powertools", "pydantic", "jwt", "argon2", "boto3", "requests"):
        assert (deps / package).is_dir(), package
    # Compiled wheels for the Lambda runtime (CPython 3.13 on arm64), not this machine's.
    assert list(deps.glob("pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so"))
    workers = build_dir / built["Resources"]["WorkersLayer"]["Properties"]["ContentUri"] / "python"
    for package in ("openai", "pytesseract", "PIL", "reportlab"):
        assert (workers / package).is_dir(), package
