"""vh-lite: a fast, safe command-line client for the Valohai REST API."""

__version__ = "0.1.0"
