"""Settings named in messages, shown in the spelling of the interface the user is in.

The core does not know who called it, yet a message that asks for a setting should say it as
the user writes it: ``--checksum md5`` on the command line, ``OPTIONS["checksum"] = 'md5'`` in
Django, ``HASHSTORE_CHECKSUM = 'md5'`` in Flask, ``checksum='md5'`` for
:class:`~hashstore.settings.Settings` in Python. So a message names a setting with
:func:`option`, which embeds a reference to the ``Settings`` field (and the value to give), and
each adapter renders the message with its own :class:`Spelling`:
:meth:`HashstoreError.render <hashstore.errors.HashstoreError.render>`, or
:meth:`~hashstore.errors.HashstoreError.spelled` to make ``str(error)`` use it. Messages built
from messages (a :class:`~hashstore.errors.PublishError` grouping its failures) keep the
references, since they are plain text until shown.

.. versionadded:: 0.1
"""

from __future__ import annotations

import json
import re

__all__ = ["PYTHON", "Spelling", "option", "render"]

# Unit/record separators: control characters no setting name, value or message holds
# (json.dumps escapes them inside values).
_START, _VALUE, _END = "\x1f", "\x1e", "\x1f"
_REFERENCE = re.compile("\x1f([^\x1e\x1f]+)(?:\x1e([^\x1f]*))?\x1f")
_NO_VALUE = object()


def option(name: str, value: object = _NO_VALUE) -> str:
    """A reference to the setting ``name`` (set to ``value``, if given) for an error message.

    ``f"set {option('checksum', 'md5')}"`` reads ``set --checksum md5`` on the command line and
    ``set OPTIONS["checksum"] = 'md5'`` in Django.

    :param name: a :class:`~hashstore.settings.Settings` field (or an adapter's own option).
    :param value: the value the user should give; JSON-compatible.
    """
    if value is _NO_VALUE:
        return f"{_START}{name}{_END}"
    return f"{_START}{name}{_VALUE}{json.dumps(value)}{_END}"


class Spelling:
    """How one interface writes settings; this base class writes ``Settings`` fields.

    Adapters subclass it: the command line maps fields to flags, Django to ``OPTIONS[...]``
    keys, Flask to ``HASHSTORE_*`` keys.
    """

    def name(self, field: str) -> str:
        """The setting as the user writes it, e.g. ``--jobs`` or ``HASHSTORE_JOBS``."""
        return field

    def assign(self, field: str, value: object) -> str:
        """Giving the setting a value, e.g. ``--no-conditional-writes`` or ``OPTIONS["acl"] =
        'private'``."""
        return f"{field}={value!r}"

    def render(self, text: str) -> str:
        """``text`` with every :func:`option` reference written in this spelling."""

        def one(match: re.Match[str]) -> str:
            field, value = match.group(1), match.group(2)
            if value is None:
                return self.name(field)
            return self.assign(field, json.loads(value))

        return _REFERENCE.sub(one, text)


PYTHON = Spelling()
"""``Settings`` field names: the spelling of errors no adapter has rendered."""


def render(text: str, spelling: Spelling | None = None) -> str:
    """``text`` with its :func:`option` references written in ``spelling`` (default
    :data:`PYTHON`)."""
    return (spelling or PYTHON).render(text)
