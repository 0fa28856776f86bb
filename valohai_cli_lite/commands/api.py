"""vh-lite api: an authenticated request to any API path, like `gh api`."""

import re
from typing import Annotated, NamedTuple

import typer

from ..client import with_query
from ..client.errors import raise_for_status
from ..client.hosts import API_PREFIX
from ..context import AppContext
from ..errors import UsageError
from ..text import sanitize_block
from .options import DEFAULT_MAX_CONCURRENCY, MaxConcurrencyOption, ProfileOption, app_context

_QUERY_METHODS = {"GET", "HEAD", "DELETE"}


class ApiOptions(NamedTuple):
    path: str
    method: str  # upper case, validated
    fields: dict[str, list[str]]
    paginate: bool = False
    include: bool = False
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY


def api_command(
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
            metavar="METHOD",
            help="HTTP method (default: GET, or POST when --field is given).",
        ),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-f",
            metavar="KEY=VALUE",
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
    profile: ProfileOption = None,
) -> None:
    """Make an authenticated request to any Valohai API endpoint and print the response.

    Examples:
      vh-lite api users/me
      vh-lite api projects/ --paginate | jq length
      vh-lite api projects/ -X GET -f limit=5 --include
    """  # fmt: skip
    fields = parse_field_pairs(field or [])
    # Like gh: GET, or POST once fields are given; --paginate only makes sense as a GET.
    verb = (method or ("POST" if fields and not paginate else "GET")).upper()
    if not re.fullmatch(r"[A-Z]{1,20}", verb):
        raise UsageError(f"invalid HTTP method {method!r}")
    if paginate and verb != "GET":
        raise UsageError("--paginate works only with GET")
    if paginate and include:
        raise UsageError("--paginate and --include cannot be combined")
    opts = ApiOptions(path, verb, fields, paginate, include, max_concurrency)
    run_api(opts, app_context(ctx, profile))


def parse_field_pairs(pairs: list[str]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--field expects key=value, got {pair!r}")
        fields.setdefault(key, []).append(value)
    return fields


def resolve_api_url(host: str, path: str) -> str:
    """`projects/`, `/projects/`, `/api/v0/projects/` or a full URL on the same host."""
    if path.startswith(("https://", "http://")):
        return path  # the client refuses to send the token to any other origin
    if "://" in path:
        raise UsageError(f"unsupported URL {path!r}")
    if not path.startswith((API_PREFIX, API_PREFIX.rstrip("/") + "?")):
        path = API_PREFIX + path.lstrip("/")
    # The API's paths end in a slash (DRF); `users/me` means `users/me/`.
    route, question, query = path.partition("?")
    return host + route.removesuffix("/") + "/" + question + query


def run_api(opts: ApiOptions, app: AppContext) -> None:
    io = app.io
    with app.api_client() as (client, creds):
        url = resolve_api_url(creds.host, opts.path)
        if opts.paginate:
            if opts.fields:
                url = with_query(url, opts.fields)
            pages = client.iter_pages(url, max_concurrency=opts.max_concurrency)
            io.write_json([item for page in app.with_progress(pages, "item") for item in page])
            return
        if opts.method in _QUERY_METHODS:
            response = client.send(opts.method, url, params=opts.fields or None)
        else:  # a key given once is a value, given more often a list
            body = {k: v[0] if len(v) == 1 else v for k, v in opts.fields.items()}
            response = client.send(opts.method, url, json_body=body or None)
        if opts.include:
            headers = "".join(f"{name}: {value}\n" for name, value in response.headers.items())
            io.write(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\n{headers}\n")
        raise_for_status(response)
        text = response.text
        if not io.is_stdout_tty:  # a pipe gets the body exactly as it came, in UTF-8
            io.use_utf8()
            io.write(text if text.endswith("\n") or not text else text + "\n")
            io.flush()
            return
        try:
            io.write_json(response.json())
        except ValueError:  # not JSON: shown, made safe for the terminal
            io.write_line(sanitize_block(text))
