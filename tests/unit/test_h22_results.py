"""Issue 22: one benchmark run writes one stamped results file (nothing merged), and the README's figures are
rendered from the results files, with the strongest baseline beside each headline and a check that fails on any
difference or on an unstamped file."""

import json
import re

from benchmarks import common, readme_figures

STAMP = {"meta.commit": "unknown (before run stamping)", "meta.command": "unknown", "meta.date": "2026-12-01T00:00:00Z"}


def read(path):
    return json.loads(path.read_text())


def test_one_run_writes_one_file_stamped_with_its_commit_command_machine_load_and_time(tmp_path):
    path = common.write_results("bench", {"x.score": 0.5}, "A benchmark", directory=tmp_path)

    assert path == tmp_path / "bench.json"
    values = read(path)
    for key in common.META_KEYS:
        assert key in values, key
    assert values["x.score"] == 0.5
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", values["meta.commit"])
    assert values["meta.command"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", values["meta.date"])
    assert "cores" in values["meta.machine"]
    assert len(values["meta.load_avg_start"]) == len(values["meta.load_avg_end"]) == 3
    assert values["meta.wall_seconds"] >= 0
    assert values["meta.quick"] is False
    assert (tmp_path / "bench.md").read_text().startswith("# A benchmark")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "bench.md"]


def test_a_second_run_replaces_the_first_and_keeps_none_of_its_keys(tmp_path):
    common.write_results("bench", {"a.one": 1.0, "b.two": 2.0}, "first run", directory=tmp_path)
    common.write_results("bench", {"a.one": 3.0}, "second run", directory=tmp_path)

    values = read(tmp_path / "bench.json")
    assert values["a.one"] == 3.0
    assert "b.two" not in values


def test_partial_and_quick_runs_write_their_own_files_and_leave_the_full_run_alone(tmp_path):
    common.write_results("bench", {"a.one": 1.0, "api.rps": 10.0}, "full", directory=tmp_path)
    common.write_results("bench", {"api.rps": 99.0}, "api only", part="api", directory=tmp_path)
    common.write_results("bench", {"a.one": 0.1}, "smoke", quick=True, directory=tmp_path)

    assert read(tmp_path / "bench.json")["api.rps"] == 10.0
    assert read(tmp_path / "bench.api.json")["meta.part"] == "api"
    assert "a.one" not in read(tmp_path / "bench.api.json")
    assert read(tmp_path / "bench.quick.json")["meta.quick"] is True


def groceries(blend, recent):
    return {
        **STAMP,
        "groceries.blend.hit_at_10": blend,
        "groceries.graph.hit_at_10": 0.4072,
        "groceries.popularity.hit_at_10": 0.3951,
        "groceries.recent_popularity.hit_at_10": recent,
        "groceries.rules.hit_at_10": 0.3629,
    }


def write_results_dir(tmp_path, **files):
    results = tmp_path / "results"
    results.mkdir()
    for name, values in files.items():
        (results / f"{name}.json").write_text(json.dumps(values))
    return results


def test_rendering_puts_the_strongest_baseline_beside_the_headline_and_says_when_it_wins(tmp_path):
    results = write_results_dir(tmp_path, bought_together=groceries(0.4079, 0.4096))

    block = readme_figures.render(results)

    row = next(line for line in block.splitlines() if "Groceries" in line)
    assert "blend 0.4079" in row
    assert "recency-weighted popularity 0.4096 (ahead)" in row
    assert "`bought_together.json` (2026-12-01, commit unknown)" in row
    # Rows whose results files are absent say so instead of showing a figure.
    assert "not measured (no classification.json)" in block


def test_a_baseline_behind_the_headline_is_not_marked_ahead(tmp_path):
    results = write_results_dir(tmp_path, bought_together=groceries(0.42, 0.4096))

    row = next(line for line in readme_figures.render(results).splitlines() if "Groceries" in line)
    assert "recency-weighted popularity 0.4096;" in row
    assert "(ahead)" not in row


def test_check_passes_on_a_rendered_readme_and_fails_with_a_diff_when_a_figure_is_edited(tmp_path, capsys):
    results = write_results_dir(tmp_path, bought_together=groceries(0.4079, 0.4096))
    readme = tmp_path / "README.md"
    readme.write_text(f"# Shop\n\nintro\n\n{readme_figures.START}\nold table\n{readme_figures.END}\n\nmore text\n")
    args = ["--results", str(results), "--readme", str(readme)]

    assert readme_figures.main(args) == 0
    text = readme.read_text()
    assert text.startswith("# Shop\n\nintro\n\n") and text.endswith("\n\nmore text\n")
    assert readme_figures.main([*args, "--check"]) == 0

    readme.write_text(text.replace("blend 0.4079", "blend 0.4100"))
    capsys.readouterr()
    assert readme_figures.main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert "-| bought together, Groceries" in out and "+| bought together, Groceries" in out


def test_check_fails_when_a_results_file_lacks_its_run_stamp(tmp_path, capsys):
    unstamped = {key: value for key, value in groceries(0.4079, 0.4096).items() if key != "meta.commit"}
    results = write_results_dir(tmp_path, bought_together=unstamped, duplicate_scorer={"threshold": 0.4})
    readme = tmp_path / "README.md"
    readme.write_text(f"{readme_figures.START}\n{readme_figures.END}\n")
    args = ["--results", str(results), "--readme", str(readme)]
    readme_figures.main(args)

    assert readme_figures.main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert "bought_together.json: no meta.commit" in err
    assert "duplicate_scorer" not in err  # a scorer artifact, not a run's results


def test_the_repository_readme_matches_its_results_files():
    assert readme_figures.main(["--check"]) == 0
