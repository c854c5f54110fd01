"""A Griffe extension: reStructuredText markup in fastnn's numpydoc docstrings, as Markdown.

fastnn's docstrings write code as ``code`` and cross-references as :func:`name` (the
numpydoc convention, read by ``help()`` and IDEs); the API pages are Markdown. This turns
both into inline code when the documentation site is built. It changes nothing else.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|obj|exc|ref):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def markdown(text: str) -> str:
    """``code`` and :role:`target` as Markdown inline code."""
    text = _ROLE.sub(lambda match: f"`{match.group(1)}`", text)
    return _LITERAL.sub(lambda match: f"`{match.group(1)}`", text)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring once it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
