"""The documentation: every public name documented, every page of docs/ on the site's menu.

`mkdocs build --strict` (CI runs it) fails on a broken link or a page missing from the
menu; these checks need no docs toolchain and fail earlier, in the test run.
"""

import inspect
import re
from pathlib import Path

import pytest

import fastnn

ROOT = Path(__file__).resolve().parent.parent


def _public_members(obj):
    for name, member in inspect.getmembers(obj):
        if name.startswith("_"):
            continue
        if inspect.isfunction(member) or isinstance(member, property):
            yield name, member


@pytest.mark.parametrize("name", fastnn.__all__)
def test_every_public_name_and_its_methods_have_docstrings(name):
    obj = getattr(fastnn, name)
    assert inspect.getdoc(obj), f"fastnn.{name} has no docstring"
    if inspect.isclass(obj):
        for member_name, member in _public_members(obj):
            owner = next((klass for klass in obj.__mro__ if member_name in vars(klass)), obj)
            if owner.__module__.split(".")[0] != "fastnn":
                continue  # inherited from Python or scikit-learn
            assert inspect.getdoc(member), f"fastnn.{name}.{member_name} has no docstring"
    elif inspect.ismodule(obj):
        for member_name in getattr(obj, "__all__", []):
            member = getattr(obj, member_name)
            if callable(member):
                assert inspect.getdoc(member), f"fastnn.{name}.{member_name} has no docstring"


def test_every_page_of_docs_is_on_the_sites_menu():
    menu = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r":\s*(\S+\.md)\s*$", menu, flags=re.M))
    pages = {
        str(path.relative_to(ROOT / "docs"))
        for path in (ROOT / "docs").rglob("*.md")
        if "hooks" not in path.parts
    }
    assert pages == listed, (pages - listed, listed - pages)


def test_every_relative_link_of_the_docs_and_readme_leads_somewhere():
    broken = []
    for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
