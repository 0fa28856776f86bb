"""vh-lite api: an authenticated request to any API path, like `gh api`."""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

import typer

from .. import output
from ..client import with_query
from ..errors import UsageError
from ..hosts import API_PREFIX, api_url
from ..progress import pages_with_progress, progress_allowed
from .common import app_context
from .options import DEFAULT_MAX_CONCURRENCY, MaxConcurrencyOption

_QUERY_METHODS = {"GET", "HEAD", "DELETE"}


def _resolve_url(host: str, path: str) -> str:
    """`projects/`, `/projects/`, `/api/v0/projects/` or a full URL on the same host."""
    if path.startswith(("https://", "http://")):
        return path  # the client refuses to send the token to any other origin
    if "://" in path:
        raise UsageError(f"unsupported URL {path!r}")
    if path.startswith(API_PREFIX) or path.startswith(API_PREFIX.rstrip("/") + "?"):
        return host + path
    return api_url(host, path.lstrip("/"))


def _parse_fields(pairs: list[str]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--field expects key=value, got {pair!r}")
        fields.setdefault(key, []).append(value)
    return fields


def _write_body(text: str, body: Any, is_json: bool) -> None:
    if is_json and output.is_terminal(sys.stdout):
        output.write_json(body)
    elif output.is_terminal(sys.stdout):
        sys.stdout.write(output.sanitize_block(text) + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def api(
    ctx: typer.Context,
    path: Annotated[
        str,
        typer.Argument(
            metavar="PATH",
            help="API path below /api/v0/ (e.g. projects/ or users/me/), or a full URL on the "
            "logged-in host.",
        ),
    ],
    method: Annotated[
        str | None,
        typer.Option(
            "--method",
            "-X",
            show_default=False,
            help="HTTP method (default: GET, or POST when --field is given).",
        ),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-f",
            metavar="KEY=VALUE",
            show_default=False,
            help="A parameter: in the query string for GET/HEAD/DELETE, else in a JSON body. "
            "Repeatable.",
        ),
    ] = None,
    paginate: Annotated[
        bool,
        typer.Option(
            "--paginate",
            help="Follow every page of a list endpoint and print one JSON array of all results.",
        ),
    ] = False,
    include: Annotated[
        bool,
        typer.Option(
            "--include", "-i", help="Print the response status line and headers before the body."
        ),
    ] = False,
    max_concurrency: MaxConcurrencyOption = DEFAULT_MAX_CONCURRENCY,
) -> None:
    """Make an authenticated request to any Valohai API endpoint and print the response."""
    fields = _parse_fields(field or [])
    # Like gh: GET, or POST once fields are given; --paginate only makes sense as a GET.
    verb = (method or ("POST" if fields and not paginate else "GET")).upper()
    if not re.fullmatch(r"[A-Z]{1,20}", verb):
        raise UsageError(f"invalid HTTP method {method!r}")
    if paginate and verb != "GET":
        raise UsageError("--paginate works only with GET")
    if paginate and include:
        raise UsageError("--paginate and --include cannot be combined")
    app = app_context(ctx)
    creds = app.active_credentials()
    url = _resolve_url(creds.host, path)
    with app.client(creds) as client:
        if paginate:
            if fields:
                url = with_query(url, fields)
            pages = pages_with_progress(
                client.iter_pages(url, max_concurrency=max_concurrency),
                "item",
                enabled=progress_allowed(False),
            )
            output.write_json([item for page in pages for item in page])
            return
        query = fields if verb in _QUERY_METHODS else None
        body = {k: v[-1] if len(v) == 1 else v for k, v in fields.items()} if fields else None
        response = client.send(
            verb, url, params=query or None, json_body=None if query is not None else body
        )
        if include:
            sys.stdout.write(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\n")
            for name, value in response.headers.items():
                sys.stdout.write(f"{name}: {value}\n")
            sys.stdout.write("\n")
        client.raise_for_status(response)
        try:
            decoded, is_json = response.json(), True
        except ValueError:
            decoded, is_json = None, False
        _write_body(response.text, decoded, is_json)
