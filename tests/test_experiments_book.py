"""The helpers the experiments chapter shows results with (``experiments/book.py``): the
run it picks, the provenance it prints, the tables it reads back, and what it says when
results are missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments import book

PROVENANCE = {
    "experiment": "toy",
    "device": "cpu",
    "device_name": "Some CPU",
    "torch_version": "2.0",
    "cuda_version": None,
    "git_commit": "0123456789abcdef",
    "git_dirty": False,
    "date_utc": "2026-01-02T03:04:05+00:00",
    "seeds": [0, 1, 2],
    "wall_time_s": 12.4,
    "status": "complete",
}


def write_run(results: Path, scale: str, folder: str | None = None, **extra) -> Path:
    path = results / "toy" / (folder or scale)
    path.mkdir(parents=True, exist_ok=True)
    record = PROVENANCE | {"scale": scale} | extra
    (path / "provenance.json").write_text(json.dumps(record), encoding="utf-8")
    return path


def test_run_dir_prefers_full_then_cpu_then_smoke(tmp_path):
    assert book.run_dir("toy", tmp_path) is None
    write_run(tmp_path, "smoke")
    assert book.run_dir("toy", tmp_path).name == "smoke"
    write_run(tmp_path, "cpu")
    assert book.run_dir("toy", tmp_path).name == "cpu"
    (tmp_path / "toy" / "full").mkdir()  # a folder without provenance.json does not count
    assert book.run_dir("toy", tmp_path).name == "cpu"
    write_run(tmp_path, "full", folder="full_cpu")  # not a scale's folder: not looked at
    assert book.run_dir("toy", tmp_path).name == "cpu"
    write_run(tmp_path, "full")
    assert book.run_dir("toy", tmp_path).name == "full"
    assert book.SCALES == ("full", "cpu", "smoke")  # the runner's scales, best first


def test_run_dir_picks_the_committed_runs_the_chapter_describes():
    assert book.run_dir("mnist1d_table").name == "full"
    assert book.run_dir("resnet_depth").name == "cpu"
    assert book.run_dir("layer_speed").name == "full"
    assert book.run_dir("no_such_experiment") is None


def test_provenance_reads_a_committed_record():
    text = book.provenance(book.run_dir("layer_speed"))
    source, reproduce = text.splitlines()
    assert source.startswith("Source: experiments/results/layer_speed/full/ (full scale); ")
    assert "seeds [0]" in source and source.endswith(" s.")
    assert reproduce == "Reproduce: python -m experiments layer_speed --scale full --device cpu"


def test_provenance_of_a_run_outside_its_default_folder_names_the_folder(tmp_path):
    path = write_run(tmp_path, "full", folder="elsewhere")
    reproduce = book.provenance(path).splitlines()[1]
    assert reproduce.endswith("--out experiments/results/toy/elsewhere")


def test_provenance_of_a_partial_run_says_so(tmp_path):
    path = write_run(tmp_path, "cpu", status="partial", git_dirty=True)
    text = book.provenance(path)
    assert "(cpu scale, status partial)" in text
    assert "commit 0123456789 with uncommitted changes; 2026-01-02; seeds [0, 1, 2]" in text
    assert text.endswith("--scale cpu --device cpu")


def test_missing_results_give_a_clear_error(tmp_path, capsys):
    empty = tmp_path / "toy" / "cpu"
    empty.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no provenance\.json in .*toy/cpu.*--scale cpu"):
        book.provenance(empty)
    assert book.show("toy", tmp_path) is None
    assert capsys.readouterr().out == "toy: no committed results yet\n"


def test_show_prints_provenance_scale_note_and_indented_verdicts(tmp_path, capsys):
    path = write_run(tmp_path, "smoke", rejudged={"date_utc": "2026-02-03T00:00:00+00:00"})
    (path / "verdicts.txt").write_text("C01 holds: counted\n", encoding="utf-8")
    assert book.show("toy", tmp_path) == path
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Source: experiments/results/toy/smoke/ (smoke scale); Some CPU")
    assert lines[2].startswith("Smoke run: these numbers exercise the code")
    assert lines[3:] == [
        "",
        "Verdicts computed by the run, re-judged from its table on 2026-02-03:",
        "  C01 holds: counted",
    ]


def test_markdown_table_reads_the_committed_mnist1d_table():
    table = book.markdown_table(book.run_dir("mnist1d_table") / "table.md")
    assert table.index.name == "model"
    columns = ["parameters", "test acc.", "published", "shuffled", "published (shuffled)"]
    assert list(table.columns) == columns
    assert table.loc["cnn", "published"] == "94 %"
    assert table.loc["logistic", "parameters"] == "410"
    assert all(isinstance(v, str) for v in table.to_numpy().ravel())


def test_markdown_table_refuses_text_without_a_table(tmp_path):
    path = tmp_path / "table.md"
    path.write_text("no table here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no Markdown pipe table"):
        book.markdown_table(path)
    path.write_text("| a | b |\n|---|---|\n| 1 |\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs 2 cells"):
        book.markdown_table(path)
