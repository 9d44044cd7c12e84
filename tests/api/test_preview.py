"""POST /api/contributions/preview: the first records as renters will see them, for
anyone who seals an export; bounded in size and in how many run at once."""

import base64

import pytest
from fastapi.testclient import TestClient

from dao_service.chain.dev_accounts import dev_account
from dao_service.client.contribute import export_data, seal_export
from dao_service.core.config import Settings, get_settings
from dao_service.main import create_app
from dao_service.stack.sample_exports import SECRETS, reddit_full_export, reddit_spec
from validators.selection import published

ALICE = dev_account(2)


def preview(api: TestClient, plaintext: bytes) -> object:
    sealed = seal_export(plaintext, api.get("/api/config").json()["intake_public_key"])
    return api.post(
        "/api/contributions/preview",
        data={
            "contributor": ALICE.address,
            "wrapped_key": base64.b64encode(sealed.wrapped_key).decode(),
            "iv": base64.b64encode(sealed.iv).decode(),
        },
        files={"ciphertext": ("export.bin", sealed.ciphertext)},
    )


def test_the_preview_shows_refined_records_and_refuses_private_files(api: TestClient) -> None:
    spec = reddit_spec(seed=81, account="previewed_81")
    upload = export_data(reddit_full_export(spec), published()).plaintext
    answer = preview(api, upload)
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert body["record_schema"].startswith("datadao-records/1 sha256:")
    assert 0 < len(body["records"]) <= 10
    shown = str(body)
    for secret in [*SECRETS.private_values(), *SECRETS.public_values(), spec.account]:
        assert secret not in shown, secret
    whole = preview(api, reddit_full_export(spec))  # a client that skipped the selection
    assert whole.status_code == 422  # type: ignore[attr-defined]
    assert "The upload carries account_gender.csv" in whole.text  # type: ignore[attr-defined]


@pytest.fixture
def small_previews(service_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("DATADAO_PREVIEW_MAX_BYTES", "4096")
    get_settings.cache_clear()
    return TestClient(create_app())


def test_a_preview_is_bounded_in_size_and_in_how_many_run_at_once(
    small_previews: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = export_data(reddit_full_export(reddit_spec(seed=82)), published()).plaintext
    with small_previews as api:
        assert api.get("/api/config").json()["preview_max_bytes"] == 4096
        large = preview(api, upload)
        assert large.status_code == 413  # type: ignore[attr-defined]
        assert "at most 4,096 bytes" in large.text  # type: ignore[attr-defined]
        monkeypatch.setattr(api.app.state.intake, "_previews", _Taken())  # type: ignore[attr-defined]
        busy = preview(api, b'[{"text": "a short public note about gardens"}]')
        assert busy.status_code == 503  # type: ignore[attr-defined]
    get_settings.cache_clear()


class _Taken:
    """A semaphore every slot of which is in use."""

    def acquire(self, blocking: bool = True) -> bool:
        return False

    def release(self) -> None:
        raise AssertionError("released a slot it never took")
