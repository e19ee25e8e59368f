"""Build the wheel and the sdist, check them as the package index would, and install the wheel
alone into a clean venv: what a user gets from ``pip install hashstore-static``.

Run by ``make package-check`` (CI runs it after ``make test``). It checks:

- ``twine check --strict``: the metadata and the long description render on the index;
- the sdist holds LICENSE, the index README, pyproject.toml and every module of the package,
  and no tests (they need the whole checkout: run them from the repository);
- the wheel installs alone (with its declared dependencies only) into a new venv, where
  ``hashstore --help`` and ``hashstore --version`` work, a publish to a directory works, and
  importing ``hashstore.django`` or ``hashstore.flask`` raises an ImportError naming the extra.

Exit status 0 when all hold; otherwise the first failure is printed and the status is 1.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hashstore import __version__  # noqa: E402
from hashstore._extras import DISTRIBUTION  # noqa: E402


class CheckFailed(Exception):
    """One expectation about the built distributions does not hold."""


def run(*args: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    if result.returncode != 0:
        raise CheckFailed(
            f"`{' '.join(map(str, args))}` exited {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def build(dist: Path) -> tuple[Path, Path]:
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    expect(len(wheels) == 1 and len(sdists) == 1, f"expected one wheel and one sdist in {dist}")
    stem = f"{DISTRIBUTION.replace('-', '_')}-{__version__}"
    expect(sdists[0].name == f"{stem}.tar.gz", f"unexpected sdist name {sdists[0].name}")
    expect(wheels[0].name.startswith(f"{stem}-py3-none-any"), f"unexpected wheel {wheels[0]}")
    return wheels[0], sdists[0]


def check_sdist(sdist: Path) -> int:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    modules = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "hashstore").rglob("*")
        if path.suffix in (".py", ".typed") and "__pycache__" not in path.parts
    }
    wanted = {"LICENSE", "README.pypi.md", "README.md", "CHANGELOG.md", "pyproject.toml"}
    missing = sorted((wanted | modules) - names)
    expect(not missing, f"the sdist lacks {missing}")
    tests = sorted(name for name in names if name.startswith("tests/"))
    expect(not tests, f"the sdist ships tests it cannot run: {tests[:5]}")
    return len(names)


def check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"{DISTRIBUTION.replace('-', '_')}-{__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
    expect(f"{info}/licenses/LICENSE" in names, "the wheel has no LICENSE")
    expect("hashstore/py.typed" in names, "the wheel has no py.typed")
    expect(not any(n.startswith("tests/") for n in names), "the wheel ships tests")
    expect(f"Name: {DISTRIBUTION}\n" in metadata, "the wheel's METADATA names another project")
    expect("License-Expression: BSD-3-Clause\n" in metadata, "no License-Expression")


def check_clean_install(wheel: Path, work: Path) -> None:
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python, script = env_dir / "bin" / "python", env_dir / "bin" / "hashstore"
    run(python, "-m", "pip", "install", "--quiet", wheel)
    installed = run(python, "-m", "pip", "list", "--format=freeze").lower()
    for framework in ("django", "flask"):
        expect(f"\n{framework}==" not in f"\n{installed}", f"{framework} came with the wheel")
    expect("usage: hashstore" in run(script, "--help"), "`hashstore --help` printed no usage")
    version = run(script, "--version").strip()
    expect(version == f"hashstore {__version__}", f"`hashstore --version` said {version!r}")
    source = work / "static"
    (source / "css").mkdir(parents=True)
    (source / "css" / "app.css").write_text("body { background: url(../img/a.png) }\n")
    (source / "img").mkdir()
    (source / "img" / "a.png").write_bytes(b"png")
    out = run(script, "publish", source, "--to", work / "out", "--manifest", work / "m.json")
    expect("uploaded 2 new file(s)" in out, f"publish to a directory said {out!r}")
    for module, extra in (("hashstore.django", "django"), ("hashstore.flask", "flask")):
        code = (
            f"try:\n    import {module}\nexcept ImportError as exc:\n    print(exc)\n"
            "else:\n    print('imported')\n"
        )
        said = run(python, "-c", code).strip()
        expect(
            said.endswith(f'pip install "{DISTRIBUTION}[{extra}]"'),
            f"import {module} without {extra}: {said!r}",
        )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hashstore-package-") as tmp:
        work = Path(tmp)
        try:
            wheel, sdist = build(work / "dist")
            run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
            files = check_sdist(sdist)
            check_wheel(wheel)
            check_clean_install(wheel, work)
        except CheckFailed as exc:
            print(f"package check failed: {exc}", file=sys.stderr)
            return 1
    print(
        f"package check passed: {wheel.name} and {sdist.name} ({files} files) pass twine check; "
        "the wheel alone installs into a clean venv, runs `hashstore --help`, `--version` and a "
        "publish, and its adapters name their extras"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
