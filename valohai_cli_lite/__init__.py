"""vh-lite: a fast, safe command-line client for the Valohai REST API."""

__version__ = "0.1.0"


def version_line() -> str:
    """What `vh-lite --version` prints, on either of its paths (launcher.py, cli.py)."""
    return f"vh-lite {__version__}"
