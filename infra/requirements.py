"""Lambda layer requirements, generated from pyproject.toml (the one list of dependencies).

`infra/layer/requirements.txt` is `[project].dependencies` (every function);
`infra/layer_workers/requirements.txt` is the `workers` extra (only the functions that parse
images, call the LLM or draw PDFs). `sam build` pip-installs each file into its layer.

    python -m infra.requirements          # rewrite both files
    python -m infra.requirements --check  # exit 1 if they are stale (tests do the same)
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LAYER_FILES = {
    "dependencies": ROOT / "infra" / "layer" / "requirements.txt",
    "workers": ROOT / "infra" / "layer_workers" / "requirements.txt",
}
HEADER = "# Generated from pyproject.toml by `python -m infra.requirements`: edit pyproject, not this file.\n"


def expected_requirements(pyproject: Path = PYPROJECT) -> dict[str, list[str]]:
    """Requirement lines per layer, in pyproject order."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return {
        "dependencies": list(project["dependencies"]),
        "workers": list(project.get("optional-dependencies", {}).get("workers", [])),
    }


def render(lines: list[str]) -> str:
    return HEADER + "".join(f"{line}\n" for line in lines)


def read_requirements(path: Path) -> list[str]:
    """The requirement lines of a requirements file (comments and blanks dropped)."""
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def stale_files() -> list[Path]:
    expected = expected_requirements()
    return [
        path
        for key, path in LAYER_FILES.items()
        if not path.exists() or read_requirements(path) != expected[key]
    ]


def write_all() -> None:
    for key, lines in expected_requirements().items():
        LAYER_FILES[key].parent.mkdir(parents=True, exist_ok=True)
        LAYER_FILES[key].write_text(render(lines))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--check" in args:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path} (run: python -m infra.requirements)", file=sys.stderr)
        return 1 if stale else 0
    write_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
