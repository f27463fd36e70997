"""`flep federation | access | data` against a registry on the session devnet, each party with its keystore."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from clients.codec import CodecKey, decrypt, write_image
from clients.fl import load_digits_data, read_sheet, render_sheet
from registry.chain import KeyKind, ModelRegistry, connect
from registry.cli import app
from registry.devnet import dev_account
from registry.keystore import Keystore
from registry.roles import FederationContext, open_grant, publish_encryption_key
from registry.store import ArtifactStore

PASSPHRASE = "party-cli-test"


@pytest.fixture()
def setting(devnet, devnet_manager, tmp_path):
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    stores = {name: Keystore.create(tmp_path / name, PASSPHRASE, private_key=dev_account(i).key, scrypt_n=2**10)
              for name, i in (("admin", 0), ("owner", 1), ("analyst", 3))}
    publish_encryption_key(registry.as_account(stores["analyst"].account), stores["analyst"])
    env = {"FLEP_HOME": str(devnet_manager.home), "FLEP_REGISTRY_ADDRESS": registry.address,
           "FLEP_PASSPHRASE": PASSPHRASE}

    def flep(*args: str):
        return CliRunner().invoke(app, list(args), env=env)

    return registry, stores, flep, tmp_path


def test_federation_roles_and_a_dataset_through_the_cli(setting, devnet) -> None:
    registry, stores, flep, tmp_path = setting
    ks = {n: str(s.directory) for n, s in stores.items()}
    created = flep("federation", "create", "--keystore", ks["admin"], "--min-participants", "1", "--json")
    assert created.exit_code == 0, created.output
    fid = json.loads(created.output)["federation"]
    for role, who in (("data-owner", "owner"), ("analyst", "analyst")):
        granted = flep("access", "grant", "--keystore", ks["admin"], "--role", role, "--account",
                       stores[who].address, "--federation", str(fid), "--json")
        assert granted.exit_code == 0 and json.loads(granted.output)["changed"], granted.output
    again = flep("access", "grant", "--keystore", ks["admin"], "--role", "analyst", "--account",
                 stores["analyst"].address, "--federation", str(fid), "--json")
    assert json.loads(again.output)["changed"] is False  # idempotent

    sheet = render_sheet(load_digits_data().subset(np.arange(20)), columns=5)
    image = write_image(tmp_path / "sheet.png", sheet)
    uploaded = flep("data", "upload", str(image), "--keystore", ks["owner"], "--samples", "20",
                    "--grant-to", stores["analyst"].address, "--federation", str(fid), "--json")
    assert uploaded.exit_code == 0, uploaded.output
    dataset = json.loads(uploaded.output)
    assert dataset["granted_to"] == [stores["analyst"].address]
    assert registry.dataset(dataset["dataset"]).sample_count == 20

    # The analyst opens its sealed grant and decrypts exactly the sheet the owner uploaded.
    context = FederationContext(registry, ArtifactStore(devnet.ipfs_api), fid)
    key = CodecKey.from_json(open_grant(context, stores["analyst"], KeyKind.CODEC_KEY,
                                        key_owner=stores["owner"].address).decode())
    plain = decrypt(context.fetch_verified(registry.artifact(dataset["dataset"])), key)
    assert np.array_equal(plain, sheet) and len(read_sheet(plain)) == 20
    assert stores["owner"].has_secret(f"codec-key-dataset-{dataset['dataset']}")

    listed = json.loads(flep("access", "list", "--federation", str(fid), "--json").output)["access"]
    holds = {(row["account"], row["holds"]) for row in listed}
    assert (stores["analyst"].address, "role:analyst") in holds
    assert (stores["analyst"].address, f"codec_key of {stores['owner'].address}") in holds
    shown = json.loads(flep("federation", "show", "--federation", str(fid), "--json").output)
    assert shown["members"]["analyst"] == [stores["analyst"].address] and shown["min_participants"] == 1

    revoked = flep("access", "revoke", "--keystore", ks["owner"], "--key", "codec", "--account",
                   stores["analyst"].address, "--key-owner", stores["owner"].address, "--federation", str(fid),
                   "--json")
    assert revoked.exit_code == 0 and json.loads(revoked.output)["changed"], revoked.output
    listed = json.loads(flep("access", "list", "--federation", str(fid), "--json").output)["access"]
    assert all(not row["holds"].startswith("codec_key") for row in listed)


def test_refusals_are_one_clear_line(setting) -> None:
    registry, stores, flep, _ = setting
    ks = {n: str(s.directory) for n, s in stores.items()}
    unknown = flep("access", "grant", "--keystore", ks["admin"], "--role", "key-holder", "--account",
                   stores["analyst"].address)
    assert unknown.exit_code == 2 and "unknown role" in unknown.output
    both = flep("access", "revoke", "--keystore", ks["admin"], "--account", stores["analyst"].address)
    assert both.exit_code == 2 and "exactly one of --role or --key" in both.output
    # Only the registry operator may create federations: the owner's account is refused by the chain.
    refused = flep("federation", "create", "--keystore", ks["owner"])
    assert refused.exit_code != 0 and registry.federation_count() == 0


def test_round_open_and_status(setting, devnet) -> None:
    import hashlib

    from registry.chain import ArtifactInput

    registry, stores, flep, _ = setting
    ks = {n: str(s.directory) for n, s in stores.items()}
    fid = json.loads(flep("federation", "create", "--keystore", ks["admin"], "--json").output)["federation"]
    refused = flep("round", "open", "--keystore", ks["admin"], "--federation", str(fid))
    assert refused.exit_code == 1 and "no Paillier key epoch" in str(refused.exception)  # nothing to encrypt under
    admin = registry.as_account(stores["admin"].account)
    stored = ArtifactStore(devnet.ipfs_api).put_bytes(b"a public key")
    admin.start_key_epoch(fid, ArtifactInput(stored.cid, bytes.fromhex(stored.sha256), stored.size),
                          hashlib.sha256(b"encoding").digest())
    opened = flep("round", "open", "--keystore", ks["admin"], "--deadline-seconds", "120", "--federation", str(fid),
                  "--json")
    assert opened.exit_code == 0 and json.loads(opened.output)["round"] == 1, opened.output
    status = json.loads(flep("round", "status", "--federation", str(fid), "--json").output)
    assert (status["round"], status["status"], status["key_epoch"], status["updates"]) == (1, "open", 1, [])
    assert status["deadline"] > registry.w3.eth.get_block("latest")["timestamp"]


def test_custody_hand_over_through_the_cli(setting, devnet) -> None:
    from clients.he import EncodingParams
    from registry.roles.custody import take_custody
    from registry.roles.key_epochs import start_epoch_with_new_key

    registry, stores, flep, tmp_path = setting
    holder, successor = (Keystore.create(tmp_path / name, PASSPHRASE, private_key=dev_account(i).key,
                                         scrypt_n=2**10) for name, i in (("holder", 5), ("successor", 6)))
    publish_encryption_key(registry.as_account(successor.account), successor)
    fid = registry.create_federation(stores["admin"].address, 1).value
    admin = FederationContext(registry, ArtifactStore(devnet.ipfs_api), fid)
    start_epoch_with_new_key(admin, holder, EncodingParams(1.0, 16, 10, 1024), 1024)

    refused = flep("access", "hand-over", "--keystore", str(successor.directory), "--to", stores["analyst"].address,
                   "--federation", str(fid))
    assert refused.exit_code != 0 and "not a key holder" in str(refused.exception)
    handed = flep("access", "hand-over", "--keystore", str(holder.directory), "--to", successor.address,
                  "--federation", str(fid), "--json")
    assert handed.exit_code == 0, handed.output
    sealed = json.loads(handed.output)
    assert (sealed["epoch"], sealed["model_key_granted"]) == (1, False)  # no model key made yet: nothing to pass
    wrong = flep("access", "record-hand-over", "--keystore", str(stores["admin"].directory), "--account",
                 successor.address, "--cid", sealed["sealed_cid"], "--sha256", "ab" * 32, "--federation", str(fid))
    assert wrong.exit_code != 0 and "sha256" in str(wrong.exception).lower()
    assert not registry.is_key_holder(fid, successor.address)
    recorded = flep("access", "record-hand-over", "--keystore", str(stores["admin"].directory), "--account",
                    successor.address, "--cid", sealed["sealed_cid"], "--sha256", sealed["sealed_sha256"],
                    "--federation", str(fid), "--json")
    assert recorded.exit_code == 0 and json.loads(recorded.output)["changed"], recorded.output
    assert take_custody(admin.as_account(registry.as_account(successor.account)), successor) == 1
    assert successor.get_secret("paillier-epoch-1") == holder.get_secret("paillier-epoch-1")


def test_key_ceremony_through_the_cli(setting, devnet) -> None:
    from registry.roles import Custodian

    registry, stores, flep, tmp_path = setting
    custodians = [Keystore.create(tmp_path / f"custodian-{i}", PASSPHRASE, private_key=dev_account(i).key,
                                  scrypt_n=2**10) for i in (5, 6, 7)]
    for keystore in custodians[:2]:
        publish_encryption_key(registry.as_account(keystore.account), keystore)
    fid = registry.create_federation(stores["admin"].address, 1).value
    accounts = ",".join(k.address for k in custodians)
    base = ("keys", "ceremony", "--custodians", accounts, "--bits", "1024", "--federation", str(fid))

    # The third custodian registered no encryption key: refused before anything is dealt or recorded.
    unregistered = flep(*base, "--keystore", str(stores["admin"].directory), "--threshold", "2")
    assert unregistered.exit_code != 0 and "has registered no encryption key" in str(unregistered.exception)
    assert registry.federation(fid).key_epoch == 0
    publish_encryption_key(registry.as_account(custodians[2].account), custodians[2])
    too_high = flep(*base, "--keystore", str(stores["admin"].directory), "--threshold", "4")
    assert too_high.exit_code != 0 and "exceeds the 3 custodians" in too_high.output
    not_admin = flep(*base, "--keystore", str(stores["owner"].directory), "--threshold", "2")
    assert not_admin.exit_code != 0 and "lacks role FEDERATION_ADMIN" in str(not_admin.exception)

    dealt = flep(*base, "--keystore", str(stores["admin"].directory), "--threshold", "2", "--json")
    assert dealt.exit_code == 0, dealt.output
    record = json.loads(dealt.output)
    assert (record["epoch"], record["threshold"], record["custodians"]) == (1, 2, [k.address for k in custodians])
    custody = registry.epoch_custody(fid, 1)
    assert (custody.threshold, custody.custodian_count, custody.threshold_key_artifact) == (
        2, 3, record["threshold_key_artifact"])
    context = FederationContext(registry, ArtifactStore(devnet.ipfs_api), fid)
    held = [Custodian(context.as_account(registry.as_account(k.account)), k, 0).holding(1) for k in custodians]
    assert [h.index for h in held] == [1, 2, 3] and len({h.model_key for h in held}) == 1
    assert len({h.share.value for h in held}) == 3
    # Nothing secret stayed with the dealer: its keystore holds no secret at all.
    assert stores["admin"].secret_names() == []
