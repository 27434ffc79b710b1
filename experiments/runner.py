"""Run an experiment: resumable, atomic, with provenance, verdicts and figures.

An experiment is a list of *units* (one configuration × seed). Each finished unit's rows
are appended to ``results.csv`` at once, atomically (the whole file is rewritten to a
temporary name and moved over the old one), so a run killed at any moment loses at most
the unit in progress, and a restart skips every unit already in the file. Beside the CSV
sit ``provenance.json`` (device, versions, commit, seeds, time, config), ``verdicts.txt``
(one ``scratch.evidence`` line per claim) and the figures.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import random
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from .provenance import environment, utc_now

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CSV_NAME, PROVENANCE_NAME, VERDICTS_NAME = "results.csv", "provenance.json", "verdicts.txt"
SCALES = ("smoke", "cpu", "full")  # cpu: the full protocol cut to fit a 2-core CPU


def at_scale(verdict: str, scale: str) -> str:
    """A rule's verdict (``scratch.rules``) at a run's scale: a ``smoke`` run only tests the
    code (*not testable*); a ``cpu`` run has a cut budget, so a claim it supports holds
    *with a caveat*; ``full`` stands as the rule decided."""
    from scratch import evidence

    if scale == "smoke":
        return evidence.UNTESTABLE
    if scale == "cpu" and verdict == evidence.HOLDS:
        return evidence.CAVEAT
    return verdict


class ExperimentError(RuntimeError):
    """A problem the user can act on (wrong results folder, out of memory, bad option)."""


@dataclasses.dataclass
class Context:
    """What a unit needs to know about the run it belongs to."""

    device: torch.device
    scale: str
    out_dir: Path


@dataclasses.dataclass
class RunResult:
    """What :func:`run` did: the results folder and its files, whether every unit is done
    (``complete``; then ``verdicts`` and ``figures`` are filled in) and how many units
    this call ran (``units_run``). :meth:`table` reads ``results.csv`` as a DataFrame."""

    out_dir: Path
    csv_path: Path
    provenance_path: Path
    complete: bool
    verdicts: list[str]
    figures: list[Path]
    units_run: int

    def table(self):
        import pandas as pd

        return pd.read_csv(self.csv_path)


class Experiment:
    """Subclass and fill in the class attributes and :meth:`units`, :meth:`run_unit`.

    ``columns`` is the CSV header; ``key_columns`` (a subset) identify a unit, so every
    row a unit returns carries the unit's values in those columns (the runner adds them).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    claims: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[tuple[str, ...]]
    key_columns: ClassVar[tuple[str, ...]]
    configs: ClassVar[dict[str, Any]]  # scale -> config dataclass instance
    deterministic: ClassVar[bool] = True  # False for timing runs: let torch pick fast kernels

    def units(self, config, seeds: Sequence[int]) -> list[dict]:
        raise NotImplementedError

    def run_unit(self, unit: dict, config, ctx: Context) -> list[dict]:
        raise NotImplementedError

    def verdicts(self, table, config, scale: str) -> list[str]:
        """``scratch.evidence.verdict`` lines computed from the finished table."""
        return []

    def figures(self, table, config, out_dir: Path) -> list[Path]:
        """Write PNG figures into ``out_dir``; return their paths."""
        return []


# --------------------------------------------------------------------------- files


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then move it over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _cell(value: Any) -> str:
    """How a value appears in the CSV (and how unit keys are compared)."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, np.integer | np.bool_):
        return str(value.item())
    return str(value)


def _render(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def read_results(path: Path, columns: Sequence[str]) -> list[list[str]]:
    """The data rows of ``path`` as strings, after checking that the header is ``columns``."""
    try:
        text = path.read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ExperimentError(
            f"{path} cannot be read as CSV ({e}); use --force to start over"
        ) from e
    if not rows or rows[0] != list(columns):
        found = rows[0] if rows else "an empty file"
        raise ExperimentError(
            f"{path} is not a results file of this experiment: expected header "
            f"{list(columns)}, found {found}. Use another --out or --force to start over."
        )
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(columns):
            raise ExperimentError(
                f"{path} line {i} has {len(row)} fields, expected {len(columns)}: the file is "
                "corrupt. Use --force to start over."
            )
    return rows[1:]


def _json_ready(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


# --------------------------------------------------------------------------- device


def resolve_device(requested: str) -> torch.device:
    """``auto`` → CUDA if present, else CPU; ``cuda`` without a GPU warns and uses the CPU."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ExperimentError(f"--device must be auto, cpu or cuda, got {requested!r}")
    if requested == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if requested == "cuda":
        warnings.warn(
            "--device cuda was requested but no CUDA GPU is available; running on the CPU",
            RuntimeWarning,
            stacklevel=2,
        )
    return torch.device("cpu")


