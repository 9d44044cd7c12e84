"""`datadao index rebuild`: the dedup index re-derived from stored contributions, which
are decrypted in memory through custody; an index of an old format is refused until then."""

from pathlib import Path

from sqlalchemy import text

from dao_service.core.config import Settings
from dao_service.models import Stage
from dao_service.stack.sample_exports import (
    reddit_export,
    reddit_files,
    reddit_spec,
    with_checkfile,
    zip_files,
)
from dao_service.storage.database import make_engine
from tests.utils.processes import run_cli, unwrapped
from tests.utils.stored import store
from tests.validators.conftest import CHAIN_ID, OTHER_WALLET, REGISTRY, WALLET
from validators import FORMAT_VERSION, DedupIndex, ValidationContext, validate_export

MARKER = "quokka nebula saxophone umbrella"


def test_rebuild_rederives_records_and_bindings_from_stored_contributions(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = reddit_spec(seed=1, comments=30)
    first.comments[0]["body"] = f"a comment about a {MARKER} with enough words in it"
    first_export = zip_files(with_checkfile(reddit_files(first)))
    second_export = reddit_export(reddit_spec(seed=2, comments=20, account="bob_redditor"))
    store(settings, first_export, WALLET, Stage.MINTED)
    store(settings, second_export, OTHER_WALLET, Stage.STORED)
    store(settings, reddit_export(reddit_spec(seed=3)), WALLET, Stage.REJECTED)  # not indexed

    # What intake would have indexed, contribution by contribution.
    expected = DedupIndex(":memory:")
    for data, wallet in ((first_export, WALLET), (second_export, OTHER_WALLET)):
        context = ValidationContext(wallet=wallet, chain_id=CHAIN_ID, registry=REGISTRY)
        validation = validate_export(data, context, expected)
        assert validation.report.accepted
        validation.commit(expected)

    engine = make_engine(settings.database_url)  # the service's index, of an older format
    with engine.begin() as db:
        db.execute(text("INSERT INTO dedup_meta VALUES ('format_version', '2'), ('sketch', 'x')"))
    export = tmp_path / "again.zip"
    export.write_bytes(first_export)
    check = ["validate", str(export), "--wallet", WALLET, "--chain-id", str(CHAIN_ID),
             "--registry", REGISTRY, "--data-dir", str(tmp_path)]  # fmt: skip
    refused = run_cli(*check)
    assert refused.returncode == 1 and "datadao index rebuild" in unwrapped(refused.stderr)
    assert "Traceback" not in refused.stderr

    result = run_cli("index", "rebuild", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    rebuilt = unwrapped(result.stdout)
    assert f"format {FORMAT_VERSION}" in rebuilt and "2 contributions" in rebuilt

    rebuilt = DedupIndex(engine)
    assert rebuilt.record_count() == expected.record_count() > 40
    assert rebuilt.bound_wallet("reddit", "alice_redditor") == WALLET
    assert rebuilt.bound_wallet("reddit", "bob_redditor") == OTHER_WALLET
    rebuilt.close()
    engine.dispose()
    again = run_cli(*check, "--json")
    assert again.returncode == 1 and '"new_records": 0' in again.stdout  # the index knows it
    for path in tmp_path.rglob("*"):  # plaintext never reached the disk
        if path.is_file() and path != export:
            assert MARKER.encode() not in path.read_bytes(), path
