"""Every Python that requires-python admits: the version matrix and the pinned toolchain.

    python tests/pythons.py matrix        # `make matrix`: the built wheel on every version
    python tests/pythons.py constraints   # `make constraints`: re-pin the tools
    python tests/pythons.py check-dist    # `make dist`: what the built files must hold

The versions are pyproject.toml's `Programming Language :: Python :: 3.x` classifiers, found
on PATH (`python3.x`) or in pyenv's versions directory. `matrix` gives each one a fresh
virtualenv under .matrix/ holding only the wheel from dist/ (`make dist`), runs
tests/smoke_wheel.py with it from an empty directory, then adds the test tools (pinned by
constraints.txt) and, on every version but the default one (whose whole suite `make test`
runs), the parsing, rendering and time tests against the installed wheel. `constraints`
resolves the `dev` dependency group and the build backend on every version and writes
constraints.txt: one `==` pin per package, with a marker where a package or its version
depends on the Python.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
# What runs on the versions other than the default: reading the server's data (fields,
# times, pages, errors) and rendering it in every format, on a terminal and in a pipe.
PARSING_RENDERING_AND_TIME = [
    "tests/output",
    "tests/client/test_client_errors.py",
    "tests/client/test_client_pagination.py",
    "tests/client/test_hosts.py",
    "tests/commands/test_projects.py",
    "tests/commands/test_executions.py",
    "tests/commands/test_environments.py",
    "tests/terminal/test_terminal_table.py",
]


def versions() -> list[str]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.findall(r'"Programming Language :: Python :: (3\.\d+)"', text)


def interpreter(version: str) -> str:
    """The newest Python `version` here, or exit saying none is."""
    on_path = shutil.which(f"python{version}")
    if on_path and _runs(on_path, version):
        return on_path
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    installed = sorted(pyenv.glob(f"{version}.*/bin/python{version}"),
                       key=lambda p: [int(n) for n in re.findall(r"\d+", p.parts[-3])])  # fmt: skip
    for candidate in reversed(installed):
        if _runs(str(candidate), version):
            return str(candidate)
    sys.exit(f"no Python {version} here (python{version} on PATH, or pyenv's {pyenv})")


def _runs(python: str, version: str) -> bool:
    """A pyenv shim on PATH exists for every version, but runs only the selected ones."""
    probe = [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    found = subprocess.run(probe, capture_output=True, text=True, check=False)
    return found.stdout.strip() == version


def fresh_venv(python: str, where: Path) -> Path:
    shutil.rmtree(where, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(where)], check=True)
    return where / "bin"


def pip(bin_dir: Path, *args: str) -> None:
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", *args], check=True)  # fmt: skip


def built(pattern: str) -> Path:
    found = sorted((ROOT / "dist").glob(pattern))
    if len(found) != 1:
        sys.exit(f"expected one {pattern} in dist/ (run `make dist`), found {len(found)}")
    return found[0]


def check_dist() -> None:
    """The wheel's metadata (PEP 639 license, URLs, a classifier per tested Python) and the
    files that must ship: LICENSE in both, docs and tests in the sdist."""
    import tarfile
    import zipfile

    with zipfile.ZipFile(built("vh_lite-*.whl")) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    fields = metadata.decode().partition("\n\n")[0].splitlines()
    expected = [
        "License-Expression: MIT",
        "License-File: LICENSE",
        "Requires-Python: >=3.10",
        *(f"Classifier: Programming Language :: Python :: {v}" for v in versions()),
    ]
    missing = [line for line in expected if line not in fields]
    missing += [] if any(f.startswith("Project-URL: ") for f in fields) else ["Project-URL"]
    missing += [] if any(n.endswith(".dist-info/licenses/LICENSE") for n in names) else ["LICENSE"]
    with tarfile.open(built("vh_lite-*.tar.gz")) as sdist:
        shipped = {name.partition("/")[2] for name in sdist.getnames()}
    missing += [
        f"sdist: {name}"
        for name in ("LICENSE", "docs/commands.md", "tests/conftest.py", "constraints.txt")
        if name not in shipped
    ]
    if len(versions()) < 2 or missing:
        sys.exit(f"the built files lack: {', '.join(missing) or 'tested versions'}")
    print(f"dist holds the metadata, LICENSE, docs and tests (Python {', '.join(versions())})")


def matrix() -> None:
    wheel = built("vh_lite-*.whl")
    default = f"{sys.version_info[0]}.{sys.version_info[1]}"
    ran = []
    for version in versions():
        python = interpreter(version)
        print(f"\n=== Python {version} ({python})", flush=True)
        bin_dir = fresh_venv(python, ROOT / ".matrix" / version)
        pip(bin_dir, str(wheel))  # the wheel alone, as a user installs it
        with tempfile.TemporaryDirectory() as empty:
            smoke = [str(bin_dir / "python"), str(ROOT / "tests" / "smoke_wheel.py")]
            subprocess.run(smoke, cwd=empty, check=True)
        if version != default:
            pip(bin_dir, "-c", str(CONSTRAINTS), "pip")  # dependency groups need pip 25.1
            pip(bin_dir, "-c", str(CONSTRAINTS), "--group", f"{ROOT / 'pyproject.toml'}:test")
            # bin/pytest, not `python -m pytest`: the current directory stays off sys.path,
            # so the tests import the installed wheel, not the source tree.
            tests = [str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider", "-n", "2",
                     *PARSING_RENDERING_AND_TIME]  # fmt: skip
            subprocess.run(tests, cwd=ROOT, check=True)
        ran.append(version)
    print(f"\nmatrix passed on Python {', '.join(ran)} (whole suite on {default}: make test)")


def constraints() -> None:
    pins: dict[str, dict[str, str]] = defaultdict(dict)  # package -> {python: version}
    every = versions()
    with tempfile.TemporaryDirectory() as scratch:
        for version in every:
            bin_dir = fresh_venv(interpreter(version), Path(scratch) / version)
            pip(bin_dir, "--upgrade", "pip", "setuptools")  # setuptools: the build backend
            pip(bin_dir, str(ROOT), "--group", f"{ROOT / 'pyproject.toml'}:dev")
            frozen = subprocess.run(
                [str(bin_dir / "python"), "-m", "pip", "freeze", "--all", "--exclude", "vh-lite",
                 "--exclude", "wheel"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            for line in frozen.splitlines():
                name, _, pinned = line.partition("==")
                pins[name][version] = pinned
    lines = [
        "# The test and dev tools (and what they and vh-lite need), pinned for `make test`, CI",
        "# and `make matrix`. Users' installs are not constrained: pyproject.toml's ranges are.",
        "# Regenerate with `make constraints` (docs/development.md); do not edit by hand.",
    ]
    for name in sorted(pins, key=str.lower):
        by_version = pins[name]
        for pinned in sorted(set(by_version.values())):
            where = [v for v in every if by_version.get(v) == pinned]
            marker = "" if where == every else f' ; python_version in "{", ".join(where)}"'
            lines.append(f"{name}=={pinned}{marker}")
    CONSTRAINTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {CONSTRAINTS} ({len(pins)} packages, Python {', '.join(every)})")


if __name__ == "__main__":
    commands = {"matrix": matrix, "constraints": constraints, "check-dist": check_dist}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(commands)}")
    commands[sys.argv[1]]()
