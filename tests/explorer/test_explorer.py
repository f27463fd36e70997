"""The audit explorer in a real browser (Debian's Chromium through Playwright) against the real `flep explorer`
server on the session devnet (see conftest): every page renders what the auditor reads from the chain, untrusted
strings stay text, the verify buttons run the auditor's checks and a badge turns red once a stored artifact is
damaged on the IPFS node's disk. A screenshot of each page lands in out/explorer/.

The tests share one federation and one server and run in file order: the damage and Ctrl-C tests come last.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from registry.chain import ArtifactKind, ModelRegistry
from registry.cli import app
from registry.config import PROJECT_ROOT, ConfigError
from registry.explorer import ExplorerData, bind
from registry.explorer.graph import short
from registry.keystore.errors import WrongPassphraseError
from registry.roles import Auditor, FederationContext, Lineage
from registry.store import ArtifactStore

SHOTS = PROJECT_ROOT / "out" / "explorer"
RED = "rgb(198, 40, 40)"  # --bad in explorer.css
TIMINGS: dict[str, float] = {}


def _auditor(registry: ModelRegistry, store: ArtifactStore, federation) -> Auditor:  # type: ignore[no-untyped-def]
    return Auditor(FederationContext(registry, store, federation.federation_id))


def _timed_goto(page, url: str) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = page.goto(url)
    elapsed = time.perf_counter() - started
    assert response is not None and response.status == 200, (url, response and response.status)
    return elapsed


def test_only_the_loopback_host_is_served() -> None:
    for host in ("0.0.0.0", "localhost", "::1", "192.168.1.10"):
        with pytest.raises(ConfigError, match="listens on 127.0.0.1 only"):
            bind(host, 0)
    result = CliRunner().invoke(app, ["explorer", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 1 and isinstance(result.exception, ConfigError)
    assert "127.0.0.1 only" in str(result.exception)
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_the_server_prints_its_url_and_refuses_foreign_host_names(explorer, federation) -> None:
    assert explorer.url.startswith("http://127.0.0.1:")
    assert explorer.banner.rstrip().endswith(f"/federation/{federation.federation_id}")
    port = explorer.url.rsplit(":", 1)[1]
    # DNS rebinding: a page of another site that resolves its name to 127.0.0.1 is refused.
    assert requests.get(explorer.url + "/", headers={"Host": f"evil.example:{port}"}, timeout=10).status_code == 400
    ok = requests.get(explorer.url + "/", timeout=30)
    assert ok.status_code == 200 and "script-src 'self'" in ok.headers["Content-Security-Policy"]
    assert requests.get(explorer.url + "/federation/999", timeout=30).status_code == 404


def test_federations_page_lists_the_federation(explorer, federation, registry, page, screenshot) -> None:
    page.goto(explorer.url + "/")
    rows = page.locator('[data-testid="federation-row"]')
    assert rows.count() == registry.federation_count()
    row = rows.filter(has_text=f"federation {federation.federation_id}")
    assert row.count() == 1 and "3" in row.inner_text()
    screenshot(page, "index")


def test_federation_page_charts_accuracy_per_version(explorer, federation, page, screenshot) -> None:
    page.goto(f"{explorer.url}/federation/{federation.federation_id}")
    chart = page.locator('[data-testid="accuracy-chart"]')
    points = chart.locator('[data-testid="chart-point"]')
    assert chart.get_attribute("data-points") == "3" and points.count() == 3
    values = [json.loads(federation.metrics[v])["accuracy"] for v in (1, 2, 3)]
    assert [float(points.nth(i).get_attribute("data-value")) for i in range(3)] == values
    assert page.locator('[data-testid="version-row"]').count() == 3
    badges = page.locator('[data-testid="versions"] [data-testid="badge"]')
    assert [badges.nth(i).get_attribute("data-ok") for i in range(3)] == ["true"] * 3
    screenshot(page, "federation")


def _expected_nodes(registry: ModelRegistry, fid: int, version: int) -> tuple[int, int, int, int]:
    """Versions, rounds, updates and datasets of a version's lineage, read from the chain's records."""
    versions, updates, datasets = 0, 0, set()
    current = version
    while current:
        stored = registry.model_version(fid, current)
        versions += 1
        updates += len(registry.round_updates(fid, stored.round))
        aggregate = registry.artifact(registry.round(fid, stored.round).aggregate_artifact)
        for included in aggregate.parents:
            datasets |= {p for p in registry.artifact(included).parents
                         if registry.artifact(p).kind == ArtifactKind.DATASET}
        current = stored.parent_version
    return versions, versions, updates, len(datasets)


def test_lineage_graph_has_a_node_per_version_round_update_and_dataset(explorer, federation, registry, store,
                                                                      page, screenshot) -> None:
    fid, version = federation.federation_id, 3
    models, rounds, updates, datasets = _expected_nodes(registry, fid, version)
    assert (models, updates, datasets) == (3, 9, 3)
    cold = _timed_goto(page, f"{explorer.url}/federation/{fid}/model/{version}")
    graph = page.locator('[data-testid="lineage-graph"]')
    nodes = graph.locator('[data-testid="graph-node"]')
    assert int(graph.get_attribute("data-nodes")) == nodes.count() == models + rounds + updates + datasets
    for kind, count in [("model", models), ("round", rounds), ("update", updates), ("dataset", datasets)]:
        assert graph.locator(f'[data-kind="{kind}"]').count() == count, kind
    assert graph.locator('[data-kind="update"].excluded').count() == 1
    excluded = graph.locator(f'[data-key="update-{federation.excluded}"]').text_content()
    assert excluded.count("excluded: wrong_context") == 2  # its box and its tooltip
    assert nodes.evaluate_all("ns => ns.every(n => n.getBoundingClientRect().width > 0)")
    # Edges: round -> model, update -> round, dataset -> update (one parent each), model -> child model.
    assert int(graph.get_attribute("data-edges")) == rounds + updates + updates + (models - 1)
    assert graph.locator('[data-ok="false"]').count() == 0
    lineage = _auditor(registry, store, federation).lineage(version)
    assert nodes.count() == 2 * len(lineage.rounds) + sum(len(r.included) + len(r.excluded) for r in lineage.rounds) \
        + len({d.artifact.artifact_id for r in lineage.rounds for d in r.datasets})
    rows = page.locator('[data-testid="artifact-row"]')
    assert rows.count() == sum(len(r.artifacts) for r in lineage.rounds)
    epsilon = page.locator('[data-testid="epsilon-chart"] [data-testid="chart-point"]')
    assert [float(epsilon.nth(i).get_attribute("data-value")) for i in range(3)] == [0.0, 3.0, 5.0]
    warm = _timed_goto(page, f"{explorer.url}/federation/{fid}/model/{version}")
    TIMINGS.update(lineage_first_s=round(cold, 3), lineage_again_s=round(warm, 3))  # the server warms v3 at start
    screenshot(page, "lineage")


def test_round_timeline_lists_every_event_with_time_tx_and_gas(explorer, federation, registry, store, page,
                                                               screenshot) -> None:
    round_ = federation.rounds[1]
    started = time.perf_counter()
    page.goto(f"{explorer.url}/federation/{federation.federation_id}/round/{round_}")
    TIMINGS["round_s"] = round(time.perf_counter() - started, 3)
    timeline = _auditor(registry, store, federation).timeline(round_)
    rows = page.locator('[data-testid="timeline-row"]')
    assert page.locator('[data-testid="timeline"]').get_attribute("data-events") == str(len(timeline))
    assert rows.count() == len(timeline) == 11
    for i, entry in enumerate(timeline):
        row = rows.nth(i)
        assert row.get_attribute("data-event") == entry.record.event_name
        assert row.get_attribute("data-tx") == entry.record.transaction_hash
        text = row.inner_text()
        assert entry.record.transaction_hash in text and str(entry.gas_used) in text
        assert time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry.block_time)) in text
    dp = page.locator('[data-testid="dp-record"]').inner_text()
    assert "3" in dp and "1e-05" in dp and "rdp" in dp
    assert page.locator('[data-testid="epsilon-chart"] [data-testid="chart-point"]').count() == 2
    badges = page.locator('[data-testid="timeline"] [data-testid="badge"]')
    assert badges.count() == 6 and all(badges.nth(i).get_attribute("data-ok") == "true" for i in range(6))
    screenshot(page, "round")


def test_access_table_lists_grants_and_revocations_with_blocks(explorer, federation, registry, store, page,
                                                               screenshot) -> None:
    page.goto(f"{explorer.url}/federation/{federation.federation_id}/access")
    entries = _auditor(registry, store, federation).access()
    rows = page.locator('[data-testid="access-row"]')
    assert rows.count() == len(entries) and len(entries) > 10
    for i, entry in enumerate(entries):
        row = rows.nth(i)
        assert (row.get_attribute("data-account"), row.get_attribute("data-kind"), row.get_attribute("data-action"),
                row.get_attribute("data-block")) == (entry.account, entry.kind, entry.action,
                                                     str(entry.record.block_number))
    for analyst in federation.analysts:
        granted = f'[data-testid="access-row"][data-account="{analyst}"][data-kind="codec_key"][data-action="granted"]'
        assert page.locator(granted).count() == 1
    revoked = page.locator(f'[data-account="{federation.revoked_analyst}"][data-action="revoked"]')
    assert revoked.count() == 1 and revoked.get_attribute("data-kind") == "codec_key"
    screenshot(page, "access")


def test_dataset_page_shows_the_cipher_image_and_its_histogram_never_a_decryption(explorer, federation,
                                                                                  page, screenshot) -> None:
    base = f"{explorer.url}/federation/{federation.federation_id}/dataset"
    page.goto(f"{base}/{federation.cipher_dataset}")
    image = page.locator('[data-testid="cipher-image"]')
    assert image.evaluate("img => img.complete && img.naturalWidth") == 32
    assert page.locator('[data-testid="cipher-histogram"]').get_attribute("data-bins") == "256"
    assert page.locator('[data-testid="badge"]').first.get_attribute("data-ok") == "true"
    screenshot(page, "dataset")
    other = federation.datasets[federation.analysts[1]]
    page.goto(f"{base}/{other}")
    assert "not a codec cipher image" in page.locator('[data-testid="no-cipher-image"]').inner_text()


def test_untrusted_strings_are_shown_as_text(explorer, federation, page, screenshot) -> None:
    url = f"{explorer.url}/federation/{federation.federation_id}/round/{federation.aborted_round}"
    page.goto(url)
    reason = page.locator('[data-event="RoundAborted"] .value').last
    assert reason.inner_text() == federation.abort_reason
    assert page.evaluate("window.__pwned") is None
    assert page.locator("script").count() == 1 and page.locator("main img").count() == 0
    html = requests.get(url, timeout=30).text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html and "<script>window" not in html
    assert "onerror=&#34;" in html or "onerror=&quot;" in html
    screenshot(page, "round-aborted")


def test_verify_buttons_run_the_auditors_checks(explorer, federation, registry, store, page) -> None:
    round_ = federation.rounds[1]
    page.goto(f"{explorer.url}/federation/{federation.federation_id}/round/{round_}")
    form = page.locator("h1 form.verify")
    form.locator("button").click()
    page.wait_for_selector('h1 form.verify[data-done="true"]')
    expected = _auditor(registry, store, federation).verify_round(round_)
    checks = form.locator('[data-testid="verify-check"]')
    assert checks.count() == len(expected.checks)
    assert [checks.nth(i).inner_text() for i in range(checks.count())] == [
        f"ok {c.subject}, {c.name}: {c.detail}" for c in expected.checks]
    assert page.locator("h1 [data-testid='badge']").get_attribute("data-ok") == "true"


def test_chain_reads_are_cached_until_the_next_block_and_verified_contents_beyond(federation, registry, store,
                                                                                 monkeypatch) -> None:
    data = ExplorerData(registry, store)
    fid = federation.federation_id
    fetched: list[str] = []
    get_bytes = store.get_bytes
    monkeypatch.setattr(store, "get_bytes", lambda cid, **kw: fetched.append(cid) or get_bytes(cid, **kw))
    lineage, rounds = data.lineage(fid, 3), data.round(fid, 2)
    artifacts = {a.cid for r in lineage.rounds for a in r.artifacts}
    assert artifacts <= set(fetched) and len(fetched) == len(set(fetched))  # each artifact fetched once
    assert data.lineage(fid, 3) is lineage and data.round(fid, 2) is rounds
    assert data.lineage(fid, 2) == Lineage(fid, 2, lineage.rounds[1:])  # cut from v3's, not recomputed
    fetched.clear()
    assert data.verify_round(fid, 2).ok and data.lineage(fid, 3) is lineage  # a passing verify keeps the cache
    round_two = lineage.rounds[1]
    outputs = [u.artifact for u in round_two.included + round_two.excluded] + [
        round_two.aggregate, round_two.global_model, round_two.metrics]
    assert {a.cid for a in outputs} <= set(fetched)  # an explicit verify re-fetches every artifact of the round
    registry.w3.provider.make_request("evm_mine", [])
    fetched.clear()
    again = data.lineage(fid, 3)
    assert again is not lineage and again == lineage and data.round(fid, 2) is not rounds
    assert fetched == []  # the chain is read again, the verified contents are not fetched again
    assert "B)" in repr(data.verified) and "0x" not in repr(data.verified)  # sizes, never contents


def test_a_threshold_lineage_shows_the_custodians_whose_partials_combined(explorer, threshold_federation,
                                                                          page, screenshot) -> None:
    t = threshold_federation
    page.goto(f"{explorer.url}/federation/{t.federation_id}/model/1")
    graph = page.locator('[data-testid="lineage-graph"]')
    node = graph.locator('[data-kind="round"]')
    assert node.count() == 1
    text = node.text_content()
    c1, c2, c3 = t.custodians
    assert f"custodians {short(c1)}, {short(c2)} (2 of 2)" in text  # t = 2, two partials registered
    assert c1 in text and c2 in text and c3 not in text  # the tooltip names them in full, and only them
    assert graph.locator('[data-ok="false"]').count() == 0
    decrypted = page.locator(f"#round-{t.round}").inner_text()
    assert "2 needed, 2 registered" in decrypted and "partial 1 (used)" in decrypted and "partial 2 (used)" in decrypted
    assert "partial 3" not in decrypted
    screenshot(page, "lineage-threshold")


def test_a_threshold_round_lists_its_partial_decryptions(explorer, threshold_federation, registry, store, page,
                                                        screenshot) -> None:
    t = threshold_federation
    page.goto(f"{explorer.url}/federation/{t.federation_id}/round/{t.round}")
    timeline = Auditor(FederationContext(registry, store, t.federation_id)).timeline(t.round)
    assert page.locator('[data-testid="timeline-row"]').count() == len(timeline)
    partials = page.locator('[data-testid="timeline-row"][data-event="PartialDecryptionSubmitted"]')
    assert partials.count() == 2
    assert [partials.nth(i).locator(".details").inner_text() for i in range(2)] == [
        f"round={t.round} custodian={custodian} index={index} artifact_id={e.record.artifact_id}"
        for e, (index, custodian) in zip([e for e in timeline if e.record.event_name == "PartialDecryptionSubmitted"],
                                         [(2, t.custodians[1]), (1, t.custodians[0])])]
    checks = page.locator('[data-testid="round-checks"] li')
    texts = [checks.nth(i).inner_text() for i in range(checks.count())]
    assert any(", partial proofs: skipped" in x for x in texts) and not any(", proof:" in x for x in texts)
    assert page.locator("h1 [data-testid='badge']").get_attribute("data-ok") == "true"
    screenshot(page, "round-threshold")


def test_with_a_members_keystore_the_partial_proofs_and_combination_are_rechecked(member_explorer,
                                                                                 threshold_federation,
                                                                                 page) -> None:
    t = threshold_federation
    assert f"re-checked with the model keys of {t.custodians[2]}" in member_explorer.banner
    url = f"{member_explorer.url}/federation/{t.federation_id}/round/{t.round}"
    page.goto(url)
    checks = page.locator('[data-testid="round-checks"] li')
    texts = [checks.nth(i).inner_text() for i in range(checks.count())]
    proofs = [x for x in texts if ", proof: " in x]
    assert len(proofs) == 2 and all(x.startswith("ok ") and x.endswith("its proof verifies") for x in proofs)
    assert [x.split(":")[0] for x in texts if ", combination:" in x] == ["ok model v1, combination"]
    assert not any("skipped" in x for x in texts)
    assert page.locator("h1 [data-testid='badge']").get_attribute("data-ok") == "true"
    # The verify button runs the same re-checks; nothing of the keystore's secrets is ever shown.
    page.locator("h1 form.verify button").click()
    page.wait_for_selector('h1 form.verify[data-done="true"]')
    assert page.locator("h1 [data-testid='badge']").get_attribute("data-ok") == "true"
    for path in (url, f"/federation/{t.federation_id}/model/1"):
        html = requests.get(path if path.startswith("http") else member_explorer.url + path, timeout=60).text
        assert t.passphrase not in html and "proof verifies" in html
    assert t.passphrase not in member_explorer.banner


def test_a_keystore_that_does_not_open_stops_the_explorer_before_it_serves(devnet_manager, federation,
                                                                          threshold_federation) -> None:
    wrong = "not-the-passphrase-" + threshold_federation.passphrase[::-1]
    env = {k: None for k in os.environ if k.startswith("FLEP_")}
    env.update(FLEP_HOME=str(devnet_manager.home), FLEP_REGISTRY_ADDRESS=federation.registry_address,
               FLEP_PASSPHRASE=wrong)
    result = CliRunner().invoke(app, ["explorer", "--port", "0", "--keystore",
                                      str(threshold_federation.member_keystore)], env=env)
    assert result.exit_code == 1 and isinstance(result.exception, WrongPassphraseError)
    assert wrong not in str(result.exception) + result.output and "read-only" not in result.output


def _damage(devnet, marker: bytes) -> None:  # type: ignore[no-untyped-def]
    blocks = [p for p in Path(devnet.ipfs_repo).rglob("*") if p.is_file() and marker in p.read_bytes()]
    assert len(blocks) == 1
    blocks[0].write_bytes(blocks[0].read_bytes().replace(marker, bytes(len(marker))))


def test_a_badge_turns_red_after_a_stored_artifact_is_damaged_on_disk(explorer, federation, registry, devnet,
                                                                      page, screenshot) -> None:
    """Damages version 1's metrics on the IPFS node's disk (their bytes name this module's registry)."""
    fid = federation.federation_id
    metrics_id = registry.model_version(fid, 1).metrics_artifact
    url = f"{explorer.url}/federation/{fid}/model/3"
    page.goto(url)
    badge = page.locator(f'#artifact-{metrics_id} [data-testid="badge"]')
    assert badge.get_attribute("data-ok") == "true"
    _damage(devnet, federation.metrics[1])

    # The page was read at this block: it still shows the cached verdict until a verify re-fetches.
    button = page.locator(f'#artifact-{metrics_id} form.verify')
    button.locator("button").click()
    page.wait_for_selector(f'#artifact-{metrics_id} form.verify[data-done="true"]')
    assert badge.get_attribute("data-ok") == "false" and badge.inner_text() == "MISMATCH"
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") == RED
    failed = button.locator("li.bad")
    assert failed.count() == 1 and f"metrics #{metrics_id}, content" in failed.inner_text()
    assert failed.evaluate("li => getComputedStyle(li).color") == RED
    assert page.locator('[data-testid="graph-node"][data-key="model-1"]').get_attribute("data-ok") == "false"
    assert page.locator("h1 [data-testid='badge']").get_attribute("data-ok") == "false"  # the whole lineage
    round_badge = page.locator(f"#round-{federation.rounds[0]} h2 [data-testid='badge']")
    assert round_badge.get_attribute("data-ok") == "false" and round_badge.inner_text() == "MISMATCH"
    assert page.locator(f"#round-{federation.rounds[1]} h2 [data-testid='badge']").get_attribute("data-ok") == "true"
    screenshot(page, "lineage-mismatch")

    page.goto(url)  # the verify dropped the cached lineage: the page is re-verified
    assert page.locator(f'#artifact-{metrics_id} [data-testid="badge"]').get_attribute("data-ok") == "false"
    detail = page.locator(f'#artifact-{metrics_id} [data-testid="mismatch"]')
    assert detail.count() == 1 and detail.evaluate("d => getComputedStyle(d).color") == RED
    others = page.locator('[data-testid="artifact-row"] [data-testid="badge"][data-ok="false"]')
    assert others.count() == 1
    page.goto(f"{explorer.url}/federation/{fid}")
    assert page.locator('[data-testid="chart-point"]').count() == 2  # v1's accuracy no longer verifies


def test_ctrl_c_stops_the_explorer(explorer) -> None:
    explorer.process.send_signal(signal.SIGINT)
    assert explorer.process.wait(15) == 0
    assert "stopped" in explorer.process.stdout.read()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")
