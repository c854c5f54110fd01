"""fastnn's version, written once in ``pyproject.toml``."""

__all__ = ["__version__"]


def _version() -> str:
    """The installed distribution's version, else the source tree's ``pyproject.toml``'s.

    The version is written once, in ``pyproject.toml``. An installed fastnn (also an
    editable one) reads it from the installation's metadata; a source tree put on the
    path without installing reads the file itself (Python 3.11+, which has ``tomllib``).
    """
    import sys
    from importlib import metadata

    try:
        return metadata.version("fastnn")
    except metadata.PackageNotFoundError:
        pass
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if sys.version_info < (3, 11):  # no tomllib to read it with
        return "0+unknown"
    import tomllib

    try:
        with pyproject.open("rb") as stream:
            project = tomllib.load(stream)["project"]
        if project["name"] == "fastnn":
            return str(project["version"])
    except (OSError, KeyError, ValueError):
        pass
    return "0+unknown"


__version__ = _version()