def _seed(seed: int, deterministic: bool) -> None:
    if deterministic:
        from scratch.utils import seed_all

        seed_all(seed)
    else:
        random.seed(seed)
        np.random.seed(seed)  # noqa: NPY002 (seed the legacy global stream code may use)
        torch.manual_seed(seed)


def _is_oom(error: BaseException) -> bool:
    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and (
        "out of memory" in str(error) or "can't allocate memory" in str(error)
    )


def describe(unit: dict) -> str:
    """``k=v, ...``: a unit as progress bars and error messages name it."""
    return ", ".join(f"{k}={v}" for k, v in unit.items())


# --------------------------------------------------------------------------- the run


def run(
    experiment: Experiment,
    scale: str = "smoke",
    device: str = "auto",
    out: str | os.PathLike | None = None,
    seeds: Sequence[int] | None = None,
    force: bool = False,
    max_units: int | None = None,
    progress: bool = True,
    threads: int | None = None,
) -> RunResult:
    """Run (or resume) ``experiment`` at ``scale``; see the module docstring.

    ``max_units`` stops after that many new units (an interruption on purpose);
    ``force`` deletes earlier results in the folder first.
    """
    config = _check_experiment(experiment, scale)
    seeds = list(seeds) if seeds is not None else list(getattr(config, "seeds", (0,)))
    if threads is not None:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    out_dir = Path(out) if out is not None else RESULTS_DIR / experiment.name / scale
    out_dir.mkdir(parents=True, exist_ok=True)
    if force:
        _clear(out_dir)
    config_json = _json_ready(dataclasses.asdict(config))
    provenance = _read_provenance(out_dir, experiment.name, scale, config_json)
    done = _done_keys(experiment, out_dir, provenance)
    units = experiment.units(config, seeds)
    pending = _pending(experiment, units, done)
    env = environment(dev)
    if provenance is None:
        provenance = _new_provenance(experiment, scale, config_json)
    elif pending:
        _warn_if_other_device(experiment.name, provenance, env)
    log = _Session(provenance, out_dir / PROVENANCE_NAME, env, seeds, len(units), len(pending))
    ctx = Context(device=dev, scale=scale, out_dir=out_dir)
    todo = pending if max_units is None else pending[:max_units]
    _run_units(experiment, config, ctx, todo, log, progress)
    complete = log.session["units_run"] == len(pending)
    verdict_lines, figures = _finish(experiment, config, ctx, env, log) if complete else ([], [])
    log.save("complete" if complete else "partial")
    csv_path, prov_path = out_dir / CSV_NAME, out_dir / PROVENANCE_NAME
    units_run = log.session["units_run"]
    return RunResult(out_dir, csv_path, prov_path, complete, verdict_lines, figures, units_run)


def _check_experiment(experiment: Experiment, scale: str):
    """The config of ``experiment`` at ``scale``, after checking the class attributes."""
    name = experiment.name
    if scale not in experiment.configs:
        raise ExperimentError(
            f"{name}: unknown scale {scale!r}; choose from {list(experiment.configs)}"
        )
    key_columns = list(experiment.key_columns)
    if not set(key_columns) <= set(experiment.columns):
        raise ExperimentError(f"{name}: key_columns {key_columns} are not all in columns")
    return experiment.configs[scale]


def _clear(out_dir: Path) -> None:
    """``--force``: delete the results, provenance, verdicts and figures in ``out_dir``."""
    names = [CSV_NAME, PROVENANCE_NAME, VERDICTS_NAME]
    for path in [*(out_dir / n for n in names), *out_dir.glob("*.png"), *out_dir.glob("*.md")]:
        path.unlink(missing_ok=True)


