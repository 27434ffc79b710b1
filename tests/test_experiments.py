"""The experiment framework: every experiment's smoke scale runs, resumes after an
interruption without losing or duplicating rows, writes provenance, verdicts and figures;
foreign or corrupt results folders are refused; ``--device cuda`` without a GPU falls back
to the CPU with a warning; an out-of-memory error names the configuration that failed."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import experiments
from experiments import registry, runner
from experiments.__main__ import main
from experiments.runner import Experiment, ExperimentError
from scratch import evidence
from scratch.data import FASHION_MNIST_DIR

ROOT = Path(__file__).resolve().parent.parent
HAVE_FASHION = any((FASHION_MNIST_DIR / f"t10k-images-idx3-ubyte{s}").exists() for s in ("", ".gz"))
NEEDS_FASHION = {"dropout_vs_batchnorm", "resnet_depth", "resnet_depth_small"}
PROVENANCE_KEYS = {
    "experiment",
    "scale",
    "smoke",
    "config",
    "seeds",
    "device",
    "device_name",
    "torch_version",
    "cuda_version",
    "git_commit",
    "date_utc",
    "wall_time_s",
    "status",
    "sessions",
    "units_done",
    "units_total",
}


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(path.open(encoding="utf-8")))
    return rows[0], rows[1:]


@pytest.mark.parametrize("name", registry.names())
def test_smoke_run_resumes_and_writes_everything(name, tmp_path):
    if name in NEEDS_FASHION and not HAVE_FASHION:
        pytest.skip("Fashion-MNIST not installed: apt-get install dataset-fashion-mnist")
    exp = registry.get(name)
    out = tmp_path / name
    # an interruption after two configurations...
    first = experiments.run(name, scale="smoke", device="cpu", out=out, max_units=2, progress=False)
    assert not first.complete and first.units_run == 2
    assert not (out / "verdicts.txt").exists()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["status"] == "partial" and prov["units_done"] == 2
    header, partial_rows = read_csv(out / "results.csv")
    assert header == list(exp.columns) and partial_rows
    # ...then the restart finishes the rest
    result = experiments.run(name, scale="smoke", device="cpu", out=out, progress=False)
    assert result.complete and result.units_run == prov["units_total"] - 2
    header, rows = read_csv(out / "results.csv")
    assert all(r in rows for r in partial_rows)  # nothing lost
    assert len({tuple(r) for r in rows}) == len(rows)  # nothing twice
    keys = [header.index(k) for k in exp.key_columns]
    assert len({tuple(r[i] for i in keys) for r in rows}) == prov["units_total"]

    prov = json.loads((out / "provenance.json").read_text())
    assert PROVENANCE_KEYS <= set(prov)
    assert prov["experiment"] == name and prov["scale"] == "smoke" and prov["smoke"] is True
    assert prov["status"] == "complete" and prov["device"] == "cpu" and len(prov["sessions"]) == 2
    assert prov["units_done"] == prov["units_total"]

    if exp.claims:
        parsed = evidence.parse((out / "verdicts.txt").read_text())
        assert [c for c, _, _ in parsed] and {c for c, _, _ in parsed} <= set(exp.claims)
        assert set(exp.claims) <= {c for c, _, _ in parsed}
    assert result.figures and all(
        p.suffix == ".png" and p.stat().st_size > 0 for p in result.figures
    )
    # a third run has nothing left to do and changes nothing
    again = experiments.run(name, scale="smoke", device="cpu", out=out, progress=False)
    assert again.units_run == 0 and read_csv(out / "results.csv")[1] == rows


CPU_SCALE = {"dropout_vs_batchnorm", "lstm_vs_transformer", "resnet_depth"}


@pytest.mark.parametrize("name", sorted(CPU_SCALE))
def test_cpu_scale_is_a_cut_of_full_that_tests_claims(name, tmp_path):
    """A ``cpu`` run decides its claims (smoke runs never do), always with a caveat or a
    failure (its budget is cut) or, with too few seeds, inconclusive, and its config is the
    full one with smaller numbers."""
    if name in NEEDS_FASHION and not HAVE_FASHION:
        pytest.skip("Fashion-MNIST not installed: apt-get install dataset-fashion-mnist")
    exp = registry.get(name)
    cpu, full = exp.configs["cpu"], exp.configs["full"]
    assert type(cpu) is type(full) and cpu != full
    result = experiments.run(name, scale="smoke", device="cpu", out=tmp_path, progress=False)
    table, smoke = result.table(), exp.configs["smoke"]
    at_smoke = evidence.parse("\n".join(exp.verdicts(table, smoke, "smoke")))
    at_cpu = evidence.parse("\n".join(exp.verdicts(table, smoke, "cpu")))
    assert {s for _, s, _ in at_smoke} == {evidence.UNTESTABLE}
    decided = {c: s for c, s, _ in at_cpu if s != evidence.UNTESTABLE}
    # resnet_depth's gradient claims also need depth >= 44, which its smoke config lacks;
    # C15b (the transformer trains faster) is about parallel hardware: a GPU run only
    expected = {"resnet_depth": {"C34a"}, "lstm_vs_transformer": set(exp.claims) - {"C15b"}}
    assert set(decided) == expected.get(name, set(exp.claims))
    # fewer than 3 seeds (the smoke table has one) leave a replicated rule inconclusive
    assert set(decided.values()) <= {evidence.CAVEAT, evidence.FAILS, evidence.INCONCLUSIVE}
    assert all("cpu scale" in e for _, _, e in at_cpu)
    if name == "lstm_vs_transformer":
        table.attrs["device"] = "cuda: a GPU"
        on_gpu = evidence.parse("\n".join(exp.verdicts(table, smoke, "cpu")))
        assert {c: s for c, s, _ in on_gpu}["C15b"] in {evidence.CAVEAT, evidence.FAILS}


def test_scale_without_a_config_is_refused(tmp_path):
    with pytest.raises(ExperimentError, match="unknown scale 'cpu'"):
        experiments.run("mnist1d_table", scale="cpu", device="cpu", out=tmp_path)
    assert not (tmp_path / "results.csv").exists()


# ------------------------------------------------------------ a tiny fake experiment


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    n: int = 4
    seeds: tuple[int, ...] = (0, 1)


class Toy(Experiment):
    name = "toy"
    description = "test double"
    claims = ("C40",)
    columns = ("k", "seed", "metric", "value")
    key_columns = ("k", "seed")
    configs = {"smoke": ToyConfig(), "full": ToyConfig(n=6)}
    fail_at: int | None = None
    oom_at: int | None = None

    def units(self, config, seeds):
        return [{"k": k, "seed": s} for s in seeds for k in range(config.n)]

    def run_unit(self, unit, config, ctx):
        if unit["k"] == self.fail_at:
            raise RuntimeError("killed")
        if unit["k"] == self.oom_at:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [
            {"metric": "square", "value": float(unit["k"] ** 2)},
            {"metric": "device", "value": ctx.device.type},
        ]

    def verdicts(self, table, config, scale):
        ok = (table[table.metric == "square"].value.astype(float) >= 0).all()
        return [evidence.format_verdict("C40", evidence.decide(ok), f"{len(table)} rows")]


def test_crash_mid_run_then_resume(tmp_path):
    toy = Toy()
    toy.fail_at = 2
    with pytest.raises(RuntimeError, match="killed"):
        runner.run(toy, out=tmp_path, device="cpu", progress=False)
    _, rows = read_csv(tmp_path / "results.csv")
    assert {(r[0], r[1]) for r in rows} == {("0", "0"), ("1", "0")}
    assert json.loads((tmp_path / "provenance.json").read_text())["status"] == "interrupted"
    toy.fail_at = None
    result = runner.run(toy, out=tmp_path, device="cpu", progress=False)
    _, rows = read_csv(tmp_path / "results.csv")
    assert result.complete and len(rows) == 2 * 8 and len({tuple(r) for r in rows}) == 16
    assert evidence.parse((tmp_path / "verdicts.txt").read_text())[0][:2] == ("C40", "holds")
    # more seeds later: only the new ones run
    more = runner.run(toy, out=tmp_path, device="cpu", seeds=[0, 1, 2], progress=False)
    assert more.units_run == 4
    assert json.loads((tmp_path / "provenance.json").read_text())["seeds"] == [0, 1, 2]


def test_foreign_and_corrupt_results_are_refused(tmp_path):
    toy = Toy()
    runner.run(toy, out=tmp_path, device="cpu", progress=False)
    before = (tmp_path / "results.csv").read_text()

    prov = json.loads((tmp_path / "provenance.json").read_text())
    (tmp_path / "provenance.json").write_text(json.dumps({**prov, "experiment": "other"}))
    with pytest.raises(ExperimentError, match="refusing to overwrite"):
        runner.run(toy, out=tmp_path, device="cpu", progress=False)
    (tmp_path / "provenance.json").write_text("{not json")
    with pytest.raises(ExperimentError, match="corrupt"):
        runner.run(toy, out=tmp_path, device="cpu", progress=False)
    changed = {**prov, "config": {**prov["config"], "n": 99}}
    (tmp_path / "provenance.json").write_text(json.dumps(changed))
    with pytest.raises(ExperimentError, match="different smoke config"):
        runner.run(toy, out=tmp_path, device="cpu", progress=False)
    (tmp_path / "provenance.json").write_text(json.dumps(prov))
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ExperimentError, match="not a results file"):
        runner.run(toy, out=tmp_path, device="cpu", progress=False)
    (tmp_path / "results.csv").write_text(before + "1,0,square\n")
    with pytest.raises(ExperimentError, match="corrupt"):
        runner.run(toy, out=tmp_path, device="cpu", progress=False)
    assert (tmp_path / "results.csv").read_text() == before + "1,0,square\n"  # untouched

    # a CSV without provenance is not ours either
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "results.csv").write_text(before)
    with pytest.raises(ExperimentError, match="without provenance.json"):
        runner.run(toy, out=lone, device="cpu", progress=False)

    # --force starts over
    result = runner.run(toy, out=tmp_path, device="cpu", progress=False, force=True)
    assert result.complete and (tmp_path / "results.csv").read_text() == before


def test_scale_mismatch_is_refused(tmp_path):
    toy = Toy()
    runner.run(toy, scale="smoke", out=tmp_path, device="cpu", progress=False)
    with pytest.raises(ExperimentError, match="not 'toy' at 'full'"):
        runner.run(toy, scale="full", out=tmp_path, device="cpu", progress=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: no fallback to test")
def test_cuda_without_gpu_warns_and_uses_cpu(tmp_path):
    with pytest.warns(RuntimeWarning, match="no CUDA GPU"):
        result = runner.run(Toy(), device="cuda", out=tmp_path, progress=False)
    _, rows = read_csv(result.csv_path)
    assert {r[3] for r in rows if r[2] == "device"} == {"cpu"}
    assert json.loads(result.provenance_path.read_text())["device"] == "cpu"


def test_out_of_memory_names_the_configuration(tmp_path):
    toy = Toy()
    toy.oom_at = 3
    with pytest.raises(ExperimentError, match=r"out of memory .* at k=3, seed=0"):
        runner.run(toy, device="cpu", out=tmp_path, progress=False)
    _, rows = read_csv(tmp_path / "results.csv")
    assert len(rows) == 2 * 3  # the configurations before it are kept


def test_cli_errors_and_list(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(registry, "EXPERIMENTS", [*registry.EXPERIMENTS, "toy"])
    monkeypatch.setattr(registry, "get", lambda name: Toy() if name == "toy" else None)
    assert main(["toy", "--device", "cpu", "--out", str(tmp_path), "--no-progress"]) == 0
    (tmp_path / "results.csv").write_text("x\n")
    assert main(["toy", "--device", "cpu", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "not a results file" in capsys.readouterr().err
    assert main(["toy", "--device", "cpu", "--out", str(tmp_path), "--force", "--no-progress"]) == 0


def test_python_m_experiments_list():
    out = subprocess.run(
        [sys.executable, "-m", "experiments", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    for name in registry.names():
        assert name in out.stdout


def test_unknown_experiment():
    with pytest.raises(ExperimentError, match="unknown experiment"):
        registry.get("nope")


def _resnet_table(plain_torch_ratio: float, bn_torch_ratio: float, seeds=(0, 1, 2), steps=400):
    """A made-up resnet_depth table with the given first/last arriving-gradient ratios
    (a little different per seed) and ``steps`` of training per net."""
    import pandas as pd

    ratios = {
        (False, "none", "he"): 0.06,
        (False, "none", "torch"): plain_torch_ratio,
        (False, "bn", "torch"): bn_torch_ratio,
        (False, "bn", "he"): 30.0,
        (True, "none", "he"): 8.0,
        (True, "none", "torch"): 0.5,
        (True, "bn", "torch"): 20.0,
        (True, "bn", "he"): 100.0,
    }
    rows = []
    for seed in seeds:
        for depth in (20, 56):
            for (res, norm, init), ratio in ratios.items():
                key = {"depth": depth, "residual": res, "norm": norm, "init": init, "seed": seed}
                rows += _resnet_net_rows(key, ratio, steps)
    return pd.DataFrame(rows)


def _row(key: dict, phase: str, step: int, metric: str, layer: str, value: float) -> dict:
    return {**key, "phase": phase, "step": step, "metric": metric, "layer": layer, "value": value}


def _resnet_net_rows(key: dict, ratio: float, steps: int) -> list[dict]:
    """One net's made-up rows: gradients at init; for the trained setting (BN, He init)
    also its accuracies, a training-loss plateau and gradients after training."""
    depth, res, seed = key["depth"], key["residual"], key["seed"]
    jitter = 1 + 0.05 * seed
    rows = [
        _row(key, "init", 0, metric, layer, value)
        for metric in ("arriving_grad_norm", "grad_norm")
        for layer, value in (("conv1", ratio * jitter), ("mid", 1.0), ("fc_in", 1.0))
    ]
    if (key["norm"], key["init"]) != ("bn", "he"):
        return rows
    acc = {
        "train_acc": 0.9 - depth / 1000 * (not res) - 0.001 * seed,
        "test_acc": 0.85 + depth / 1000 * res - 0.001 * seed,
    }
    rows += [_row(key, "train", steps, metric, "", value) for metric, value in acc.items()]
    plateau = ((steps * 4 // 5, 0.31), (steps, 0.30))
    rows += [_row(key, "train", step, "train_loss", "", loss) for step, loss in plateau]
    for layer in ("conv1", "fc_in"):
        rows.append(_row(key, "trained", steps, "arriving_grad_norm", layer, 1.0))
    return rows


@pytest.mark.parametrize(
    ("plain_torch", "bn_torch", "c47", "c35"),
    [
        # vanishes with torch's init only; BN explodes
        (1e-20, 5e3, evidence.CAVEAT, evidence.CAVEAT),
        (1e-20, 2.0, evidence.CAVEAT, evidence.CAVEAT),  # BN fixes it: holds, a caveat at cpu scale
        (1e-20, 0.01, evidence.CAVEAT, evidence.FAILS),  # BN does not fix it
        (0.5, 2.0, evidence.FAILS, evidence.UNTESTABLE),  # nothing vanishes: nothing to fix
    ],
)
def test_resnet_depth_gradient_verdicts_follow_the_ratios(plain_torch, bn_torch, c47, c35):
    exp = registry.get("resnet_depth")
    config = dataclasses.replace(
        exp.configs["cpu"], depths=(20, 56), steps=400, n_train=10000, batch=32
    )
    table = _resnet_table(plain_torch, bn_torch)
    found = {c: s for c, s, _ in evidence.parse("\n".join(exp.verdicts(table, config, "cpu")))}
    # 3 seeds: plain nets degrade with depth and residual ones improve in the made-up
    # accuracies (over one epoch: 400 x 32 images of 10,000)
    assert found == {"C34a": evidence.CAVEAT, "C34c": evidence.CAVEAT, "C47": c47, "C35": c35}
    # the full scale decides as is: BN's flat fix holds
    at_full = {c: s for c, s, _ in evidence.parse("\n".join(exp.verdicts(table, config, "full")))}
    assert at_full["C34a"] == evidence.HOLDS
    if (plain_torch, bn_torch) == (1e-20, 2.0):
        assert at_full["C35"] == evidence.HOLDS


def test_resnet_depth_one_seed_or_one_epoch_decides_nothing():
    exp = registry.get("resnet_depth")
    config = dataclasses.replace(exp.configs["cpu"], depths=(20, 56))  # 300 x 32 < 10,000
    table = _resnet_table(1e-20, 2.0, seeds=(0,), steps=300)
    found = {c: s for c, s, _ in evidence.parse("\n".join(exp.verdicts(table, config, "cpu")))}
    assert found == {
        "C34a": evidence.INCONCLUSIVE,
        "C34c": evidence.UNTESTABLE,
        "C47": evidence.INCONCLUSIVE,
        "C35": evidence.INCONCLUSIVE,
    }


def test_at_scale_tempers_a_rule_verdict_by_scale():
    for verdict in evidence.VERDICTS:
        assert runner.at_scale(verdict, "smoke") == evidence.UNTESTABLE
        assert runner.at_scale(verdict, "full") == verdict
        expected = evidence.CAVEAT if verdict == evidence.HOLDS else verdict
        assert runner.at_scale(verdict, "cpu") == expected


def _small_table(final_drop: float, seeds=(0, 1, 2)):
    """A made-up resnet_depth_small table: plain nets degrade with depth, the deeper residual
    net ends lower; every run's training loss falls by ``final_drop`` after 80 % of it."""
    import pandas as pd

    rows = []
    for seed in seeds:
        for depth in (6, 30):
            for res in (False, True):
                err = 0.2 + (0.1 * (not res) - 0.05 * res) * (depth == 30) + 0.002 * seed
                for step in range(100, 1100, 100):
                    loss = 0.5 if step <= 800 else 0.5 * (1 - final_drop)
                    values = {"train_loss": loss, "train_acc": 1 - err, "test_acc": 1 - err - 0.01}
                    rows += [
                        {
                            "depth": depth,
                            "residual": res,
                            "seed": seed,
                            "step": step,
                            "metric": m,
                            "value": v,
                        }
                        for m, v in values.items()
                    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("final_drop", "c34c"), [(0.01, evidence.CAVEAT), (0.2, evidence.UNTESTABLE)]
)
def test_resnet_depth_small_decides_c34c_only_at_a_plateau(final_drop, c34c):
    exp = registry.get("resnet_depth_small")
    config = dataclasses.replace(exp.configs["cpu"], depths=(6, 30))
    lines = exp.verdicts(_small_table(final_drop), config, "cpu")
    found = {c: s for c, s, _ in evidence.parse("\n".join(lines))}
    assert found == {"C34a": evidence.CAVEAT, "C34c": c34c}
