"""Deploy settings: a production-like environment passes `check --deploy` at WARNING; DEBUG=0 without a
SECRET_KEY refuses to start; HTTPS settings and the proxy header come from the environment; the CSP header
is sent; Swagger UI is served locally; setup_demo leaves existing users alone; unverifiable artifacts refuse."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from recommend.core.registry import (
    ArtifactChecksumError,
    artifact_local_path,
    model_version_create,
    model_version_save_artifact,
)
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
BASE_ENV = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}


def production_env(tmp_path, **extra):
    return {
        **BASE_ENV,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "shop.example.com",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "BEHIND_TLS_PROXY": "1",
        "VAR_DIR": str(tmp_path / "var"),
        **extra,
    }


def python(code, env):
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)


def settings_values(env, *expressions):
    """str() of each expression under `env`, from one fresh process (Django starts once)."""
    prints = "; ".join(f"print({expression})" for expression in expressions)
    code = f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup(); from django.conf import settings; {prints}"  # noqa: E501
    result = python(code, env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_check_deploy_passes_under_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(tmp_path), cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_mode_with_debug_off_and_no_secret_key_refuses_to_start(tmp_path):
    result = python("import config.settings", {**BASE_ENV, "DEBUG": "0", "VAR_DIR": str(tmp_path / "var")})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_the_integration_test_environment_still_starts(tmp_path):
    env = {
        **BASE_ENV,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "SECRET_KEY": "integration-tests-only",
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
    }
    health_checks, cache_options, torch_loaded = settings_values(
        env,
        "settings.DATABASES['default']['CONN_HEALTH_CHECKS']",
        "settings.CACHES['default']['OPTIONS']",
        "'torch' in __import__('sys').modules",
    )
    assert health_checks == "True" and "IGNORE_EXCEPTIONS': True" in cache_options
    assert torch_loaded == "False"  # starting Django (migrate, beat, check) does not pay for torch


def test_the_proxy_header_is_trusted_only_when_the_environment_says_a_proxy_is_in_front(tmp_path):
    without = production_env(tmp_path)
    del without["BEHIND_TLS_PROXY"]

    header, https = settings_values(
        without, "settings.SECURE_PROXY_SSL_HEADER", "(settings.SECURE_HSTS_SECONDS, settings.SECURE_SSL_REDIRECT)"
    )
    (behind_proxy,) = settings_values(production_env(tmp_path), "settings.SECURE_PROXY_SSL_HEADER")

    assert header == "None" and https == "(31536000, True)"
    assert "HTTP_X_FORWARDED_PROTO" in behind_proxy


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy(client):
    policy = client.get("/")["Content-Security-Policy"]

    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.django_db
def test_swagger_ui_loads_its_files_from_this_site(client):
    page = client.get("/api/docs/").content.decode()

    assert "cdn" not in page.lower() and "/static/drf_spectacular_sidecar/" in page
    assert client.get("/api/docs/?script=").status_code == 200  # the start-up script, as a file


@pytest.mark.django_db
def test_setup_demo_leaves_an_existing_user_as_it_is_without_reset():
    from recommend.management.commands.setup_demo import Command

    user = UserFactory(username="admin", is_staff=False, is_superuser=False)
    user.set_password("kept-secret-1")
    user.save()

    Command().ensure_staff("admin", reset=False)
    user.refresh_from_db()
    assert not user.is_superuser and not user.is_staff and user.check_password("kept-secret-1")

    Command().ensure_staff("admin", reset=True)
    user.refresh_from_db()
    assert user.is_superuser and not user.check_password("kept-secret-1")


@pytest.mark.django_db
def test_an_artifact_with_an_empty_checksum_refuses_to_load(tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"weights")
    version = model_version_save_artifact(version=model_version_create(kind="classifier"), local_path=source)
    version.artifact_checksum = ""

    with pytest.raises(ArtifactChecksumError, match="no recorded checksum"):
        artifact_local_path(version=version)


@pytest.mark.django_db
@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_activation_refuses_a_missing_or_corrupt_artifact_and_the_active_version_keeps_serving(tmp_path, damage):
    from recommend.core.registry import (
        ArtifactUnusable,
        active_version_id,
        artifact_storage,
        model_version_activate,
        model_version_mark,
    )

    def ready_version(content):
        source = tmp_path / f"{content}.bin"
        source.write_bytes(content.encode())
        version = model_version_save_artifact(version=model_version_create(kind="classifier"), local_path=source)
        return model_version_mark(version=version, status="ready")

    serving = model_version_activate(version=ready_version("good"))
    broken = ready_version("new")
    if damage == "missing":
        artifact_storage().delete(broken.artifact_path)
    else:
        with artifact_storage().open(broken.artifact_path, "wb") as handle:
            handle.write(b"tampered")

    with pytest.raises(ArtifactUnusable, match="cannot be activated"):
        model_version_activate(version=broken)

    serving.refresh_from_db()
    assert serving.status == "active" and active_version_id("classifier") == serving.pk
