"""Real third-party static folders publish with every reference pointing at its hashed file.

Bootstrap, Font Awesome, KaTeX, Leaflet and swagger-ui are fetched once with ``npm pack`` at
pinned versions by ``bench/thirdparty.py`` (into ``build/thirdparty/``); Django admin's static
folder comes with the installed Django. Each is published to a directory, then every reference
in every output stylesheet and script is read back: one that pointed at an existing file now
points at that file's hashed key, which is in the output; any other is left as written; and the
references that point at nothing after the publish are exactly those that did before.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from hashstore import Settings, publish
from hashstore.references import finder_for, resolve, split_suffix

from .helpers import load_bench_script

ROOT_URL_PATH = "/static/"
thirdparty = load_bench_script("thirdparty")
CASES = [pytest.param(p, id=p.directory.rsplit("-", 1)[0]) for p in thirdparty.PACKAGES]
CASES.append(pytest.param(None, id="django-admin"))


def _source(package: Any) -> Path:
    """The package's folder, fetched with npm unless cached; skip only when npm is missing."""
    if package is None:
        pytest.importorskip("django")
        return Path(thirdparty.django_admin_static())
    path = Path(thirdparty.package_path(package))
    if not path.is_dir() and thirdparty.npm_command() is None:
        pytest.skip(f"npm is not installed, so {package.spec} cannot be fetched into {path}")
    try:
        return Path(thirdparty.fetch(package))
    except thirdparty.FetchError as exc:
        pytest.fail(f"{exc} (run `.venv/bin/python bench/thirdparty.py` to retry)")


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


@pytest.mark.parametrize("package", CASES)
def test_every_reference_points_at_its_hashed_file(package: Any, tmp_path: Path) -> None:
    source = _source(package)
    out = tmp_path / "out"
    report = publish(
        Settings(
            sources=(source,),
            target=str(out),
            manifest=tmp_path / "hashstore.json",
            static_url_path=ROOT_URL_PATH,
        )
    )
    files = report.build.files
    broken_before: set[tuple[str, str]] = set()
    broken_after: set[tuple[str, str]] = set()
    missing: set[tuple[str, str]] = set()
    rewritten = 0
    for name, built in files.items():
        finder = finder_for(name)
        if finder is None:
            continue
        before = finder(_text(source / name))
        after = finder(_text(out / built.key))
        assert [r.kind for r in after] == [r.kind for r in before], name
        for old, new in zip(before, after, strict=True):
            where = f"{name}:{old.line}: {old.url!r} -> {new.url!r}"
            target = resolve(old.url, name, ROOT_URL_PATH)
            if target is not None and (source / target).is_file():
                assert target in files, f"{where}: the file it names was not published"
                assert resolve(new.url, built.key, ROOT_URL_PATH) == files[target].key, where
                assert (out / files[target].key).is_file(), where
                assert split_suffix(new.url)[1] == split_suffix(old.url)[1], where
                rewritten += new.url != old.url
            else:
                assert new.url == old.url, f"{where}: rewritten although it names no file"
            if target is not None and not (source / target).is_file():
                broken_before.add((name, old.url))
                missing.add((name, target))
            landing = resolve(new.url, built.key, ROOT_URL_PATH)
            if landing is not None and not (out / landing).is_file():
                broken_after.add((name, new.url))
    assert broken_after == broken_before
    assert {(m.source, m.resolved) for m in report.build.missing} == missing
    assert rewritten > 0, "no reference was rewritten: the package has changed shape"


def _tarball(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for member in members:
            data = b"x" * member.size
            archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size if kind == tarfile.REGTYPE else 0
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    return info


def test_fetch_unpacks_only_the_package_folder(tmp_path: Path) -> None:
    tarball = _tarball(tmp_path / "ok.tgz", [_member("package/css/a.css", size=3)])
    thirdparty._safe_extract(tarball, tmp_path / "out")
    assert (tmp_path / "out" / "css" / "a.css").read_bytes() == b"xxx"


@pytest.mark.parametrize(
    "member",
    [
        _member("package/../../evil.txt"),
        _member("/package/evil.txt"),
        _member("elsewhere/evil.txt"),
        _member("package/link", tarfile.SYMTYPE),
    ],
    ids=["dot-dot", "absolute", "outside-package", "symlink"],
)
def test_fetch_refuses_unsafe_tarballs(member: tarfile.TarInfo, tmp_path: Path) -> None:
    tarball = _tarball(tmp_path / "bad.tgz", [member])
    with pytest.raises(thirdparty.FetchError, match=r"bad\.tgz"):
        thirdparty._safe_extract(tarball, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "link").exists()
