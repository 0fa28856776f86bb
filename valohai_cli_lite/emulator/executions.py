"""The emulator's executions and the environments they run in, in the shapes Valohai serves.

Executions are computed from (project index, counter) as projects are from their index:
nothing is stored, and every run serves the same data. Their statuses, creators and times come
from data.py, which the projects' counters are made from too. There are two real shapes
(docs/emulator.md, "Executions"): the older one of valohai-cli's fixtures, and the one
Valohai served in 2025.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, NamedTuple

from valohai_cli_lite.emulator.config import ExecutionShape
from valohai_cli_lite.emulator.data import (
    ORG_OWNER,
    UNFINISHED_STATUSES,
    execution_creator,
    execution_ctime,
    execution_status,
    execution_total,
    iso_time,
    make_project,
    project_as_served,
    project_environment_variables,
    store_or_environment_id,
)

# --- environments --------------------------------------------------------------------------

# What sets the environments apart; make_environment() adds what they share. Prices are
# decimal strings with five places, as the API sends them.
_ENVIRONMENTS: tuple[dict[str, Any], ...] = (
    {"name": "CPU small (2 vCPU, 4 GB)", "slug": "aws-eu-west-1-c5-large",
     "price": "0.09600", "scale_max": 20, "queued": 3},
    {"name": "CPU large (16 vCPU, 32 GB)", "slug": "aws-eu-west-1-c5-4xlarge",
     "description": "For preprocessing whole datasets in memory.", "price": "0.77600",
     "scale_max": 10},
    {"name": "GPU T4 (4 vCPU, 16 GB)", "slug": "aws-eu-west-1-g4dn-xlarge",
     "gpu_spec": "1x NVIDIA T4", "price": "0.58700", "scale_max": 8, "queued": 5,
     "supports_priority": True},
    {"name": "GPU V100 (8 vCPU, 61 GB)", "slug": "aws-eu-west-1-p3-2xlarge",
     "gpu_spec": "1x NVIDIA V100", "price": "3.06000", "scale_max": 4, "queued": 12,
     "quota": 2, "smart": True},
    {"name": "GPU 8x A100 (spot)", "slug": "gcp-europe-west4-a2-highgpu-8g-spot",
     "description": "Spot instances: cheap, but may be taken back mid-run.",
     "gpu_spec": "8x NVIDIA A100 40GB", "price": "9.84700", "scale_max": 2, "spot": 14.5},
    {"name": "On-premises DGX", "slug": "onprem-dgx-01",
     # Text that output code must survive: quotes, a comma, a newline, a tab, non-ASCII and
     # an ESC sequence.
     "description": 'Salle « B2 » — 予約制, ask "ops" first\n\tshared: \x1b[1mno spot\x1b[0m',
     "gpu_spec": "4x NVIDIA A100 80GB", "price": "0.00000", "scalable": False,
     "bill_usage": False},
    {"name": "CPU legacy (retired)", "slug": "aws-eu-west-1-m4-large",
     "description": "Retired; kept so that old executions still name it.", "price": "0.10000",
     "enabled": False},
    {"name": "acme-org private L4", "slug": "acme-org-l4", "owner": ORG_OWNER,
     "gpu_spec": "1x NVIDIA L4", "price": "0.80500", "quota": 1, "personal": False},
)  # fmt: skip
ENVIRONMENT_COUNT = len(_ENVIRONMENTS)
_ENVIRONMENTS_CREATED = datetime(2023, 3, 1, 9, 30, 0, 482113, tzinfo=timezone.utc)


@functools.cache  # a uuid5 per execution would cost as much as the rest of its environment
def environment_id(number: int) -> str:
    return store_or_environment_id("environment", number)


def find_environment(raw_id: str) -> int | None:
    """The number of the environment with id `raw_id`, or None when there is none."""
    return next((n for n in range(ENVIRONMENT_COUNT) if environment_id(n) == raw_id), None)


def make_environment(
    number: int, base_url: str, *, unfinished_job_count: bool = False
) -> dict[str, Any]:
    """Environment `number` in the shape valohai-cli's 2025 fixture has (26 keys), its `url`
    without a trailing slash as there; with `unfinished_job_count` that count as a 27th key,
    as the official client asks for with `include=unfinished_job_count`."""
    spec = _ENVIRONMENTS[number]
    ident = environment_id(number)
    created = _ENVIRONMENTS_CREATED + timedelta(days=41 * number, seconds=number * 977)
    environment = {
        "allow_personal_usage": spec.get("personal", True),
        "bill_usage": spec.get("bill_usage", True),
        "ctime": iso_time(created),
        "description": spec.get("description", ""),
        "enable_smart_vm_selection": spec.get("smart", False),
        "enabled": spec.get("enabled", True),
        "gpu_spec": spec.get("gpu_spec", ""),
        "has_gpu": bool(spec.get("gpu_spec")),
        "id": ident,
        "is_scalable": spec.get("scalable", True),
        "mtime": iso_time(created + timedelta(days=number % 3, minutes=17)),
        "name": spec["name"],
        "owner": dict(spec["owner"]) if "owner" in spec else None,
        "per_hour_price_usd": spec["price"],
        "per_user_queue_quota": spec.get("quota", 0),  # 0: unlimited
        "per_user_resource_quotas": None,
        "provider": None,
        "scale_down_grace_period": 15,
        "scale_max": spec.get("scale_max", 1),
        "scale_min": 0,
        "slug": spec["slug"],
        "spot": "spot" in spec,
        "spot_max_price": float(spec.get("spot", 0.0)),
        "supports_priority": spec.get("supports_priority", False),
        "type": "vm",
        "url": f"{base_url}/api/v0/environments/{ident}",
    }
    if unfinished_job_count:
        environment["unfinished_job_count"] = spec.get("queued", 0)
    return environment


# --- executions ----------------------------------------------------------------------------

# An execution id holds its project's index and its counter in the low bits (the UUID's
# variant bits sit above them), so finding one by id is a decode and a comparison.
_COUNTER_BITS = 32
_COUNTER_MASK = (1 << _COUNTER_BITS) - 1
_PROJECT_MASK = (1 << 30) - 1

_STEPS = ("train-model", "preprocess", "evaluate", "train-model", "batch-inference")
# Step names are whatever valohai.yaml says: some are long, some not ASCII, some carry
# terminal control sequences that must never reach a terminal raw.
_AWKWARD_STEPS = {
    13: "train-model-on-the-full-dataset-with-augmentation-early-stopping-and-"
    + "a-name-nobody-will-ever-read-to-the-end-" * 3
    + "v2",
    42: "évaluer le modèle — 評価 ✓",
    71: "export \x1b[31mred via ESC\x1b[0m and a bell \x07",
}
_LEARNING_RATES = (0.001, 0.0003, 0.01, 1e-05)
_DROPOUTS = (0.1, 0.25, 0.5)
_TITLES = ("", "", "", "baseline", "more epochs", "", "retrain after the data fix")
_OUTPUT_NAMES = ("model.pkl", "metrics.json", "plots/loss curve.png", "predictions.csv")
_GPU_IMAGE = "tensorflow/tensorflow:2.16.1-gpu"


def execution_id(index: int, counter: int) -> str:
    """The id of execution `counter` of project `index`: shaped like a UUIDv7 (time-ordered)
    from its ctime, with the index and counter in the low bits."""
    millis = int(execution_ctime(index, counter).timestamp() * 1000) & ((1 << 48) - 1)
    noise = (index * 2654435761 ^ counter * 40503) & 0xFFF
    value = (
        (millis << 80)
        | (0x7 << 76)
        | (noise << 64)
        | (0b10 << 62)
        | ((index & _PROJECT_MASK) << _COUNTER_BITS)
        | (counter & _COUNTER_MASK)
    )
    return str(uuid.UUID(int=value))


def find_execution(
    raw_id: str, project_count: int, executions: int | None
) -> tuple[int, int] | None:
    """(project index, counter) of the execution with id `raw_id`, or None when none exists."""
    try:
        parsed = uuid.UUID(raw_id)
    except ValueError:
        return None
    index = (parsed.int >> _COUNTER_BITS) & _PROJECT_MASK
    counter = parsed.int & _COUNTER_MASK
    if index >= project_count or not 1 <= counter <= execution_total(index, executions):
        return None
    return (index, counter) if execution_id(index, counter) == str(parsed) else None


def served_shape(shape: ExecutionShape, counter: int) -> Literal["older", "2025"]:
    """The shape execution `counter` is served in: "mixed" alternates, older ones odd."""
    if shape == "mixed":
        return "2025" if counter % 2 == 0 else "older"
    return shape


def _step(counter: int) -> str:
    return _AWKWARD_STEPS.get(counter % 97) or _STEPS[counter % len(_STEPS)]


def _environment_number(index: int, counter: int, step: str) -> int:
    if step == "train-model":
        # The organization's projects train on its private environment.
        return 7 if index % 5 == 4 else 2 + (counter // 2 + index) % 2
    return {"preprocess": 1, "evaluate": 0, "batch-inference": 4}.get(step, 5)


def _parameters(counter: int, step: str) -> dict[str, Any]:
    if step == "train-model":
        return {
            "learning_rate": _LEARNING_RATES[counter % len(_LEARNING_RATES)],
            "epochs": 5 + counter % 16,
            "dropout": _DROPOUTS[counter % len(_DROPOUTS)],
        }
    if step == "preprocess":
        return {"image_size": 224, "augment": counter % 2 == 0}
    if step == "evaluate":
        return {"threshold": 0.5}
    if step == "batch-inference":
        return {"batch_size": 64}
    return {}


def _commit_identifier(index: int, counter: int) -> str:
    # A git sha1's length; four executions in a row share a commit.
    seed = f"emulator-commit:{index}:{counter // 4}".encode()
    return hashlib.blake2b(seed, digest_size=20).hexdigest()


@functools.lru_cache(maxsize=1024)
def _listed_project(index: int, base_url: str, executions: int | None) -> dict[str, Any]:
    # Thousands of executions nest the same project; the shapes copy what they take.
    return make_project(index, base_url, executions=executions)


class _Execution(NamedTuple):
    """What both shapes of one execution say, each in its own way."""

    project_index: int
    counter: int
    id: str
    status: str
    step: str
    ctime: datetime
    started: datetime  # after waiting in the queue
    end_time: datetime | None  # None while unfinished
    duration: int | None
    environment: dict[str, Any]
    queued_in_environment: int
    project: dict[str, Any]  # as the project list serves it
    web: str  # the project's pages: `.../p/<owner>/<project>`
    api: str  # the execution's API URL, without the trailing slash
    links: str  # what links start with: the base URL, or "" for relative ones
    metrics: dict[str, float]
    n_outputs: int
    parameters: dict[str, Any]
    commit_identifier: str
    commit_time: str


def make_execution(
    index: int,
    counter: int,
    base_url: str,
    *,
    executions: int | None = None,
    shape: ExecutionShape = "mixed",
    relative_urls: bool = False,
    legacy_data: bool = False,
) -> dict[str, Any]:
    """Execution `counter` (1..its project's total) of project `index`, as the list and the
    detail serve it, with links under `base_url` (no trailing slash).

    `executions` is EmulatorConfig.executions. `relative_urls` makes every link relative to
    the host; `legacy_data` serves the nested project as the project list then does.
    """
    total = execution_total(index, executions)
    status = execution_status(index, counter, total)
    step = _step(counter)
    ident = execution_id(index, counter)
    ctime = execution_ctime(index, counter)
    started = ctime + timedelta(seconds=5 + (counter * 13 + index) % 600)
    duration = None
    if status not in UNFINISHED_STATUSES:
        duration = 30 + (counter * 7919 + index * 104729) % 14_400
    links = "" if relative_urls else base_url
    environment_number = _environment_number(index, counter, step)
    listed = _listed_project(index, base_url, executions)
    metrics: dict[str, float] = {}
    if status == "complete" and step in ("train-model", "evaluate"):
        accuracy = round(0.7 + (counter * 37 + index) % 290 / 1000, 4)
        metrics = {"accuracy": accuracy, "loss": round(1.05 - accuracy, 4)}
    # Four executions in a row run the same commit, made a little before the first of them.
    commit_time = execution_ctime(index, counter - counter % 4) - timedelta(minutes=7)
    execution = _Execution(
        project_index=index,
        counter=counter,
        id=ident,
        status=status,
        step=step,
        ctime=ctime,
        started=started,
        end_time=None if duration is None else started + timedelta(seconds=duration),
        duration=duration,
        environment=make_environment(environment_number, links),
        queued_in_environment=_ENVIRONMENTS[environment_number].get("queued", 0),
        project=project_as_served(
            listed, base_url, relative_urls=relative_urls, legacy_data=legacy_data
        ),
        web=f"{links}/p/{listed['owner']['username']}/{listed['name']}",
        api=f"{links}/api/v0/executions/{ident}",
        links=links,
        metrics=metrics,
        n_outputs=1 + (counter + index) % len(_OUTPUT_NAMES) if status == "complete" else 0,
        parameters=_parameters(counter, step),
        commit_identifier=_commit_identifier(index, counter),
        commit_time=iso_time(commit_time),
    )
    if served_shape(shape, counter) == "older":
        return _older_shape(execution)
    return _shape_2025(execution)


def _older_shape(execution: _Execution) -> dict[str, Any]:
    """The 15 keys of valohai-cli's EXECUTION_DETAIL_DATA: no creator, `outputs` listed, a
    small nested environment, the project's owner a bare id and its variables included."""
    project, end_time = execution.project, execution.end_time
    owner, urls = project["owner"], project["urls"]
    commit_number = execution.project_index * 100_000 + execution.counter // 4 + 1
    return {
        "counter": execution.counter,
        "ctime": iso_time(execution.ctime),
        "id": execution.id,
        "project": {
            "id": project["id"],
            "name": project["name"],
            "description": project["description"],
            "owner": owner["id"] if isinstance(owner, dict) else owner,
            "ctime": project["ctime"],
            "mtime": project["mtime"],
            "urls": {"display": urls["display"]} if urls else {},
            "environment_variables": project_environment_variables(execution.project_index),
        },
        "commit": {
            "repository": 2000 + execution.project_index,
            "identifier": execution.commit_identifier,
            "ref": "master",
            "commit_time": execution.commit_time,
            "url": f"{execution.links}/api/v0/commits/{commit_number}/",
        },
        "task": None,
        "duration": execution.duration,
        "status": execution.status,
        "step": execution.step,
        "url": f"{execution.api}/",
        "urls": {
            "copy": f"{execution.api}/copy/",
            "display": f"{execution.web}/execution/{execution.counter}/",
            "stop": f"{execution.api}/stop/",
        },
        "parameters": execution.parameters,
        "outputs": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator:output:{execution.id}:{n}")),
                "size": 1024 + (execution.counter * 7919 * (n + 1)) % 50_000_000,
                "ctime": iso_time(end_time),
                "file_ctime": iso_time(end_time - timedelta(seconds=3 + n)),
                "file_mtime": iso_time(end_time - timedelta(seconds=2 + n)),
                "name": _OUTPUT_NAMES[n],
                "output_execution": {"id": execution.id},
            }
            for n in range(execution.n_outputs)
            if end_time is not None
        ],
        "environment": {
            "id": execution.environment["id"],
            "name": execution.environment["name"],
            "owner": execution.environment["owner"],
            "unfinished_job_count": execution.queued_in_environment,
        },
        # Older servers send an object even when nothing was logged.
        "cumulative_metadata": execution.metrics,
    }


