// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ModelRegistry} from "../../../contracts/ModelRegistry.sol";
import {IModelRegistry} from "../../../contracts/IModelRegistry.sol";
import {TestBase} from "./TestBase.sol";

/**
 * @dev A deployed registry with one federation (per-data-owner codec keys) whose parties all hold their roles
 * and keys: key epoch 1 is started (artifact 1) and its private key granted to `keyHolder`; `owner` registered
 * `dataset` (artifact 2, {SAMPLES} samples) and granted its codec key to `analyst` and `analyst2`.
 */
abstract contract RegistryFixture is TestBase {
    ModelRegistry internal registry;

    address internal operator = vm.addr(0xA11CE);
    address internal admin = vm.addr(0xAD);
    address internal owner = vm.addr(0xD0);
    address internal analyst = vm.addr(0xA1);
    address internal analyst2 = vm.addr(0xA2);
    address internal aggregator = vm.addr(0xA66);
    address internal keyHolder = vm.addr(0xC0);
    address internal stranger = vm.addr(0xBAD);

    uint64 internal fed;
    uint64 internal dataset;
    uint32 internal constant MIN_PARTICIPANTS = 2;
    uint64 internal constant DEADLINE_OFFSET = 1 days;
    uint32 internal constant SAMPLES = 1000;
    /// @dev The FedAvg weight {_submit} declares.
    uint64 internal constant WEIGHT = 400;
    string internal constant CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
    bytes32 internal constant SHA = keccak256("content");
    /// @dev Digest of the packed-Paillier encoding parameters of key epoch 1.
    bytes32 internal constant ENCODING = keccak256("encoding: clip 1.0, 24 value bits, 64 clients, max weight 2^20");

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        registry = new ModelRegistry(operator);
        vm.prank(operator);
        fed = registry.createFederation(admin, MIN_PARTICIPANTS, IModelRegistry.CodecKeyPolicy.PerDataOwner);
        vm.startPrank(admin);
        registry.grantFederationRole(fed, registry.DATA_OWNER_ROLE(), owner);
        registry.grantFederationRole(fed, registry.ANALYST_ROLE(), analyst);
        registry.grantFederationRole(fed, registry.ANALYST_ROLE(), analyst2);
        registry.grantFederationRole(fed, registry.AGGREGATOR_ROLE(), aggregator);
        registry.startKeyEpoch(fed, _artifact("pk"), ENCODING);
        registry.grantKey(fed, IModelRegistry.KeyKind.PaillierPrivateKey, keyHolder, "QmWrappedPaillier", SHA);
        vm.stopPrank();
        vm.startPrank(owner);
        dataset = registry.registerDataset(fed, _artifact("dataset"), SAMPLES, _noParents());
        registry.grantKey(fed, IModelRegistry.KeyKind.CodecKey, analyst, "QmWrappedCodecA1", keccak256("codec a1"));
        registry.grantKey(fed, IModelRegistry.KeyKind.CodecKey, analyst2, "QmWrappedCodecA2", keccak256("codec a2"));
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ inputs

    function _artifact(string memory tag) internal pure returns (IModelRegistry.ArtifactInput memory) {
        return IModelRegistry.ArtifactInput({cid: CID, sha256: keccak256(bytes(tag)), size: 1234});
    }

    /// @dev A tag unique to `round`, so that the fixed round helpers never submit the same content twice.
    function _tag(string memory tag, uint64 round) internal pure returns (string memory) {
        return string.concat(tag, "@", _str(round));
    }

    function _noParents() internal pure returns (uint64[] memory) {
        return new uint64[](0);
    }

    function _one(uint64 a) internal pure returns (uint64[] memory list) {
        list = new uint64[](1);
        list[0] = a;
    }

    function _two(uint64 a, uint64 b) internal pure returns (uint64[] memory list) {
        list = new uint64[](2);
        list[0] = a;
        list[1] = b;
    }

    function _datasetParents() internal view returns (uint64[] memory) {
        return _one(dataset);
    }

    function _noDp() internal pure returns (IModelRegistry.DpParameters memory dp) {}

    function _dp() internal pure returns (IModelRegistry.DpParameters memory) {
        return IModelRegistry.DpParameters({
            epsilonMicros: 3_000_000,
            deltaAtto: 1e13,
            noiseMultiplierMicros: 1_100_000,
            clipNormMicros: 1_000_000,
            accountant: "rdp"
        });
    }

    // ------------------------------------------------------------------ sorted update lists

    /// @dev `a` and `b` in ascending order.
    function _sorted(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory list) {
        list = new bytes32[](2);
        (list[0], list[1]) = a < b ? (a, b) : (b, a);
    }

    function _shaList(bytes32 a) internal pure returns (bytes32[] memory list) {
        list = new bytes32[](1);
        list[0] = a;
    }

    function _noExclusions() internal pure returns (IModelRegistry.Exclusion[] memory) {
        return new IModelRegistry.Exclusion[](0);
    }

    function _exclusion(bytes32 sha, IModelRegistry.ExclusionReason reason)
        internal
        pure
        returns (IModelRegistry.Exclusion[] memory list)
    {
        list = new IModelRegistry.Exclusion[](1);
        list[0] = IModelRegistry.Exclusion(sha, reason);
    }

    /// @dev The artifact ids the updates `shas` are registered under, in the same order.
    function _idsOf(bytes32[] memory shas) internal view returns (uint64[] memory ids) {
        ids = new uint64[](shas.length);
        for (uint256 i = 0; i < shas.length; ++i) ids[i] = registry.getUpdate(fed, shas[i]).artifactId;
    }

    // ------------------------------------------------------------------ parties

    /// @dev Makes `who` an analyst holding the codec key of `dataset`.
    function _admitAnalyst(address who) internal {
        bytes32 role = registry.ANALYST_ROLE();
        vm.prank(admin);
        registry.grantFederationRole(fed, role, who);
        vm.prank(owner);
        registry.grantKey(fed, IModelRegistry.KeyKind.CodecKey, who, "QmWrappedCodec", keccak256(abi.encode(who)));
    }

    // ------------------------------------------------------------------ round steps

    function _openRound() internal returns (uint64 round) {
        vm.prank(admin);
        round = registry.openRound(fed, uint64(block.timestamp + DEADLINE_OFFSET));
    }

    /// @dev `who` submits the update `_artifact(tag)` trained on `dataset`, with weight {WEIGHT}.
    function _submit(uint64 round, address who, string memory tag) internal returns (uint64) {
        return _submitWeighted(round, who, tag, WEIGHT);
    }

    function _submitWeighted(uint64 round, address who, string memory tag, uint64 weight) internal returns (uint64) {
        uint64[] memory parents = _datasetParents();
        vm.prank(who);
        return registry.submitUpdate(fed, round, _artifact(tag), weight, parents);
    }

    function _close(uint64 round) internal {
        vm.prank(aggregator);
        registry.closeRound(fed, round);
    }

    /**
     * @dev Opens a round, has `analyst` and `analyst2` submit `u1@round` and `u2@round` and closes it; returns
     * the round and the two update hashes sorted ascending.
     */
    function _aggregatingRound() internal returns (uint64 round, bytes32[] memory shas) {
        round = _openRound();
        string memory t1 = _tag("u1", round);
        string memory t2 = _tag("u2", round);
        _submit(round, analyst, t1);
        _submit(round, analyst2, t2);
        _close(round);
        shas = _sorted(keccak256(bytes(t1)), keccak256(bytes(t2)));
    }

    function _post(
        uint64 round,
        string memory tag,
        bytes32[] memory included,
        IModelRegistry.Exclusion[] memory excluded
    ) internal returns (uint64) {
        vm.prank(aggregator);
        return registry.postAggregate(fed, round, _artifact(tag), included, excluded);
    }

    /// @dev An aggregating round whose aggregate (`_artifact("agg")`) includes both updates.
    function _postedRound() internal returns (uint64 round) {
        bytes32[] memory shas;
        (round, shas) = _aggregatingRound();
        _post(round, "agg", shas, _noExclusions());
    }

    function _finalize(uint64 round, uint64 parentVersion) internal returns (uint64) {
        vm.prank(keyHolder);
        return registry.finalizeRound(fed, round, parentVersion, _artifact("model"), _artifact("metrics"), _dp());
    }
}
