"""The chain of tests/conftest.py, as a process a test may kill and start again."""

from collections.abc import Iterator

import pytest

from dao_service.core.config import Settings
from dao_service.stack import chain_node
from dao_service.stack.process import ManagedProcess


@pytest.fixture
def anvil_node(stack_settings: Settings) -> Iterator[ManagedProcess]:
    node = chain_node.anvil_process(stack_settings)
    node.start()
    node.wait_ready(lambda: chain_node.chain_answers(stack_settings.chain_rpc_url) is not None, 30)
    yield node
    node.stop()


@pytest.fixture
def anvil_url(anvil_node: ManagedProcess, stack_settings: Settings) -> str:
    return stack_settings.chain_rpc_url  # tests/conftest.py's chain, killable here
