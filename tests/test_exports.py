from __future__ import annotations

import subprocess
import sys

import hashstore


def test_all_lists_exactly_the_public_names() -> None:
    public = {n for n in vars(hashstore) if not n.startswith("_")} - {"annotations"}
    modules = {name for name, value in vars(hashstore).items() if type(value).__name__ == "module"}
    assert set(hashstore.__all__) == public - modules
    for name in hashstore.__all__:
        assert getattr(hashstore, name).__doc__, f"{name} has no docstring"


def test_the_core_imports_without_django_flask_or_boto3() -> None:
    code = (
        "import sys\n"
        "for name in ('django', 'flask', 'boto3', 'botocore'):\n"
        "    sys.modules[name] = None\n"
        "import hashstore, hashstore.cli, hashstore.publish, hashstore.targets.local\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
