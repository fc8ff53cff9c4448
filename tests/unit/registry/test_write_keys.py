"""Write keys in a real SQLite registry, and the command that manages them."""

from pathlib import Path

import pytest
from questlog_registry import keys
from questlog_registry.keys import DuplicateKey, Holder, UnknownKey, WriteKeys
from questlog_registry.store import Registry, open_engine
from questlog_settings import RegistrySettings


@pytest.fixture
def settings(tmp_path: Path) -> RegistrySettings:
    return RegistrySettings(registry={"database_url": f"sqlite:///{tmp_path / 'registry.db'}"})


@pytest.fixture
def write_keys(settings: RegistrySettings) -> WriteKeys:
    registry = Registry(open_engine(settings.registry.database_url))
    registry.migrate()
    return WriteKeys(registry)


def test_a_key_is_stored_as_its_digest_only(write_keys: WriteKeys, tmp_path: Path) -> None:
    key = write_keys.create(" game-server ")
    assert key.startswith("qlk_") and len(key) > 40
    assert write_keys.holder(key) == Holder("game-server", revoked=False)
    assert write_keys.holder(key + "x") is None
    write_keys.registry.engine.dispose()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("registry.db*"))
    assert b"game-server" in stored and key.encode() not in stored


def test_names_are_unique_and_revocation_sticks(write_keys: WriteKeys) -> None:
    key = write_keys.create("game-server")
    with pytest.raises(DuplicateKey, match="already exists"):
        write_keys.create("game-server")
    write_keys.revoke("game-server")
    write_keys.revoke("game-server")  # again: still revoked, at the first time
    assert write_keys.holder(key) == Holder("game-server", revoked=True)
    [listed] = write_keys.listing()
    assert listed["name"] == "game-server" and listed["revoked_at"]
    with pytest.raises(UnknownKey):
        write_keys.revoke("nobody")


def test_the_command_prints_a_new_key_alone_and_never_again(
    settings: RegistrySettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert keys.main(["create", "bench"], settings=settings) == 0
    created = capsys.readouterr()
    key = created.out.strip()
    assert created.out == f"{key}\n" and "shown only this once" in created.err
    assert keys.main(["create", "on-call", "--operator"], settings=settings) == 0
    assert capsys.readouterr().err.startswith("Operator key 'on-call'")
    assert keys.main(["list"], settings=settings) == 0
    bench, on_call = capsys.readouterr().out.splitlines()
    assert bench.startswith("bench ") and "active" in bench and key not in bench
    assert bench.split()[1] == "events" and on_call.split()[:2] == ["on-call", "operator"]
    assert keys.main(["revoke", "bench"], settings=settings) == 0
    assert keys.main(["revoke", "nobody"], settings=settings) == 1
    assert "no write key named 'nobody'" in capsys.readouterr().err
    assert keys.main(["list"], settings=settings) == 0
    assert "revoked 20" in capsys.readouterr().out


def test_the_command_says_which_database_it_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unusable = RegistrySettings(
        registry={"database_url": f"sqlite:///{tmp_path}"}
    )  # a folder, not a file
    assert keys.main(["list"], settings=unusable) == 1
    assert "the registry's database sqlite:///" in capsys.readouterr().err


def test_a_deployments_own_key_is_provisioned_rotated_and_stays_revoked(
    write_keys: WriteKeys,
) -> None:
    write_keys.provision("cluster", "qlk_first")
    write_keys.provision("cluster", "qlk_first")  # every replica, every start: no change
    assert write_keys.holder("qlk_first") == Holder("cluster", revoked=False)
    write_keys.revoke("cluster")
    write_keys.provision("cluster", "qlk_first")
    assert write_keys.holder("qlk_first") == Holder("cluster", revoked=True)
    write_keys.provision("cluster", "qlk_second")  # the secret was rotated
    assert write_keys.holder("qlk_first") is None
    assert write_keys.holder("qlk_second") == Holder("cluster", revoked=False)
    assert [key["name"] for key in write_keys.listing()] == ["cluster"]
