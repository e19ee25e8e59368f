"""Tests of hashstore.scan: logical names, ignore rules, shadowing, links and bad names.

Each test builds a tiny tree named for its case in ``tmp_path``; symbolic links and names that
cannot be checked into git are made at test time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from hashstore.errors import ConfigError, SourceError
from hashstore.scan import ScanResult, Shadowed, SourceFile, scan

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names and links")


def make(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create ``root`` with the given files (logical name -> content)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root.joinpath(*name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    return root


def names(result: ScanResult) -> list[str]:
    return list(result.files)


# -- names, order, sizes ------------------------------------------------------------------------


def test_nested_dirs_give_slash_names_in_sorted_order(tmp_path: Path) -> None:
    root = tmp_path / "nested"
    # Created in reverse order so the listing order is unlikely to be sorted by chance.
    make(root, {"z.txt": "", "img/icons/b.svg": "", "img/icons/a.svg": "", "css/app.css": ""})

    result = scan([root])

    assert names(result) == ["css/app.css", "img/icons/a.svg", "img/icons/b.svg", "z.txt"]
    assert result.shadowed == ()


def test_file_records_path_root_and_size(tmp_path: Path) -> None:
    root = make(
        tmp_path / "sizes", {"css/app.css": "body{}\n", "empty.txt": "", "bin": b"\0" * 5000}
    )

    files = scan([root]).files

    assert files["css/app.css"] == SourceFile(
        name="css/app.css", path=root / "css" / "app.css", root=root, size=7
    )
    assert files["empty.txt"].size == 0
    assert files["bin"].size == 5000
    assert all(f.path.is_absolute() and f.root.is_absolute() for f in files.values())


def test_relative_and_str_roots_become_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path / "relative", {"a.js": "1"})
    monkeypatch.chdir(tmp_path)

    file = scan(["relative"]).files["a.js"]

    assert file.root == tmp_path / "relative"
    assert file.path == tmp_path / "relative" / "a.js"


def test_result_files_are_read_only(tmp_path: Path) -> None:
    files = scan([make(tmp_path / "readonly", {"a": ""})]).files
    with pytest.raises(TypeError):
        files["b"] = files["a"]  # type: ignore[index]


def test_empty_root_gives_no_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = scan([tmp_path / "empty"])
    assert dict(result.files) == {}
    assert result.shadowed == ()


def test_no_roots_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at least one directory"):
        scan([])


# -- several roots --------------------------------------------------------------------------


def test_first_root_wins_and_the_loser_is_shadowed(tmp_path: Path) -> None:
    first = make(tmp_path / "first", {"css/app.css": "first", "only-first.js": ""})
    second = make(tmp_path / "second", {"css/app.css": "second!", "only-second.js": ""})

    result = scan([first, second])

    assert names(result) == ["css/app.css", "only-first.js", "only-second.js"]
    assert result.files["css/app.css"].path == first / "css" / "app.css"
    assert result.files["css/app.css"].size == len("first")
    assert result.files["only-second.js"].root == second
    assert result.shadowed == (
        Shadowed("css/app.css", kept=first / "css" / "app.css", ignored=second / "css" / "app.css"),
    )


def test_shadowed_sorted_by_name_then_root_order(tmp_path: Path) -> None:
    one = make(tmp_path / "one", {"b": "", "a": ""})
    two = make(tmp_path / "two", {"b": "", "a": ""})
    three = make(tmp_path / "three", {"a": ""})

    shadowed = scan([one, two, three]).shadowed

    assert [(s.name, s.kept, s.ignored) for s in shadowed] == [
        ("a", one / "a", two / "a"),
        ("a", one / "a", three / "a"),
        ("b", one / "b", two / "b"),
    ]


def test_same_root_twice_shadows_nothing(tmp_path: Path) -> None:
    root = make(tmp_path / "twice", {"a": ""})
    result = scan([root, str(root)])
    assert names(result) == ["a"]
    assert result.shadowed == ()


# -- ignore rules ---------------------------------------------------------------------------


def test_default_ignore_leaves_out_hidden_cvs_and_backups(tmp_path: Path) -> None:
    root = make(
        tmp_path / "defaults",
        {
            ".hidden": "",
            ".git/config": "",
            "CVS/Entries": "",
            "css/CVS/Root": "",
            "x~": "",
            "css/app.css~": "",
            "css/app.css": "",
            "cvs.txt": "",
        },
    )

    assert names(scan([root])) == ["css/app.css", "cvs.txt"]


def test_custom_ignore_replaces_the_defaults(tmp_path: Path) -> None:
    root = make(
        tmp_path / "custom",
        {"app.scss": "", "app.css": "", "node_modules/x/y.js": "", ".hidden": "", "x~": ""},
    )

    result = scan([root], ignore=["*.scss", "node_modules"])

    assert names(result) == [".hidden", "app.css", "x~"]


def test_ignore_nothing_keeps_everything(tmp_path: Path) -> None:
    root = make(tmp_path / "nothing", {".hidden": "", "CVS/x": ""})
    assert names(scan([root], ignore=())) == [".hidden", "CVS/x"]


def test_ignore_is_case_sensitive(tmp_path: Path) -> None:
    root = make(tmp_path / "case", {"a.MAP": "", "a.map": ""})
    assert names(scan([root], ignore=["*.map"])) == ["a.MAP"]


def test_pattern_with_slash_matches_the_whole_logical_name(tmp_path: Path) -> None:
    root = make(
        tmp_path / "slash",
        {
            "admin/js/app.js.map": "",
            "admin/js/app.js": "",
            "site/app.js.map": "",
            "robots.txt": "",
            "docs/robots.txt": "",
            "vendor/tests/test.js": "",
            "vendor/lib/tests.js": "",
        },
    )

    result = scan([root], ignore=["admin/*.map", "/robots.txt", "vendor/tests"])

    assert names(result) == [
        "admin/js/app.js",
        "docs/robots.txt",
        "site/app.js.map",
        "vendor/lib/tests.js",
    ]


def test_pattern_with_slash_sees_the_prefix(tmp_path: Path) -> None:
    root = make(tmp_path / "prefixed-ignore", {"a.js": "", "b.js": ""})
    result = scan([("vendor", root)], ignore=["vendor/a.js"])
    assert names(result) == ["vendor/b.js"]


@posix_only
def test_ignored_bad_names_are_not_errors(tmp_path: Path) -> None:
    root = make(tmp_path / "ignored-bad", {"ok.css": "", "back\\slash.css~": "", ".ctl\x01": ""})
    assert names(scan([root])) == ["ok.css"]


def test_ignore_as_one_string_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ignore"):
        scan([tmp_path], ignore="*.map")


# -- prefix roots ---------------------------------------------------------------------------


def test_prefix_root_puts_files_under_the_prefix(tmp_path: Path) -> None:
    vendor = make(tmp_path / "vendor-dir", {"jquery.js": "j", "css/lib.css": "c"})
    site = make(tmp_path / "site", {"app.js": ""})

    result = scan([site, ("vendor/lib", vendor), ("", site)])

    assert names(result) == ["app.js", "vendor/lib/css/lib.css", "vendor/lib/jquery.js"]
    assert result.files["vendor/lib/jquery.js"].path == vendor / "jquery.js"
    assert result.files["vendor/lib/jquery.js"].root == vendor
    assert result.shadowed == ()


def test_prefix_root_can_be_shadowed_by_a_plain_root(tmp_path: Path) -> None:
    plain = make(tmp_path / "plain", {"vendor/x.js": "plain"})
    prefixed = make(tmp_path / "prefixed", {"x.js": "prefixed"})

    result = scan([plain, ("vendor", str(prefixed))])

    assert result.files["vendor/x.js"].path == plain / "vendor" / "x.js"
    assert result.shadowed == (
        Shadowed("vendor/x.js", kept=plain / "vendor" / "x.js", ignored=prefixed / "x.js"),
    )


@pytest.mark.parametrize(
    "prefix", ["/vendor", "vendor/", "a//b", "..", "a/../b", ".", "a/./b", "back\\slash", "nl\n"]
)
def test_invalid_prefix_is_a_config_error(tmp_path: Path, prefix: str) -> None:
    with pytest.raises(ConfigError, match="prefix") as info:
        scan([(prefix, tmp_path)])
    assert repr(prefix) in str(info.value)


@pytest.mark.parametrize("spec", [("a", "b", "c"), (1, "dir"), 42, b"bytes"])
def test_invalid_root_entry_is_a_config_error(spec: object) -> None:
    with pytest.raises(ConfigError, match="sources entry"):
        scan([spec])  # type: ignore[list-item]


# -- symbolic links -------------------------------------------------------------------------


@posix_only
def test_link_to_file_inside_root_is_followed(tmp_path: Path) -> None:
    root = make(tmp_path / "link-file-inside", {"real/app.css": "body{}"})
    (root / "alias.css").symlink_to(Path("real") / "app.css")

    file = scan([root]).files["alias.css"]

    assert file.path == root / "alias.css"  # through the link, not resolved
    assert file.size == len("body{}")
    assert "real/app.css" in scan([root]).files


@posix_only
def test_link_to_dir_inside_root_is_followed(tmp_path: Path) -> None:
    root = make(tmp_path / "link-dir-inside", {"build/v1/app.js": "12345", "build/v1/sub/x.js": ""})
    (root / "latest").symlink_to(Path("build") / "v1", target_is_directory=True)
    # A second link to the same directory is no loop: both names are published.
    (root / "stable").symlink_to(root / "build" / "v1", target_is_directory=True)

    result = scan([root])

    assert names(result) == [
        "build/v1/app.js",
        "build/v1/sub/x.js",
        "latest/app.js",
        "latest/sub/x.js",
        "stable/app.js",
        "stable/sub/x.js",
    ]
    assert result.files["latest/sub/x.js"].path == root / "latest" / "sub" / "x.js"
    assert result.files["latest/app.js"].size == 5


@posix_only
def test_root_that_is_a_link_keeps_links_inside_it(tmp_path: Path) -> None:
    real = make(tmp_path / "real-root", {"a.css": "a"})
    (real / "b.css").symlink_to(real / "a.css")
    (tmp_path / "linked-root").symlink_to(real, target_is_directory=True)

    result = scan([tmp_path / "linked-root"])

    assert names(result) == ["a.css", "b.css"]
    assert result.files["b.css"].path == tmp_path / "linked-root" / "b.css"


@posix_only
def test_link_to_file_outside_root_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path / "link-file-escape", {"ok.css": ""})
    secret = make(tmp_path / "secret", {"passwd": "x"}) / "passwd"
    (root / "css").mkdir()
    (root / "css" / "evil.css").symlink_to(secret)

    with pytest.raises(SourceError) as info:
        scan([root])

    message = str(info.value)
    assert info.value.path == str(root / "css" / "evil.css")
    assert str(root / "css" / "evil.css") in message
    assert str(secret) in message
    assert "copy the file into the root or add its directory as another source root" in message


@posix_only
def test_relative_link_to_dir_outside_root_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path / "link-dir-escape", {})
    make(tmp_path / "elsewhere", {"x.js": ""})
    (root / "ext").symlink_to(Path("..") / "elsewhere", target_is_directory=True)

    with pytest.raises(SourceError, match="outside the source root") as info:
        scan([root])

    assert info.value.path == str(root / "ext")
    assert "../elsewhere" in str(info.value)
    assert "prefix 'ext'" in str(info.value)


@posix_only
@pytest.mark.parametrize("target", [".", "..", "../.."])
def test_link_back_to_an_ancestor_is_a_loop(tmp_path: Path, target: str) -> None:
    root = make(tmp_path / "loop", {"a/b/x.css": ""})
    (root / "a" / "b" / "up").symlink_to(target, target_is_directory=True)

    with pytest.raises(SourceError, match="loop") as info:
        scan([root])

    assert info.value.path == str(root / "a" / "b" / "up")


@posix_only
def test_loop_is_found_at_its_link_when_the_root_is_a_link(tmp_path: Path) -> None:
    real = make(tmp_path / "loop-real-root", {"a/b/x.css": ""})
    (real / "a" / "b" / "up").symlink_to("..", target_is_directory=True)
    (tmp_path / "loop-linked-root").symlink_to(real, target_is_directory=True)
    root = tmp_path / "loop-linked-root"

    with pytest.raises(SourceError, match="loop") as info:
        scan([root])

    # Named at the first link, not one lap later.
    assert info.value.path == str(root / "a" / "b" / "up")
    assert "more problem" not in str(info.value)


@posix_only
def test_loop_through_two_links_is_detected(tmp_path: Path) -> None:
    root = make(tmp_path / "loop-two-links", {"a/x.css": "", "b/y.css": ""})
    (root / "a" / "to-b").symlink_to(Path("..") / "b", target_is_directory=True)
    (root / "b" / "to-a").symlink_to(Path("..") / "a", target_is_directory=True)

    with pytest.raises(SourceError, match="loop") as info:
        scan([root])

    # Both directions are loops: a/to-b/to-a and b/to-a/to-b.
    assert info.value.path == str(root / "a" / "to-b" / "to-a")
    assert str(root / "b" / "to-a" / "to-b") in str(info.value)


@posix_only
def test_links_pointing_at_each_other_are_an_error(tmp_path: Path) -> None:
    root = make(tmp_path / "link-cycle", {})
    (root / "a").symlink_to("b")
    (root / "b").symlink_to("a")

    with pytest.raises(SourceError, match="cannot be followed") as info:
        scan([root])

    assert info.value.path == str(root / "a")


@posix_only
def test_broken_link_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path / "broken-link", {"ok.css": ""})
    (root / "gone.css").symlink_to("missing.css")

    with pytest.raises(SourceError, match="broken symbolic link") as info:
        scan([root])

    assert info.value.path == str(root / "gone.css")
    assert "missing.css" in str(info.value)


# -- names that cannot be URLs --------------------------------------------------------------


@posix_only
@pytest.mark.parametrize(
    ("name", "shown", "expected"),
    [
        ("back\\slash.css", "back\\slash.css", "backslash"),
        ("new\nline.css", "new\\x0aline.css", "U+000A"),
        ("esc\x1b.css", "esc\\x1b.css", "U+001B"),
        ("del\x7f.css", "del\\x7f.css", "U+007F"),
        ("c1\x85.css", "c1\\x85.css", "U+0085"),
    ],
)
def test_bad_file_name_is_an_error_naming_it(
    tmp_path: Path, name: str, shown: str, expected: str
) -> None:
    root = make(tmp_path / "bad-name", {"css/ok.css": ""})
    # Made with the OS call so no layer in between rejects or translates the name.
    fd = os.open(os.path.join(root, "css", name), os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)

    with pytest.raises(SourceError, match=re.escape(expected)) as info:
        scan([root])

    # Named with control characters escaped, never written raw to a terminal.
    assert info.value.path == os.path.join(root, "css", shown)
    assert str(info.value).startswith(f"{info.value.path}: ")
    assert "rename it" in str(info.value)


@posix_only
def test_bad_directory_name_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path / "bad-dir", {})
    os.mkdir(os.path.join(root, "tab\tdir"))

    with pytest.raises(SourceError, match="U\\+0009") as info:
        scan([root])

    assert info.value.path == str(root / "tab\\x09dir")


@posix_only
def test_errors_name_files_as_the_root_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path / "as-written", {"css/sub/ok.css": ""})
    (tmp_path / "as-written" / "css" / "sub" / "back\\slash.css").write_bytes(b"")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SourceError, match="backslash") as info:
        scan(["as-written"])

    assert info.value.path == os.path.join("as-written", "css", "sub", "back\\slash.css")


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that takes any bytes")
def test_name_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path / "not-utf8", {})
    fd = os.open(os.path.join(os.fsencode(root), b"caf\xe9.css"), os.O_CREAT | os.O_WRONLY)
    os.close(fd)

    with pytest.raises(SourceError, match="not valid UTF-8") as info:
        scan([root])

    assert info.value.path == str(root / "caf\\udce9.css")


@posix_only
def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    root = make(tmp_path / "many-problems", {"a\\1.css": "", "b\\2.css": "", "c\\3.css": ""})

    with pytest.raises(SourceError) as info:
        scan([root])

    message = str(info.value)
    assert info.value.path == str(root / "a\\1.css")
    assert "2 more problem(s)" in message
    assert "b\\2.css" in message
    assert "c\\3.css" in message


# -- roots that cannot be scanned -----------------------------------------------------------


def test_missing_root_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing-root"

    with pytest.raises(SourceError, match="does not exist") as info:
        scan([missing])

    assert info.value.path == str(missing)
    assert "remove it from the sources" in str(info.value)


def test_root_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    file = make(tmp_path / "file-root", {"a.css": ""}) / "a.css"

    with pytest.raises(SourceError, match="not a directory") as info:
        scan([file])

    assert info.value.path == str(file)


@posix_only
def test_pipe_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path / "fifo", {})
    os.mkfifo(root / "pipe")

    with pytest.raises(SourceError, match="not a regular file") as info:
        scan([root])

    assert info.value.path == str(root / "pipe")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any directory"
)
def test_unreadable_directory_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path / "unreadable", {"locked/a.css": ""})
    (root / "locked").chmod(0)
    try:
        with pytest.raises(SourceError, match="permission denied") as info:
            scan([root])
    finally:
        (root / "locked").chmod(0o755)

    assert info.value.path == str(root / "locked")


# -- speed ----------------------------------------------------------------------------------


def test_each_directory_is_listed_once_and_no_file_is_stat_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk touches the filesystem once per entry (counted, not timed)."""
    root = tmp_path / "many"
    for d in range(20):
        sub = root / f"dir{d:02}" / "sub"
        sub.mkdir(parents=True)
        for f in range(50):
            (sub / f"file{f:03}.css").write_bytes(b"x")
    calls = {"scandir": 0, "stat": 0}
    real_scandir, real_stat = os.scandir, os.stat

    def counting_scandir(path: object) -> object:
        calls["scandir"] += 1
        return real_scandir(path)  # type: ignore[arg-type]

    def counting_stat(path: object, *args: object, **kwargs: object) -> object:
        calls["stat"] += 1
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", counting_scandir)
    monkeypatch.setattr(os, "stat", counting_stat)
    result = scan([root])

    assert len(result.files) == 1000
    assert all(f.size == 1 for f in result.files.values())
    assert calls["scandir"] == 1 + 20 * 2  # the root, each dirNN and each sub
    assert calls["stat"] <= 2  # the root itself, never once per file
