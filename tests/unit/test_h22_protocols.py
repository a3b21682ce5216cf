"""Issue 22 item 4: the benchmarks' honest protocols (taxonomy choices on a development half, the duplicate scorer
leave-one-source-out beside in-source, load with signed-in shoppers, admin clicks repeated)."""

import json
import sys
from pathlib import Path

import numpy as np

from benchmarks import figure_rows, readme_figures, taxonomy_protocol
from recommend.ml.common.grouping import normalised_title

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
STAMP = {"meta.commit": "0" * 40, "meta.command": "python x.py", "meta.date": "2026-12-07T00:00:00Z"}


def test_the_taxonomy_halves_keep_near_copies_together_and_split_about_evenly():
    titles = [f"Product {i % 300} Blue" for i in range(900)] + ["product 7 blue!"]
    dev, report = taxonomy_protocol.split_indexes(titles)
    assert not {normalised_title(titles[i]) for i in dev} & {normalised_title(titles[i]) for i in report}
    assert 0.3 < len(dev) / len(titles) < 0.7


def test_counts_are_chosen_from_the_grid_on_development_labels_only():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 16))
    truth = np.repeat(np.arange(6), 40)
    vectors = centres[truth] + 0.05 * rng.normal(size=(240, 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    truths = [truth // 3, truth // 2, truth]
    counts, labels = taxonomy_protocol.dev_nmi_counts([vectors] * 3, truths, np.zeros(240, dtype=np.int64))
    assert counts[2] in taxonomy_protocol.COUNT_GRID[2] and counts[2] <= 240 // taxonomy_protocol.MIN_CLUSTER_SIZE
    assert counts[0] in taxonomy_protocol.COUNT_GRID[0] or counts[0] < min(taxonomy_protocol.COUNT_GRID[0])
    assert [len(level) for level in labels] == [240, 240, 240]


def write(directory, name, values):
    (directory / f"{name}.json").write_text(json.dumps({**STAMP, **values}))


def test_matching_headlines_the_default_scorer_left_out_of_its_source_and_marks_cosine_ahead(tmp_path):
    values = {}
    for dataset in ("pricerunner", "flipkart"):
        values |= {f"{dataset}.{m}.f1": f1 for m, f1 in [("zero_shot", 0.311), ("shipped", 0.675)]}
        values |= {f"{dataset}.cosine.f1": 0.457, f"{dataset}.trained_features.f1": 0.761}
    values |= {"pricerunner.zero_shot.vs_cosine.difference": -0.05, "pricerunner.zero_shot.vs_cosine.ci_low": -0.08}
    values["pricerunner.zero_shot.vs_cosine.ci_high"] = -0.02
    write(tmp_path, "matching", values)
    row = figure_rows.matching_row("pricerunner", "PriceRunner")(figure_rows.Results(tmp_path))
    assert "leave-one-source-out (trained without PriceRunner) 0.311" in row[1]
    assert "in-source" in row[1] and "95 % interval -8.0 to -2.0" in row[1]
    assert row[2].startswith("cosine 0.457 (ahead)")


def test_taxonomy_and_admin_rows_say_not_measured_for_a_run_under_the_old_protocol(tmp_path):
    write(tmp_path, "taxonomy", {"fashion.auto.level1.nmi": 0.5, "fashion.baseline.level1.nmi": 0.2})
    write(tmp_path, "admin", {"admin.move_category.seconds": 0.04, "admin.catalog_products": 10})
    block = readme_figures.render(tmp_path)
    assert "| taxonomy | not measured (no `fashion.report.selected.level1.nmi`" in block
    assert "| admin | not measured (no `admin.move_category.median_seconds`" in block


def test_load_sends_recommendations_as_signed_in_shoppers_and_bought_together_for_ordered_products():
    sys.path.insert(0, str(BENCHMARKS))
    import load

    script = load.lua_script([1, 2], "staff", shoppers=[("tok1", "v-" + "a" * 32)], bought_ids=[7, 8])
    assert '"Token " .. shopper_tokens[i]' in script and '"visitor=" .. shopper_visitors[i]' in script
    assert 'local shopper_tokens = {"tok1"}' in script and "local bought_ids = {7,8}" in script
    assert "return recommendations()" in script and "recs_model" in script


def test_admin_actions_are_timed_twenty_times_with_median_and_p95(monkeypatch):
    sys.path.insert(0, str(BENCHMARKS))
    import admin_actions

    monkeypatch.setattr(admin_actions, "last_job_id", lambda: 0)
    monkeypatch.setattr(admin_actions, "jobs_since", lambda job_id: [])
    monkeypatch.setattr(admin_actions, "admin_messages", lambda client: ["Done."])
    restored = []

    class Response:
        status_code = 302

    steps = ((lambda: Response(), lambda: restored.append(1)) for _ in range(30))
    values = admin_actions.repeated("click", steps, client=None)
    assert values["admin.click.repetitions"] == admin_actions.REPETITIONS == 20 == len(restored)
    median, p95 = values["admin.click.median_seconds"], values["admin.click.p95_seconds"]
    assert median <= p95 <= values["admin.click.max_seconds"]
    assert values["admin.click.statuses"] == "302" and values["admin.click.message"] == "Done."
