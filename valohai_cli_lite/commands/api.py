"""vh-lite api: an authenticated request to any API path, like `gh api`."""

import json
import re
from typing import Annotated, Any, NamedTuple

import typer

from ..client import with_query
from ..client.errors import raise_for_status
from ..client.hosts import API_PREFIX
from ..context import AppContext
from ..errors import ApiError, UsageError
from ..text import sanitize, sanitize_block
from .options import DEFAULT_MAX_CONCURRENCY, MaxConcurrencyOption, ProfileOption, app_context

# What a terminal shows of a body at most; a pipe gets all of it, streamed.
SHOWN_ON_A_TERMINAL = 16 << 20
_JSON_SCALAR = re.compile(r"true|false|null|-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


class ApiOptions(NamedTuple):
    path: str
    method: str  # upper case, validated
    fields: dict[str, Any]  # the parameters: in the query string, or the JSON body
    paginate: bool = False
    include: bool = False
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    body: bytes | None = None  # --input: the body as it is
    headers: dict[str, str] = {}  # noqa: RUF012 (an options tuple, never changed)


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
            help="HTTP method (default: GET, or POST when fields or --input are given).",
        ),
    ] = None,
    raw_field: Annotated[
        list[str] | None,
        typer.Option(
            "--raw-field",
            "-f",
            metavar="KEY=VALUE",
            help="A string parameter: in the query string for GET/HEAD/DELETE, else in a JSON "
            "body. Repeatable.",
        ),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-F",
            metavar="KEY=VALUE",
            help="A typed parameter: numbers, true, false and null as JSON, @FILE (or @- for "
            "stdin) the file's text, else a string; key[sub]=v and key[]=v nest. Repeatable.",
        ),
    ] = None,
    input_file: Annotated[
        str | None,
        typer.Option(
            "--input",
            metavar="FILE",
            help="Send this file as the body, exactly (- for standard input); fields then go "
            "into the query string.",
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", "-H", metavar="'NAME: VALUE'", help="Add a request header."),
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
      vh-lite api executions/ -F project=ID -F parameters[epochs]=10 -F inputs[data][]=s3://x
      vh-lite api projects/ID/ -X PATCH --input changes.json
    """  # fmt: skip
    app = app_context(ctx, profile)
    fields = parse_fields(raw_field or [], field or [], app)
    body = _read_input(input_file, app) if input_file is not None else None
    # Like gh: GET, or POST once there is something to send; --paginate is always a GET.
    sends = bool(fields or body is not None) and not paginate
    verb = (method or ("POST" if sends else "GET")).upper()
    if not re.fullmatch(r"[A-Z]{1,20}", verb):
        raise UsageError(f"invalid HTTP method {method!r}")
    if paginate and verb != "GET":
        raise UsageError("--paginate works only with GET")
    if paginate and include:
        raise UsageError("--paginate and --include cannot be combined")
    headers: dict[str, str] = {}
    for line in header or []:
        name, sep, value = (part.strip() for part in line.partition(":"))
        if not sep or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
            raise UsageError(f"a header is 'NAME: VALUE', not {line!r}")
        if name.lower() == "authorization":
            raise UsageError("the token comes from your login: an Authorization header would "
                             "put a secret on the command line")  # fmt: skip
        headers[name] = value
    run_api(ApiOptions(path, verb, fields, paginate, include, max_concurrency, body, headers), app)


def parse_fields(raw: list[str], typed: list[str], app: AppContext) -> dict[str, Any]:
    """-f pairs as strings and -F pairs typed (gh's rules), nested by `key[sub]` and `key[]`."""
    fields: dict[str, Any] = {}
    for pair, is_typed in [(p, False) for p in raw] + [(p, True) for p in typed]:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"a field is KEY=VALUE, not {pair!r}")
        path = re.findall(r"\[([^\]]*)\]", key)
        name = key.split("[", 1)[0]
        if not name or "[".join([name, *(f"{p}]" for p in path)]) != key:
            raise UsageError(f"cannot read the field name {key!r} (KEY, KEY[SUB] or KEY[])")
        value: Any = text
        if is_typed and _JSON_SCALAR.fullmatch(text):
            value = json.loads(text)
        elif is_typed and text.startswith("@"):
            value = _read_input(text[1:], app).decode("utf-8")
        _place(fields, [name, *path], value, key)
    return fields


def _place(target: dict[str, Any], path: list[str], value: Any, key: str) -> None:
    """`value` at `path` in `target`: a key repeated at the top becomes a list (a query
    string's `status=a&status=b`), `[]` appends."""
    clash = UsageError(f"the field {key!r} clashes with another one")
    *parents, last = path
    node: Any = target
    for step, following in zip(parents, path[1:], strict=True):
        if not step:  # `a[][b]`: an appended item has no name to enter
            raise clash
        node = node.setdefault(step, [] if following == "" else {})
        if not isinstance(node, list if following == "" else dict):  # what the next step enters
            raise clash
    if last == "":
        node.append(value)
    elif last in node and not parents:
        previous = node[last]
        node[last] = [*previous, value] if isinstance(previous, list) else [previous, value]
    else:
        node[last] = value


def _read_input(source: str, app: AppContext) -> bytes:
    if source == "-":
        return app.io.read_bytes()
    try:
        with open(source, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from None


def resolve_api_url(host: str, path: str) -> str:
    """`projects/`, `api/v0/projects/` (either with a leading /) or a full URL on the same host."""
    if path.startswith(("https://", "http://")):
        return path  # the client refuses to send the token to any other origin
    if "://" in path:
        raise UsageError(f"unsupported URL {path!r}")
    path = "/" + path.lstrip("/")
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
            url = with_query(url, opts.fields) if opts.fields else url
            pages = client.iter_pages(url, max_concurrency=opts.max_concurrency)
            io.write_json([item for page in app.with_progress(pages, "item") for item in page])
            return
        in_query = opts.method in {"GET", "HEAD", "DELETE"} or opts.body is not None
        headers = dict(opts.headers)
        if opts.body is not None and "content-type" not in map(str.lower, headers):
            headers["Content-Type"] = "application/json"  # unless -H said, in any case
        response = client.send(
            opts.method, url, params=opts.fields if in_query and opts.fields else None,
            json_body=None if in_query or not opts.fields else opts.fields,
            content=opts.body, headers=headers, stream=True,
        )  # fmt: skip
        try:
            if opts.include:
                lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
                lines += [f"{name}: {value}" for name, value in response.headers.items()]
                io.write("\n".join(map(sanitize, lines) if io.is_stdout_tty else lines) + "\n\n")
            if not response.is_success:
                try:
                    raise_for_status(client.read_body(response))
                except ApiError as exc:
                    if exc.status == 404 and exc.hint is None:  # the path, not the host
                        exc.hint = "check the path: one below /api/v0/, such as projects/"
                    raise
            if io.is_stdout_tty:  # JSON indented, anything else made safe to show
                body = client.read_body(response).content[:SHOWN_ON_A_TERMINAL]
                text = body.decode("utf-8", "replace")
                try:
                    io.write_json(json.loads(text))
                except (ValueError, RecursionError):  # not JSON (or too deep): one newline
                    io.write_line(sanitize_block(text).removesuffix("\n"))
                return
            io.flush()
            for chunk in client.iter_body(response):  # a pipe: exactly the bytes, as they come
                io.write_bytes(chunk)
            io.flush()
        finally:
            response.close()
