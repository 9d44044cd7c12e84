"""While the chain is down the service answers 503 with Retry-After (it answered 500), and
it takes uploads again, by itself, once the chain is back."""

from fastapi.testclient import TestClient

from dao_service.chain.dev_accounts import dev_account
from dao_service.core.config import Settings, get_settings
from dao_service.main import create_app
from dao_service.stack.chain_node import chain_answers
from dao_service.stack.process import ManagedProcess
from dao_service.stack.sample_exports import reddit_export, reddit_spec
from tests.api.conftest import wait_for_stage
from tests.utils.chain import Dao
from tests.utils.participants import contribute

ALICE = dev_account(2)


def test_chain_down_is_a_503_with_retry_after_and_the_service_recovers(
    service_settings: Settings, dao: Dao, anvil_node: ManagedProcess
) -> None:
    with TestClient(create_app(), raise_server_exceptions=False) as api:
        first = contribute(api, ALICE, reddit_export(reddit_spec(seed=1, account="a1")))
        assert first.status_code == 200, first.text
        wait_for_stage(api, first.json()["id"], "minted")
        anvil_node.stop()

        export = reddit_export(reddit_spec(seed=2, account="a2"))
        refused = contribute(api, ALICE, export)
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json()["detail"] == "The chain does not answer; try again shortly."
        # What needs no chain still answers.
        assert api.get(f"/api/contributions/{first.json()['id']}").status_code == 200
        assert api.get("/api/config").status_code == 200

        anvil_node.start()
        anvil_node.wait_ready(lambda: chain_answers(service_settings.chain_rpc_url) is not None, 30)
        second = contribute(api, ALICE, export)
        assert second.status_code == 200, second.text
        wait_for_stage(api, second.json()["id"], "minted")
    get_settings.cache_clear()
