"""The scale benchmark (benchmarks/scale.py) in CI on 20,000 synthetic products: the whole road from the
synthetic catalogue through the HNSW build to both APIs under wrk holds, with no errors and a sane recall.

The 1M figures come from `benchmarks/scale.py` (default --products 1000000); this only proves the script and
the paths it measures work, in bounded time, and that it leaves no database behind. Needs wrk (.ci/run
installs it) and PostgreSQL on 127.0.0.1 (the benchmark makes and drops its own database).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "scale_smoke"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)"),
]


def database_exists(name):
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def test_a_short_scale_run_serves_both_paths_without_errors_and_drops_its_database(tmp_path):
    env = {
        **os.environ,
        "BENCH_RESULTS_DIR": str(tmp_path / "results"),
        # Below the 20,000 products, so the smoke run builds and queries an HNSW index as 1M does.
        "SIMILAR_EXACT_MAX_SIZE": "5000",
    }
    command = [sys.executable, "benchmarks/scale.py", "--products", "20000", "--db", DATABASE, "--seconds", "3",
               "--port", "8792", "--workdir", str(tmp_path / "work")]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    values = json.loads((tmp_path / "results" / "scale.json").read_text())
    for key in ("similar_p50_ms", "similar_p99_ms", "similar_rps", "search_p50_ms", "search_p99_ms", "search_rps",
                "rss_mb", "rss_peak_mb", "artifact_mb", "ann_p50_ms", "lexical_p50_ms", "build.index_s",
                "build.rows_copy_s", "build.tsvector_s", "db.recommend_similaritem_mb"):  # fmt: skip
        assert f"scale.{key}" in values, key
    assert values["scale.products"] == 20000
    assert values["scale.index_kind_hnsw"] == 1
    assert values["scale.similar_rows"] == 2 * 10 * 20000  # content and hybrid, 10 each
    assert values["scale.errors"] == 0
    assert values["scale.similar_requests"] > 0 and values["scale.search_requests"] > 0
    assert values["scale.recall_at_10"] >= 0.9
    assert not database_exists(DATABASE)
    assert not (tmp_path / "work").exists()
