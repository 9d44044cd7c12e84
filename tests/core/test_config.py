"""The production profile refuses what only the local stack may use."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dao_service.core.config import PLATFORM_URL_SETTINGS, Settings
from dao_service.exceptions import ConfigurationError
from dao_service.runtime import open_runtime
from dao_service.stack.platform_standin import stand_in_env


@pytest.mark.parametrize("name", PLATFORM_URL_SETTINGS)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8090",
        "http://localhost:8090/api",
        "http://[::1]:9000",
        "http://0.0.0.0:8090",
        "http://10.1.2.3:8090",  # the stand-in's address when the stack's host is this
        # Forms an attacker's review found passing: a trailing dot, IPv4-mapped IPv6,
        # the resolver's short and numeric IPv4.
        "http://localhost.:8090",
        "http://[::ffff:127.0.0.1]:8090",
        "http://127.1:8090",
        "http://2130706433:8090",
    ],
)
def test_production_refuses_a_platform_url_at_the_stand_in(
    tmp_path: Path, name: str, url: str
) -> None:
    settings = Settings(data_dir=tmp_path, profile="production", host="10.1.2.3")
    setattr(settings, name, url)
    with pytest.raises(ConfigurationError) as refused:
        settings.check_profile()
    assert f"DATADAO_{name.upper()}" in refused.value.user_message
    assert "production" in refused.value.user_message


def test_production_takes_the_real_platforms_and_local_takes_the_stand_in(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path, profile="production").check_profile()
    Settings(data_dir=tmp_path, reddit_api_url="http://127.0.0.1:8090").check_profile()


def test_the_runtime_refuses_before_opening_anything(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, profile="production", x_api_url="http://localhost:8090")
    with pytest.raises(ConfigurationError, match="DATADAO_X_API_URL"), open_runtime(settings):
        pass
    assert not (tmp_path / "datadao.sqlite3").exists()


def test_a_worker_process_says_so_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **stand_in_env("http://127.0.0.1:8090"),
        "DATADAO_DATA_DIR": str(tmp_path),
        "DATADAO_PROFILE": "production",
    }
    done = subprocess.run(
        [sys.executable, "-m", "dao_service.worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "DATADAO_REDDIT_API_URL=http://127.0.0.1:8090" in done.stderr


def test_production_refuses_to_bind_accounts_without_proof(tmp_path: Path) -> None:
    lenient = Settings(data_dir=tmp_path, profile="production", require_ownership_proof=False)
    with pytest.raises(ConfigurationError) as refused:
        lenient.check_profile()
    assert "DATADAO_REQUIRE_OWNERSHIP_PROOF" in refused.value.user_message
    Settings(data_dir=tmp_path, require_ownership_proof=False).check_profile()  # local: allowed
