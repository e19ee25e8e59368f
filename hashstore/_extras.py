"""The distribution's name and the error for an adapter whose framework is not installed.

``import hashstore.django`` without Django would otherwise fail with a bare
``No module named 'django'`` that does not say which extra brings it.
"""

from __future__ import annotations

DISTRIBUTION = "hashstore-static"
"""The name on the package index (``hashstore`` there is an unrelated project)."""


def missing_framework(module: str, framework: str, exc: ImportError) -> ImportError:
    """The ImportError to raise (``from exc``) when ``module`` cannot import its framework.

    :param module: the adapter, e.g. ``hashstore.django``.
    :param framework: the framework's name, e.g. ``Django``; its lower-case form is the extra.
    :param exc: the original error, which names the module that is missing.
    """
    return ImportError(
        f"{module} needs {framework}, which is not installed ({exc}): "
        f'pip install "{DISTRIBUTION}[{framework.lower()}]"',
        name=exc.name,
    )
