// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ModelRegistry} from "../../../contracts/ModelRegistry.sol";
import {IModelRegistry} from "../../../contracts/IModelRegistry.sol";
import {TestBase} from "./TestBase.sol";

/// @dev A deployed registry with one federation whose parties all hold their roles and keys.
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
    uint32 internal constant MIN_PARTICIPANTS = 2;
    uint64 internal constant DEADLINE_OFFSET = 1 days;
    string internal constant CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
    bytes32 internal constant SHA = keccak256("content");

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
        registry.setPaillierPublicKey(fed, _artifact("pk"));
        registry.grantKey(fed, IModelRegistry.KeyKind.PaillierPrivateKey, keyHolder, "QmWrappedPaillier", SHA);
        vm.stopPrank();
    }

    function _artifact(string memory tag) internal pure returns (IModelRegistry.ArtifactInput memory) {
        return IModelRegistry.ArtifactInput({cid: CID, sha256: keccak256(bytes(tag)), size: 1234});
    }

    function _noParents() internal pure returns (uint64[] memory) {
        return new uint64[](0);
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

    function _openRound() internal returns (uint64 round) {
        vm.prank(admin);
        round = registry.openRound(fed, uint64(block.timestamp + DEADLINE_OFFSET));
    }

    function _submit(uint64 round, address who, string memory tag) internal returns (uint64) {
        vm.prank(who);
        return registry.submitUpdate(fed, round, _artifact(tag), _noParents());
    }

    /// @dev Opens a round, submits two updates and closes it; returns the round and the update ids.
    function _aggregatingRound() internal returns (uint64 round, uint64[] memory updates) {
        round = _openRound();
        updates = new uint64[](2);
        updates[0] = _submit(round, analyst, "u1");
        updates[1] = _submit(round, analyst2, "u2");
        vm.prank(aggregator);
        registry.closeRound(fed, round);
    }

    function _postedRound() internal returns (uint64 round) {
        uint64[] memory updates;
        (round, updates) = _aggregatingRound();
        vm.prank(aggregator);
        registry.postAggregate(fed, round, _artifact("agg"), updates);
    }

    function _finalize(uint64 round, uint64 parentVersion) internal returns (uint64) {
        vm.prank(keyHolder);
        return registry.finalizeRound(fed, round, parentVersion, _artifact("model"), _artifact("metrics"), _dp());
    }
}
