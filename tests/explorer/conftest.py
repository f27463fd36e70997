"""Fixtures of the explorer tests: an audited federation with real rounds, the real `flep explorer` server on it,
and Debian's Chromium driven headless by Playwright.

The federation is the one of tests/commands/conftest.py with what the pages need besides: metrics that report
an accuracy, three finalized rounds (the second excludes an update whose header names another round; the
second and third record DP), one dataset that is a real codec cipher image, a codec grant revoked, an HPKE key
registered and a fourth round aborted with a reason carrying HTML, a script and rich markup. Keys are 1024-bit
and models 40 values long so that it builds in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from clients.codec import CodecKey, encrypt
from clients.he import EncodingParams, KeyPair, UpdateContext, encoding_digest, encrypt_update, generate_keypair
from clients.he import public_key_to_bytes
from registry.chain import (
    ArtifactInput,
    CodecKeyPolicy,
    DpParameters,
    HpkeSuite,
    KeyKind,
    ModelRegistry,
    Role,
    connect,
)
from registry.config import PROJECT_ROOT
from registry.devnet import Devnet, DevnetInfo, dev_account
from registry.roles import Aggregator, FederationContext, KeyHolder
from registry.store import ArtifactStore

NUM_VALUES = 40
SAMPLES = 100
WEIGHT = 60
ENCODING = EncodingParams(clip_bound=1.0, value_bits=16, max_clients=10, max_weight=1024)
ACCURACY = (0.61, 0.74, 0.8)
DP = (DpParameters.none(), DpParameters.from_floats(3.0, 1e-5, 1.1, 1.0, "rdp"),
      DpParameters.from_floats(2.0, 1e-5, 1.3, 1.0, "rdp"))
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">[red]x[/red] & "q"'
CIPHER_SIDE = 32
SHOTS = PROJECT_ROOT / "out" / "explorer"


@dataclass(frozen=True)
class ExplorerFederation:
    """Who is who and what each round recorded."""

    registry_address: str
    federation_id: int
    admin: str
    owner: str
    analysts: tuple[str, ...]
    aggregator: str
    key_holder: str
    datasets: dict[str, int]
    cipher_dataset: int
    rounds: tuple[int, ...]
    excluded: int
    revoked_analyst: str
    aborted_round: int
    abort_reason: str
    metrics: dict[int, bytes]


@pytest.fixture(scope="module")
def registry(devnet: DevnetInfo) -> ModelRegistry:
    """A fresh registry for the module (its artifacts' bytes name it, so damaging one touches no other module)."""
    deployed, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    return deployed


@pytest.fixture(scope="module")
def store(devnet: DevnetInfo) -> ArtifactStore:
    return ArtifactStore(devnet.ipfs_api)


def _as_input(store: ArtifactStore, data: bytes) -> ArtifactInput:
    stored = store.put_bytes(data)
    return ArtifactInput(stored.cid, bytes.fromhex(stored.sha256), stored.size)


def _update(keys: KeyPair, context: UpdateContext, seed: int) -> bytes:
    values = np.random.default_rng(seed).uniform(-0.5, 0.5, NUM_VALUES)
    return encrypt_update(keys.public_key, values, WEIGHT, ENCODING, context, workers=1).to_bytes(keys.public_key)


@pytest.fixture(scope="module")
def federation(registry: ModelRegistry, store: ArtifactStore) -> ExplorerFederation:
    """The federation described in the module docstring, built on the real devnet."""
    keys = generate_keypair(1024)
    admin, owner, a1, a2, a3, aggregator, holder = (registry.as_account(dev_account(i)) for i in range(1, 8))
    analysts = (a1, a2, a3)
    fid = registry.create_federation(admin.account, 2, CodecKeyPolicy.PER_DATA_OWNER).value
    for role, party in [(Role.DATA_OWNER, owner), *((Role.ANALYST, a) for a in analysts),
                        (Role.AGGREGATOR, aggregator)]:
        admin.grant_role(fid, role, party.account)
    admin.start_key_epoch(fid, _as_input(store, public_key_to_bytes(keys.public_key)), encoding_digest(ENCODING))
    custody = _as_input(store, b"custody record of the key holder (no secret)")
    admin.grant_key(fid, KeyKind.PAILLIER_PRIVATE_KEY, holder.account, custody.cid, custody.sha256)
    image = np.random.default_rng(7).integers(0, 256, (CIPHER_SIDE, CIPHER_SIDE), dtype=np.uint8)
    datasets = {}
    for analyst in analysts:
        data = (encrypt(image, CodecKey.generate()) if analyst is a1
                else f"cipher sheet of {analyst.account} in {registry.address}".encode())
        dataset = _as_input(store, data)
        datasets[analyst.account] = owner.register_dataset(fid, dataset, SAMPLES).value
        owner.grant_key(fid, KeyKind.CODEC_KEY, analyst.account, dataset.cid,
                        hashlib.sha256(f"codec grant {fid} {analyst.account}".encode()).digest())

    def context(party: ModelRegistry) -> FederationContext:
        return FederationContext(party, store, fid)

    metrics_of: dict[int, bytes] = {}

    def run_round(bad_round_in_header: int | None, dp: DpParameters, accuracy: float) -> tuple[int, list[int]]:
        deadline = registry.w3.eth.get_block("latest")["timestamp"] + 3600
        round_ = admin.open_round(fid, deadline).value
        ids = []
        for i, analyst in enumerate(analysts):
            header_round = bad_round_in_header if bad_round_in_header and analyst is a3 else round_
            blob = _update(keys, UpdateContext(fid, header_round, 1, analyst.account), seed=round_ * 10 + i)
            ids.append(analyst.submit_update(fid, round_, _as_input(store, blob), WEIGHT,
                                             [datasets[analyst.account]]).value)
        Aggregator(context(aggregator), NUM_VALUES).aggregate_round(round_)
        key_holder = KeyHolder(context(holder), {1: keys.private_key}, NUM_VALUES)
        _, mean = key_holder.decrypt_round(round_, workers=1)
        model = _as_input(store, np.asarray(mean, dtype=np.float32).tobytes())
        # Unique bytes (the registry named), so a test may damage this block on the node's disk.
        metrics = json.dumps({"accuracy": accuracy, "round": round_, "registry": registry.address}).encode()
        parent = registry.federation(fid).model_version_count
        key_holder.finalize(round_, model, _as_input(store, metrics), dp, parent)
        metrics_of[parent + 1] = metrics
        return round_, ids

    rounds, excluded = [], 0
    for i, (dp, accuracy) in enumerate(zip(DP, ACCURACY)):
        round_, ids = run_round(99 if i == 1 else None, dp, accuracy)
        rounds.append(round_)
        excluded = ids[2] if i == 1 else excluded
    owner.revoke_key(fid, KeyKind.CODEC_KEY, a3.account, owner.account)
    a3.register_encryption_key(HpkeSuite.DHKEM_X25519, X25519PrivateKey.generate().public_key().public_bytes_raw())
    deadline = registry.w3.eth.get_block("latest")["timestamp"] + 3600
    aborted = admin.open_round(fid, deadline).value
    admin.abort_round(fid, aborted, HOSTILE)
    return ExplorerFederation(
        registry_address=registry.address, federation_id=fid, admin=admin.account, owner=owner.account,
        analysts=tuple(a.account for a in analysts), aggregator=aggregator.account, key_holder=holder.account,
        datasets=datasets, cipher_dataset=datasets[a1.account], rounds=tuple(rounds), excluded=excluded,
        revoked_analyst=a3.account, aborted_round=aborted, abort_reason=HOSTILE, metrics=metrics_of,
    )


@dataclass
class Explorer:
    """The running `flep explorer` process and the URL it printed."""

    process: subprocess.Popen[str]
    url: str
    banner: str


def _read_line(process: subprocess.Popen[str], deadline: float) -> str:
    """A line of the process's stdout, waiting until ``deadline`` (monotonic)."""
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            return process.stdout.readline()
        if process.poll() is not None:
            return ""
    return ""


@pytest.fixture(scope="module")
def explorer(devnet_manager: Devnet, federation: ExplorerFederation) -> Iterator[Explorer]:
    """`flep explorer --port 0 --federation F` against the session devnet and this module's registry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEP_")}
    env.update(FLEP_HOME=str(devnet_manager.home), FLEP_REGISTRY_ADDRESS=federation.registry_address,
               PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "explorer", "--port", "0", "--federation", str(federation.federation_id)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    banner = _read_line(process, deadline)
    try:
        assert "read-only: http://127.0.0.1:" in banner, (banner, process.stderr.read() if process.poll() else "")
        url = banner.rsplit(" ", 1)[1].strip()
        yield Explorer(process, url.split("/federation/")[0].rstrip("/"), banner)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def chromium_path() -> str:
    found = os.environ.get("FLEP_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("no Chromium: run scripts/ensure_chromium.sh (`make test` does), or set FLEP_CHROMIUM")
    return found


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium, headless, through Playwright (whose own browser download does not work offline)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture()
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh page that fails the test on any script error it logs."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, errors


@pytest.fixture(scope="session")
def screenshot():  # type: ignore[no-untyped-def]
    """``screenshot(page, name)``: save a full-page screenshot as out/explorer/NAME.png for people to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:  # type: ignore[no-untyped-def]
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return save


CUSTODIAN_PASSPHRASE = "explorer-custodians"
CUSTODIAN_ACCOUNTS = (40, 41, 42)
"""Development accounts of the threshold federation's custodians (funded by the fixture)."""


@dataclass(frozen=True)
class ThresholdFederation:
    """A second federation of the module's registry whose only key epoch is shared 2 of 3 custodians, and its
    one round, finalized from the partials of custodians 1 and 2.

    Attributes:
        federation_id: The federation.
        round: Its finalized round (model version 1).
        epoch: The shared key epoch.
        custodians: The three custodians' accounts, by index.
        member_keystore: Custodian 3's keystore (it posted nothing, but holds the epoch's model key).
        passphrase: The keystores' passphrase.
    """

    federation_id: int
    round: int
    epoch: int
    custodians: tuple[str, ...]
    member_keystore: Path
    passphrase: str


@pytest.fixture(scope="module")
def threshold_federation(registry: ModelRegistry, store: ArtifactStore,
                         tmp_path_factory: pytest.TempPathFactory) -> ThresholdFederation:
    """The federation of :class:`ThresholdFederation`, every party stepped in-process (the custodians as
    agents), with a logistic model's plan so that the combination can be re-checked against the model."""
    from registry.keystore import Keystore
    from registry.roles import publish_encryption_key, run_ceremony
    from registry.roles.agents import CustodianAgent
    from registry.roles.context import fund_accounts
    from registry.roles.plan import TrainingPlan, publish_plan

    directory = tmp_path_factory.mktemp("custodians")
    admin, owner, a1, a2, aggregator = (registry.as_account(dev_account(i)) for i in (1, 2, 3, 4, 6))
    fid = registry.create_federation(admin.account, 2, CodecKeyPolicy.PER_DATA_OWNER).value
    for role, party in [(Role.DATA_OWNER, owner), (Role.ANALYST, a1), (Role.ANALYST, a2),
                        (Role.AGGREGATOR, aggregator)]:
        admin.grant_role(fid, role, party.account)
    keystores = [Keystore.create(directory / f"custodian-{i + 1}", CUSTODIAN_PASSPHRASE,
                                 private_key=dev_account(n).key, scrypt_n=2**10)
                 for i, n in enumerate(CUSTODIAN_ACCOUNTS)]
    fund_accounts(registry.w3, dev_account(0), [k.address for k in keystores], 10**19)
    for keystore in keystores:
        publish_encryption_key(registry.as_account(keystore.account), keystore)

    def context(party: ModelRegistry) -> FederationContext:
        return FederationContext(party, store, fid)

    plan = TrainingPlan.sized("logistic", 3, ENCODING, local_epochs=1, lr=0.1)
    publish_plan(context(admin), plan)
    epoch = run_ceremony(context(admin), [k.address for k in keystores], 2, ENCODING, 1024).epoch
    public_key = context(admin).epoch_keys(epoch).public_key
    deadline = registry.w3.eth.get_block("latest")["timestamp"] + 3600
    round_ = admin.open_round(fid, deadline).value
    for i, analyst in enumerate((a1, a2)):
        data = f"threshold cipher sheet of {analyst.account} in {registry.address}".encode()
        dataset = _as_input(store, data)
        dataset_id = owner.register_dataset(fid, dataset, SAMPLES).value
        owner.grant_key(fid, KeyKind.CODEC_KEY, analyst.account, dataset.cid,
                        hashlib.sha256(f"codec grant {fid} {analyst.account}".encode()).digest())
        values = np.random.default_rng(100 + i).uniform(-0.05, 0.05, plan.num_values)
        blob = encrypt_update(public_key, values, WEIGHT, ENCODING, UpdateContext(fid, round_, epoch, analyst.account),
                              workers=1).to_bytes(public_key)
        analyst.submit_update(fid, round_, _as_input(store, blob), WEIGHT, [dataset_id])
    Aggregator(context(aggregator), plan.num_values).aggregate_round(round_)
    agents = [CustodianAgent(context(registry.as_account(k.account)), k, grace_seconds=0) for k in keystores[:2]]
    for agent in reversed(agents):  # custodian 2 posts first; custodian 1 posts and combines
        for _ in range(5):
            if agent.step() is None:
                break
    assert registry.federation(fid).model_version_count == 1
    return ThresholdFederation(fid, round_, epoch, tuple(k.address for k in keystores), directory / "custodian-3",
                               CUSTODIAN_PASSPHRASE)


@pytest.fixture(scope="module")
def member_explorer(devnet_manager: Devnet, federation: ExplorerFederation,
                    threshold_federation: ThresholdFederation) -> Iterator[Explorer]:
    """`flep explorer --keystore` with custodian 3's keystore, the passphrase in FLEP_PASSPHRASE."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEP_")}
    env.update(FLEP_HOME=str(devnet_manager.home), FLEP_REGISTRY_ADDRESS=federation.registry_address,
               FLEP_PASSPHRASE=threshold_federation.passphrase, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "explorer", "--port", "0", "--keystore",
         str(threshold_federation.member_keystore)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    banner = _read_line(process, deadline)
    try:
        assert "read-only: http://127.0.0.1:" in banner, (banner, process.stderr.read() if process.poll() else "")
        # The next lines were printed with the first, and may sit in the pipe's read buffer already (where
        # select does not see them): read them directly.
        banner += process.stdout.readline()
        url = banner.splitlines()[0].rsplit(" ", 1)[1].strip()
        yield Explorer(process, url.rstrip("/"), banner)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)