def _shape_2025(execution: _Execution) -> dict[str, Any]:
    """The 44 keys of valohai-cli's NOTEBOOK_EXECUTION_DATA: the creator as creator_id (text)
    and creator_name, the whole environment, `n_outputs` instead of `outputs`."""
    project, environment, end_time = execution.project, execution.environment, execution.end_time
    owner = project["owner"]
    counter, ident, web = execution.counter, execution.id, execution.web
    creator = execution_creator(execution.project_index, counter)
    script = "train.py" if execution.step == "train-model" else "run.py"
    arguments = " ".join(f"--{name}={value}" for name, value in execution.parameters.items())
    title = _TITLES[counter % len(_TITLES)]
    price = 0.0
    if execution.duration is not None:
        price = round(execution.duration / 3600 * float(environment["per_hour_price_usd"]), 5)
    commit = None  # some executions run code that is in no commit (ad hoc runs, notebooks)
    if counter % 5 != 4:
        commit = {
            "adhoc": False,
            "commit_time": execution.commit_time,
            "description": "",
            "identifier": execution.commit_identifier,
            "project_id": project["id"],
            "ref": "main",
            "ref_names": ["main"],
            "yaml_path": "valohai.yaml",
            "urls": {"display": f"{web}/commits/{execution.commit_identifier}/"},
            "has_config": True,
        }
    return {
        "commit": commit,
        "counter": counter,
        "creator_id": str(creator["id"]),
        "creator_name": creator["username"],
        "ctime": iso_time(execution.ctime),
        "cumulative_metadata": execution.metrics or None,
        "deleted": False,
        "duration": execution.duration,
        "end_time": None if end_time is None else iso_time(end_time),
        "environment": environment,
        "id": ident,
        "is_pinned": False,
        "mtime": iso_time(end_time or execution.started),
        "n_alerts": 0,
        "n_comments": 0,
        "n_outputs": execution.n_outputs,
        "parameters": execution.parameters,
        "pipeline": None,
        "pipeline_counter": None,
        "project": {
            **{key: project[key] for key in ("id", "name", "description", "ctime", "mtime")},
            "owner": dict(owner) if isinstance(owner, dict) else owner,
            "url": project["url"],
            "urls": dict(project["urls"]),
            "read_only": project["read_only"],
        },
        "status": execution.status,
        "status_detail": None,
        "step": execution.step,
        "step_icon": None,
        "tags": ["baseline"] if title == "baseline" else [],
        "task_tags": [],
        "task": None,
        "task_counter": None,
        "title": title,
        "urls": {
            "copy": f"{web}/executions/create/?from={ident}",
            "copy_to_task": f"{web}/tasks/create/?from={ident}",
            "display": f"{web}/execution/{ident}/",
            "stop": f"{execution.api}/stop/",
        },
        "url": f"{execution.api}/",
        "pipeline_tags": [],
        "priority": 0,
        "command": f"python {script} {{parameters}}",
        "environment_variables": {},
        "runtime_config": {"autorestart": False, "no_output_timeout": 604800},
        "executor_identity": "",
        "image": _GPU_IMAGE if environment["has_gpu"] else "python:3.13",
        "inputs": [],
        "interpolated_command": f"python {script} {arguments}".rstrip(),
        "price": price,
        "stop_expression": "",
        "emissions": None,
        "parameter_categories": None,
    }