def _read_provenance(
    out_dir: Path, name: str, scale: str, config_json: Any
) -> dict[str, Any] | None:
    """The provenance already in ``out_dir`` (None if none), after checking that it is a run
    of the same experiment, scale and config."""
    prov_path = out_dir / PROVENANCE_NAME
    if not prov_path.exists():
        return None
    try:
        provenance = json.loads(prov_path.read_text(encoding="utf-8"))
        if not isinstance(provenance, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise ExperimentError(f"{prov_path} is corrupt ({e}); use --force to start over") from None
    found_name, found_scale = provenance.get("experiment"), provenance.get("scale")
    if found_name != name or found_scale != scale:
        raise ExperimentError(
            f"{out_dir} holds results of experiment {found_name!r} at "
            f"scale {found_scale!r}, not {name!r} at {scale!r}; refusing to "
            "overwrite them. Use another --out, or --force to start over."
        )
    if provenance.get("config") != config_json:
        raise ExperimentError(
            f"{out_dir} was made with a different {scale} config of {name} "
            f"({provenance.get('config')}); resuming would mix them. Use --force to start over."
        )
    return provenance


def _done_keys(experiment: Experiment, out_dir: Path, provenance: dict | None) -> set[tuple]:
    """The key-column values of the units already in ``results.csv`` (which is created,
    header only, when missing)."""
    csv_path = out_dir / CSV_NAME
    columns = list(experiment.columns)
    if not csv_path.exists():
        atomic_write_text(csv_path, _render([columns]))
        return set()
    if provenance is None:
        raise ExperimentError(
            f"{csv_path} exists without {PROVENANCE_NAME}: not a results folder this runner "
            "wrote. Use another --out or --force to start over."
        )
    existing = read_results(csv_path, columns)
    key_idx = [columns.index(k) for k in experiment.key_columns]
    return {tuple(row[i] for i in key_idx) for row in existing}


def _pending(experiment: Experiment, units: list[dict], done: set[tuple]) -> list[dict]:
    """The units not in ``done``, after checking that each has exactly the key columns."""
    key_columns = list(experiment.key_columns)
    for unit in units:
        if set(unit) != set(key_columns):
            raise ExperimentError(
                f"{experiment.name}: unit {unit} does not match key_columns {key_columns}"
            )
    return [u for u in units if tuple(_cell(u[k]) for k in key_columns) not in done]


def _new_provenance(experiment: Experiment, scale: str, config_json: Any) -> dict[str, Any]:
    return {
        "experiment": experiment.name,
        "scale": scale,
        "smoke": scale == "smoke",
        "claims": list(experiment.claims),
        "config": config_json,
        "seeds": [],
        "wall_time_s": 0.0,
        "sessions": [],
    }


def _warn_if_other_device(name: str, provenance: dict[str, Any], env: dict[str, Any]) -> None:
    """Warn when a run resumes on another device than its last session ran on."""
    last = (provenance.get("sessions") or [{}])[-1]
    if last.get("device_name") not in (None, env["device_name"]):
        warnings.warn(
            f"resuming {name} on {env['device_name']}; earlier units ran on "
            f"{last.get('device_name')} (the provenance records both sessions)",
            RuntimeWarning,
            stacklevel=3,
        )


class _Session:
    """This session's entry in the provenance, and ``provenance.json`` rewritten on
    :meth:`save` (at the start, after each unit, and at the end)."""

    def __init__(self, provenance, path: Path, env, seeds, n_units: int, n_pending: int):
        self.provenance, self.path, self.env = provenance, path, env
        self.n_units, self.n_pending = n_units, n_pending
        provenance["seeds"] = sorted(set(provenance.get("seeds", [])) | set(seeds))
        provenance.update({k: v for k, v in env.items() if k != "argv"})
        self.session = {
            "started_utc": utc_now(),
            "argv": env["argv"],
            "device": env["device"],
            "device_name": env["device_name"],
            "units_run": 0,
            "wall_time_s": 0.0,
        }
        provenance["sessions"].append(self.session)
        self.wall_before = float(provenance.get("wall_time_s", 0.0))
        self.t0 = time.perf_counter()
        self.save("running")

    def save(self, status: str) -> None:
        session = self.session
        session["wall_time_s"] = round(time.perf_counter() - self.t0, 3)
        self.provenance.update(
            status=status,
            units_total=self.n_units,
            units_done=self.n_units - self.n_pending + session["units_run"],
            wall_time_s=round(self.wall_before + session["wall_time_s"], 3),
            date_utc=utc_now(),
        )
        atomic_write_text(self.path, json.dumps(_json_ready(self.provenance), indent=2) + "\n")


def _run_units(experiment: Experiment, config, ctx: Context, todo, log: _Session, progress):
    """Run each unit of ``todo`` and append its rows to ``results.csv`` at once."""
    from tqdm.auto import tqdm

    csv_path = ctx.out_dir / CSV_NAME
    bar = tqdm(
        total=log.n_units,
        initial=log.n_units - log.n_pending,
        desc=f"{experiment.name} ({ctx.scale})",
        unit="cfg",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        for unit in todo:
            bar.set_postfix_str(describe(unit), refresh=True)
            rendered = _unit_rows(experiment, unit, config, ctx, log.env["device_name"])
            text = csv_path.read_text(encoding="utf-8")
            atomic_write_text(csv_path, text + _render(rendered))
            log.session["units_run"] += 1
            log.save("running")
            bar.update(1)
    except BaseException:
        log.save("interrupted")
        raise
    finally:
        bar.close()


def _unit_rows(experiment: Experiment, unit: dict, config, ctx: Context, device_name: str):
    """Seed, run one unit, and return its rows as CSV cells (out of memory: a message that
    names the unit)."""
    name, columns = experiment.name, list(experiment.columns)
    if "seed" in unit:
        _seed(int(unit["seed"]), experiment.deterministic)
    try:
        rows = experiment.run_unit(dict(unit), config, ctx)
    except Exception as e:
        if _is_oom(e):
            raise ExperimentError(
                f"{name}: out of memory on {device_name} at {describe(unit)} "
                f"({str(e).splitlines()[0]}). Finished configurations are saved; rerun "
                "to resume, or use a smaller scale."
            ) from e
        raise
    if not rows:
        raise ExperimentError(f"{name}: unit {describe(unit)} returned no rows")
    rendered = []
    for row in rows:
        row = {**row, **unit}
        if set(row) != set(columns):
            raise ExperimentError(
                f"{name}: a row has columns {sorted(row)}, expected {sorted(columns)}"
            )
        rendered.append([_cell(row[c]) for c in columns])
    return rendered


def _finish(experiment: Experiment, config, ctx: Context, env, log: _Session):
    """A complete run's verdicts (written to ``verdicts.txt``) and figures."""
    import pandas as pd

    out_dir = ctx.out_dir
    csv_path, verdict_path = out_dir / CSV_NAME, out_dir / VERDICTS_NAME
    table = pd.read_csv(csv_path)
    table.attrs["device"] = f"{env['device']}: {env['device_name']}"
    verdict_lines = list(experiment.verdicts(table, config, ctx.scale))
    if experiment.claims or verdict_lines:
        atomic_write_text(verdict_path, "".join(line + "\n" for line in verdict_lines))
    figures = [Path(p) for p in experiment.figures(table, config, out_dir)]
    files = [csv_path, verdict_path, *figures]
    log.provenance["files"] = sorted(p.name for p in files if p.exists())
    return verdict_lines, figures


def rejudge(experiment: Experiment, scale: str, out: str | os.PathLike | None = None) -> list[str]:
    """Recompute the verdicts of a finished run from its stored table with today's rules
    (``scratch.rules``), without re-running any unit, and rewrite ``verdicts.txt``.

    The provenance keeps the run's own record and gains a ``rejudged`` entry (date and
    commit of the rules), so a reader can tell when the data and the rule differ in age.
    """
    import pandas as pd

    from .provenance import git_commit

    out_dir = Path(out) if out is not None else RESULTS_DIR / experiment.name / scale
    csv_path, prov_path = out_dir / CSV_NAME, out_dir / PROVENANCE_NAME
    if not prov_path.exists() or not csv_path.exists():
        raise ExperimentError(f"{out_dir} holds no finished run of {experiment.name} to rejudge")
    provenance = json.loads(prov_path.read_text(encoding="utf-8"))
    if provenance.get("status") != "complete":
        raise ExperimentError(f"{out_dir}: the run is {provenance.get('status')}, not complete")
    config = experiment.configs[scale]
    table = pd.read_csv(csv_path)
    last = (provenance.get("sessions") or [{}])[-1]
    table.attrs["device"] = f"{provenance.get('device')}: {last.get('device_name')}"
    lines = list(experiment.verdicts(table, config, scale))
    atomic_write_text(out_dir / VERDICTS_NAME, "".join(line + "\n" for line in lines))
    commit, dirty = git_commit()
    provenance["rejudged"] = {"date_utc": utc_now(), "git_commit": commit, "git_dirty": dirty}
    atomic_write_text(prov_path, json.dumps(_json_ready(provenance), indent=2) + "\n")
    return lines
