// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ArtifactDigest} from "../../contracts/ArtifactDigest.sol";
import {ModelRegistry} from "../../contracts/ModelRegistry.sol";
import {IModelRegistry} from "../../contracts/IModelRegistry.sol";
import {Vm} from "./utils/TestBase.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";

/// @dev Unit tests: one happy path per function and one test per refusal.
contract ModelRegistryTest is RegistryFixture, IModelRegistry {
    address internal analyst3 = vm.addr(0xA3);
    address internal keyHolder2 = vm.addr(0xC2);

    // ------------------------------------------------------------------ helpers

    /// @dev A closed round with `n` updates: `analyst` and `analyst2`, then analysts admitted on the fly, submit
    /// `u1`..`un` with weights 100, 200, ...; returns the round and the hashes sorted ascending.
    function _aggregatingRoundOf(uint256 n) internal returns (uint64 round, bytes32[] memory shas) {
        address[] memory who = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            who[i] = i == 0 ? analyst : i == 1 ? analyst2 : i == 2 ? analyst3 : vm.addr(0xA100 + i);
            if (i >= 2) _admitAnalyst(who[i]);
        }
        round = _openRound();
        shas = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            string memory tag = string.concat("u", _str(i + 1));
            _submitWeighted(round, who[i], tag, uint64(100 * (i + 1)));
            shas[i] = keccak256(bytes(tag));
        }
        _close(round);
        _sort(shas);
    }

    /// @dev Creates a second federation (min 1 participant, same parties) with one update `sha` in its open
    /// round 1; returns it, its dataset and that update's id.
    function _otherFederationWithUpdate(bytes32 sha)
        internal
        returns (uint64 other, uint64 otherDataset, uint64 updateId)
    {
        vm.prank(operator);
        other = registry.createFederation(admin, 1, CodecKeyPolicy.PerDataOwner);
        vm.startPrank(admin);
        registry.grantFederationRole(other, registry.DATA_OWNER_ROLE(), owner);
        registry.grantFederationRole(other, registry.ANALYST_ROLE(), analyst);
        registry.startKeyEpoch(other, _artifact("pk other"), ENCODING);
        uint64 round = registry.openRound(other, uint64(block.timestamp + 1 hours));
        vm.stopPrank();
        vm.startPrank(owner);
        otherDataset = registry.registerDataset(other, _artifact("dataset other"), SAMPLES, _noParents());
        registry.grantKey(other, KeyKind.CodecKey, analyst, "QmWrappedCodecOther", keccak256("codec other"));
        vm.stopPrank();
        vm.prank(analyst);
        updateId = registry.submitUpdate(other, round, ArtifactInput(CID, sha, 1234), WEIGHT, _one(otherDataset));
    }

    /// @dev Grants `keyHolder2` the current epoch's Paillier key too.
    function _secondKeyHolder() internal {
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder2, "QmWrappedPaillier2", keccak256("pk2 blob"));
    }

    function _revokeKeyHolder(address who) internal {
        vm.prank(admin);
        registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), who);
    }

    /// @dev Starts the next key epoch (no round may be live) and returns it.
    function _rotate(string memory tag) internal returns (uint32 epoch) {
        vm.prank(admin);
        epoch = registry.startKeyEpoch(fed, _artifact(tag), keccak256(bytes(tag)));
    }

    function _dispute(address who, uint64 round, bytes32 subject, DisputeReason reason) internal {
        vm.prank(who);
        registry.disputeAggregate(fed, round, subject, reason, "slot 3 sum out of bound");
    }

    /// @dev Checks every recorded {ArtifactRegistered} and {UpdateSubmitted} against the stored digest
    /// recomputed from the event's own fields; returns how many it checked.
    function _checkArtifactEventsAgainstDigests(Vm.Log[] memory logs) internal view returns (uint256 checked) {
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(registry)) continue;
            bytes32 topic = logs[i].topics[0];
            if (topic != ArtifactRegistered.selector && topic != UpdateSubmitted.selector) continue;
            uint64 id = uint64(uint256(logs[i].topics[1]));
            uint64 federationId = uint64(uint256(logs[i].topics[2]));
            uint64 round = uint64(uint256(logs[i].topics[3]));
            bytes32 stored;
            bytes32 expected;
            if (topic == ArtifactRegistered.selector) {
                (
                    ArtifactKind kind,
                    address submitter,
                    string memory cid,
                    bytes32 sha,
                    uint64 size,
                    uint64[] memory parents
                ) = abi.decode(logs[i].data, (ArtifactKind, address, string, bytes32, uint64, uint64[]));
                assertTrue(kind != ArtifactKind.ModelUpdate, "updates have their own event");
                expected = ArtifactDigest.compute(kind, federationId, round, submitter, cid, sha, size, parents);
                stored = registry.artifactDigest(id);
            } else {
                (address submitter, string memory cid, bytes32 sha, uint64 size, uint64 weight, uint64[] memory parents)
                = abi.decode(logs[i].data, (address, string, bytes32, uint64, uint64, uint64[]));
                expected = ArtifactDigest.compute(
                    ArtifactKind.ModelUpdate, federationId, round, submitter, cid, sha, size, parents
                );
                stored = registry.updateDigest(federationId, round, submitter);
                UpdateRecord memory u = registry.getUpdate(federationId, sha);
                assertEq(u.artifactId, id, "update filed under its hash");
                assertEq(u.weight, weight, "with the event's weight");
            }
            assertEq(stored, expected, "stored digest = digest of the event's fields");
            ++checked;
        }
    }

    /// @dev The digest of aggregate `_artifact(tag)` of `round` posted by `aggregator` over update ids `ids`.
    function _aggregateDigest(uint64 round, string memory tag, uint64[] memory ids) internal view returns (bytes32) {
        return ArtifactDigest.compute(
            ArtifactKind.EncryptedAggregate, fed, round, aggregator, CID, keccak256(bytes(tag)), 1234, ids
        );
    }

    function _overlong() internal view returns (string memory) {
        return string(new bytes(registry.MAX_REASON_LENGTH() + 1));
    }

    // ------------------------------------------------------------------ deployment and federations

    function test_RevertWhen_ConstructorGetsZeroOperator() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroAddress.selector));
        new ModelRegistry(address(0));
    }

    function test_CreateFederation() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit FederationCreated(2, admin, operator, 3, CodecKeyPolicy.FederationWide);
        vm.prank(operator);
        uint64 id = registry.createFederation(admin, 3, CodecKeyPolicy.FederationWide);
        assertEq(id, 2, "second federation id");
        assertEq(registry.federationCount(), 2, "federation count");
        Federation memory f = registry.getFederation(id);
        assertEq(f.minParticipants, 3, "min participants");
        assertTrue(f.codecKeyPolicy == CodecKeyPolicy.FederationWide, "policy");
        assertEq(f.keyEpoch, 0, "no key epoch yet");
        assertEq(f.paillierPublicKeyArtifact, 0, "no public key yet");
        assertTrue(registry.hasFederationRole(id, registry.FEDERATION_ADMIN_ROLE(), admin), "admin role");
    }

    function test_RevertWhen_CreateFederationByNonCreator() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, registry.FEDERATION_CREATOR_ROLE()
            )
        );
        vm.prank(stranger);
        registry.createFederation(stranger, 1, CodecKeyPolicy.PerDataOwner);
    }

    function test_RevertWhen_CreateFederationWithZeroAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroAddress.selector));
        vm.prank(operator);
        registry.createFederation(address(0), 1, CodecKeyPolicy.PerDataOwner);
    }

    function test_RevertWhen_CreateFederationWithZeroMinParticipants() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidMinParticipants.selector, uint32(0)));
        vm.prank(operator);
        registry.createFederation(admin, 0, CodecKeyPolicy.PerDataOwner);
    }

    function test_RevertWhen_GetFederationUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownFederation.selector, uint64(9)));
        registry.getFederation(9);
    }

    // ------------------------------------------------------------------ roles

    function test_GrantFederationRole() public {
        bytes32 role = registry.AGGREGATOR_ROLE();
        vm.expectEmit(true, true, true, true, address(registry));
        emit FederationRoleGranted(fed, role, stranger, admin);
        vm.prank(admin);
        assertTrue(registry.grantFederationRole(fed, role, stranger), "granted");
        assertTrue(registry.hasFederationRole(fed, role, stranger), "holds role");
    }

    function test_GrantFederationRoleIsIdempotent() public {
        bytes32 role = registry.ANALYST_ROLE();
        vm.recordLogs();
        vm.prank(admin);
        bool changed = registry.grantFederationRole(fed, role, analyst);
        assertTrue(!changed, "no change reported");
        assertEq(vm.getRecordedLogs().length, 0, "no event on a repeated grant");
    }

    function test_RevertWhen_GrantFederationRoleByNonAdmin() public {
        bytes32 role = registry.ANALYST_ROLE();
        bytes32 adminRole = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, analyst, adminRole));
        vm.prank(analyst);
        registry.grantFederationRole(fed, role, stranger);
    }

    function test_RevertWhen_GrantFederationRoleInOtherFederation() public {
        vm.prank(operator);
        uint64 other = registry.createFederation(stranger, 1, CodecKeyPolicy.PerDataOwner);
        bytes32 role = registry.ANALYST_ROLE();
        bytes32 adminRole = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, other, admin, adminRole));
        vm.prank(admin);
        registry.grantFederationRole(other, role, analyst);
    }

    function test_RevertWhen_GrantFederationRoleInUnknownFederation() public {
        bytes32 role = registry.ANALYST_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownFederation.selector, uint64(7)));
        vm.prank(admin);
        registry.grantFederationRole(7, role, analyst);
    }

    function test_RevertWhen_GrantUnknownRole() public {
        bytes32 role = keccak256("KEY_HOLDER_ROLE");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownRole.selector, role));
        vm.prank(admin);
        registry.grantFederationRole(fed, role, stranger);
    }

    function test_RevertWhen_GrantFederationRoleToZeroAddress() public {
        bytes32 role = registry.ANALYST_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroAddress.selector));
        vm.prank(admin);
        registry.grantFederationRole(fed, role, address(0));
    }

    function test_RevokeFederationRole() public {
        bytes32 role = registry.ANALYST_ROLE();
        vm.expectEmit(true, true, true, true, address(registry));
        emit FederationRoleRevoked(fed, role, analyst, admin);
        vm.prank(admin);
        assertTrue(registry.revokeFederationRole(fed, role, analyst), "revoked");
        assertTrue(!registry.hasFederationRole(fed, role, analyst), "role gone");
        vm.recordLogs();
        vm.prank(admin);
        assertTrue(!registry.revokeFederationRole(fed, role, analyst), "second revoke is a no-op");
        assertEq(vm.getRecordedLogs().length, 0, "no event on a repeated revoke");
    }

    function test_RevertWhen_RevokeFederationRoleByNonAdmin() public {
        bytes32 role = registry.ANALYST_ROLE();
        bytes32 adminRole = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, stranger, adminRole));
        vm.prank(stranger);
        registry.revokeFederationRole(fed, role, analyst);
    }

    function test_InheritedGrantRoleIsScopedAndMirrored() public {
        bytes32 roleId = registry.federationRole(fed, registry.AGGREGATOR_ROLE());
        assertEq(registry.getRoleAdmin(roleId), registry.federationRole(fed, registry.FEDERATION_ADMIN_ROLE()), "admin");
        vm.expectEmit(true, true, true, true, address(registry));
        emit FederationRoleGranted(fed, registry.AGGREGATOR_ROLE(), stranger, admin);
        vm.prank(admin);
        registry.grantRole(roleId, stranger);
        assertTrue(registry.hasFederationRole(fed, registry.AGGREGATOR_ROLE(), stranger), "granted through grantRole");
        vm.expectEmit(true, true, true, true, address(registry));
        emit FederationRoleRevoked(fed, registry.AGGREGATOR_ROLE(), stranger, stranger);
        vm.prank(stranger);
        registry.renounceRole(roleId, stranger);
        assertTrue(!registry.hasRole(roleId, stranger), "renounced");
    }

    function test_RevertWhen_InheritedGrantRoleByOperator() public {
        bytes32 roleId = registry.federationRole(fed, registry.ANALYST_ROLE());
        bytes32 adminRoleId = registry.federationRole(fed, registry.FEDERATION_ADMIN_ROLE());
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, operator, adminRoleId)
        );
        vm.prank(operator);
        registry.grantRole(roleId, stranger);
    }

    /// @dev The pre-grant hole: a future federation's roles are administered by DEFAULT_ADMIN_ROLE until the
    /// federation exists, so the deployer could otherwise plant an admin in it.
    function test_RevertWhen_InheritedGrantRoleOfFutureFederation() public {
        uint64 future = registry.federationCount() + 1;
        bytes32 roleId = registry.federationRole(future, registry.FEDERATION_ADMIN_ROLE());
        assertEq(registry.getRoleAdmin(roleId), registry.DEFAULT_ADMIN_ROLE(), "not yet a federation role");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownRole.selector, roleId));
        vm.prank(operator);
        registry.grantRole(roleId, stranger);
        vm.prank(operator);
        uint64 created = registry.createFederation(admin, 1, CodecKeyPolicy.PerDataOwner);
        assertEq(created, future, "the federation the grant aimed at");
        assertTrue(!registry.hasFederationRole(created, registry.FEDERATION_ADMIN_ROLE(), stranger), "no planted admin");
    }

    function test_RevertWhen_InheritedGrantRoleOfRandomRole() public {
        bytes32 roleId = keccak256("SOME_ROLE");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownRole.selector, roleId));
        vm.prank(operator);
        registry.grantRole(roleId, stranger);
    }

    function test_InheritedGrantRoleOfRegistryWideRoleStillWorks() public {
        bytes32 creator = registry.FEDERATION_CREATOR_ROLE();
        vm.prank(operator);
        registry.grantRole(creator, stranger);
        assertTrue(registry.hasRole(creator, stranger), "creator granted");
        vm.prank(stranger);
        assertEq(registry.createFederation(stranger, 1, CodecKeyPolicy.PerDataOwner), 2, "creates");
        bytes32 defaultAdmin = registry.DEFAULT_ADMIN_ROLE();
        vm.prank(operator);
        registry.grantRole(defaultAdmin, stranger);
        assertTrue(registry.hasRole(defaultAdmin, stranger), "default admin granted");
    }

    // ------------------------------------------------------------------ artifacts and datasets

    function test_RegisterDataset() public {
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit ArtifactRegistered(expectedId, fed, 0, ArtifactKind.Dataset, owner, CID, keccak256("d"), 1234, _noParents());
        vm.expectEmit(true, true, true, true, address(registry));
        emit DatasetRegistered(fed, expectedId, owner, 77);
        vm.prank(owner);
        uint64 id = registry.registerDataset(fed, _artifact("d"), 77, _noParents());
        assertEq(id, expectedId, "id");
        bytes32 expected = ArtifactDigest.compute(
            ArtifactKind.Dataset, fed, 0, owner, CID, keccak256("d"), 1234, _noParents()
        );
        assertEq(registry.artifactDigest(id), expected, "digest");
        Dataset memory d = registry.getDataset(id);
        assertEq(d.owner, owner, "dataset owner");
        assertEq(d.sampleCount, 77, "sample count");
    }

    function test_FixtureDataset() public view {
        assertEq(dataset, 2, "dataset is artifact 2");
        assertEq(registry.getDataset(dataset).sampleCount, SAMPLES, "samples");
        assertEq(registry.getDataset(1).owner, address(0), "the public key is no dataset");
        assertEq(registry.getDataset(99).sampleCount, 0, "unknown id is no dataset");
    }

    function test_RevertWhen_RegisterDatasetWithZeroSamples() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryEmptyDataset.selector));
        vm.prank(owner);
        registry.registerDataset(fed, _artifact("d"), 0, _noParents());
    }

    function test_RevertWhen_RegisterDatasetByNonDataOwner() public {
        bytes32 role = registry.DATA_OWNER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, analyst, role));
        vm.prank(analyst);
        registry.registerDataset(fed, _artifact("x"), 10, _noParents());
    }

    function test_RevertWhen_RegisterDatasetByAdmin() public {
        bytes32 role = registry.DATA_OWNER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, admin, role));
        vm.prank(admin);
        registry.registerDataset(fed, _artifact("x"), 10, _noParents());
    }

    function test_RegisterCorrectionPointsAtOriginal() public {
        vm.prank(owner);
        uint64 original = registry.registerDataset(fed, _artifact("d"), 10, _noParents());
        uint64[] memory parents = _one(original);
        bytes32 before = registry.artifactDigest(original);
        vm.prank(owner);
        uint64 correction = registry.registerDataset(fed, _artifact("d2"), 12, parents);
        assertEq(correction, original + 1, "new id");
        assertEq(registry.artifactDigest(original), before, "original untouched");
        assertEq(registry.getDataset(original).sampleCount, 10, "original record untouched");
        bytes32 expected = ArtifactDigest.compute(
            ArtifactKind.Dataset, fed, 0, owner, CID, keccak256("d2"), 1234, parents
        );
        assertEq(registry.artifactDigest(correction), expected, "correction digest names its parent");
    }

    function test_RegisterWrappedKeyAndMetricsByAdmin() public {
        vm.startPrank(admin);
        uint64 a = registry.registerArtifact(fed, ArtifactKind.WrappedKey, _artifact("w"), _noParents());
        uint64 b = registry.registerArtifact(fed, ArtifactKind.Metrics, _artifact("m"), _one(a));
        vm.stopPrank();
        assertEq(b, a + 1, "sequential ids");
    }

    function test_RegisterFederationConfigByAdmin() public {
        vm.prank(admin);
        uint64 id = registry.registerArtifact(fed, ArtifactKind.FederationConfig, _artifact("plan"), _noParents());
        assertEq(
            registry.artifactDigest(id),
            ArtifactDigest.compute(
                ArtifactKind.FederationConfig, fed, 0, admin, CID, keccak256(bytes("plan")), 1234, _noParents()
            ),
            "digest"
        );
    }

    function test_RevertWhen_RegisterFederationConfigByNonAdmin() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, owner, role));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.FederationConfig, _artifact("plan"), _noParents());
    }

    function test_RegisterWrappedKeyByDataOwner() public {
        vm.prank(owner);
        uint64 id = registry.registerArtifact(fed, ArtifactKind.WrappedKey, _artifact("w"), _datasetParents());
        assertEq(
            registry.artifactDigest(id),
            ArtifactDigest.compute(
                ArtifactKind.WrappedKey, fed, 0, owner, CID, keccak256("w"), 1234, _datasetParents()
            ),
            "digest"
        );
    }

    function test_RevertWhen_RegisterArtifactOfReservedKind() public {
        ArtifactKind[7] memory reserved = [
            ArtifactKind.Dataset,
            ArtifactKind.ModelUpdate,
            ArtifactKind.EncryptedAggregate,
            ArtifactKind.GlobalModel,
            ArtifactKind.PaillierPublicKey,
            ArtifactKind.ThresholdKey,
            ArtifactKind.PartialDecryption
        ];
        for (uint256 i = 0; i < reserved.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(ModelRegistryWrongArtifactKind.selector, reserved[i]));
            vm.prank(admin);
            registry.registerArtifact(fed, reserved[i], _artifact("x"), _noParents());
        }
    }

    function test_RevertWhen_RegisterMetricsByNonAdmin() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, owner, role));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.Metrics, _artifact("x"), _noParents());
    }

    function test_RevertWhen_RegisterWrappedKeyByAnalyst() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, analyst, role));
        vm.prank(analyst);
        registry.registerArtifact(fed, ArtifactKind.WrappedKey, _artifact("x"), _noParents());
    }

    function test_RevertWhen_RegisterArtifactWithEmptyCid() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryEmptyCid.selector));
        vm.prank(owner);
        registry.registerDataset(fed, ArtifactInput("", SHA, 1), 1, _noParents());
    }

    function test_RevertWhen_RegisterArtifactWithZeroHash() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(owner);
        registry.registerDataset(fed, ArtifactInput(CID, bytes32(0), 1), 1, _noParents());
    }

    function test_RevertWhen_RegisterArtifactWithOverlongCid() public {
        string memory cid = string(new bytes(129));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryCidTooLong.selector, uint256(129), uint256(128)));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.WrappedKey, ArtifactInput(cid, SHA, 1), _noParents());
    }

    function test_RegisterArtifactWithLongestCid() public {
        string memory cid = string(new bytes(128));
        vm.prank(owner);
        uint64 id = registry.registerArtifact(fed, ArtifactKind.WrappedKey, ArtifactInput(cid, SHA, 1), _noParents());
        assertEq(id, registry.artifactCount(), "accepted");
    }

    function test_RevertWhen_RegisterArtifactWithUnknownParent() public {
        uint64[] memory parents = _one(registry.artifactCount() + 1);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, parents[0]));
        vm.prank(owner);
        registry.registerDataset(fed, _artifact("x"), 1, parents);
    }

    function test_RevertWhen_RegisterArtifactWithZeroParent() public {
        uint64[] memory parents = new uint64[](1);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, uint64(0)));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.WrappedKey, _artifact("x"), parents);
    }

    function test_RevertWhen_RegisterArtifactWithForeignParent() public {
        (uint64 other,,) = _otherFederationWithUpdate(keccak256("other update"));
        uint64 foreignKey = registry.getFederation(other).paillierPublicKeyArtifact;
        uint64[] memory parents = _two(dataset, foreignKey);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryForeignParent.selector, fed, foreignKey, other));
        vm.prank(admin);
        registry.registerArtifact(fed, ArtifactKind.Metrics, _artifact("m"), parents);
    }

    function test_RevertWhen_RegisterDatasetWithForeignParent() public {
        (uint64 other, uint64 foreignDataset,) = _otherFederationWithUpdate(keccak256("other update"));
        assertEq(registry.getDataset(foreignDataset).owner, owner, "the other federation's dataset");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryForeignParent.selector, fed, foreignDataset, other));
        vm.prank(owner);
        registry.registerDataset(fed, _artifact("derived"), 5, _one(foreignDataset));
    }

    function test_RevertWhen_RegisterArtifactWithUpdateAsParent() public {
        uint64 round = _openRound();
        uint64 update = _submit(round, analyst, "u1");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUpdateAsParent.selector, update));
        vm.prank(admin);
        registry.registerArtifact(fed, ArtifactKind.Metrics, _artifact("m"), _one(update));
    }

    function test_RevertWhen_RegisterDatasetWithUpdateAsParent() public {
        uint64 round = _openRound();
        uint64 update = _submit(round, analyst, "u1");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUpdateAsParent.selector, update));
        vm.prank(owner);
        registry.registerDataset(fed, _artifact("derived"), 5, _two(dataset, update));
    }

    function test_RevertWhen_ArtifactDigestOfUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, uint64(99)));
        registry.artifactDigest(99);
    }

    function test_RevertWhen_ArtifactDigestOfZero() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, uint64(0)));
        registry.artifactDigest(0);
    }

    /// @dev Events are emitted after the state they report: every ArtifactRegistered of a whole round can be
    /// checked against the chain state with the digest of its own fields.
    function test_ArtifactEventsMatchStoredDigests() public {
        vm.recordLogs();
        vm.prank(owner);
        registry.registerDataset(fed, _artifact("d"), 10, _datasetParents());
        uint64 round = _postedRound();
        _finalize(round, 0);
        vm.prank(admin);
        registry.startKeyEpoch(fed, _artifact("pk2"), ENCODING);
        uint256 checked = _checkArtifactEventsAgainstDigests(vm.getRecordedLogs());
        assertEq(checked, 7, "dataset, 2 updates, aggregate, model, metrics, public key");
    }

    // ------------------------------------------------------------------ Paillier key epochs

    function test_StartKeyEpoch() public view {
        Federation memory f = registry.getFederation(fed);
        assertEq(f.keyEpoch, 1, "first epoch");
        assertEq(f.paillierPublicKeyArtifact, 1, "public key is artifact 1");
        KeyEpoch memory e = registry.getKeyEpoch(fed, 1);
        assertEq(e.publicKeyArtifact, 1, "epoch's public key");
        assertEq(e.startedAt, 1_700_000_000, "started at");
        assertEq(e.revokedAt, 0, "live");
        assertEq(e.encodingDigest, ENCODING, "encoding digest");
        bytes32 expected = ArtifactDigest.compute(
            ArtifactKind.PaillierPublicKey, fed, 0, admin, CID, keccak256("pk"), 1234, _noParents()
        );
        assertEq(registry.artifactDigest(1), expected, "digest");
        assertEq(registry.getKeyEpoch(fed, 2).publicKeyArtifact, 0, "epoch 2 not started");
    }

    function test_StartKeyEpochEmits() public {
        vm.prank(operator);
        uint64 other = registry.createFederation(admin, 1, CodecKeyPolicy.FederationWide);
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit ArtifactRegistered(
            expectedId, other, 0, ArtifactKind.PaillierPublicKey, admin, CID, keccak256("pk"), 1234, _noParents()
        );
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyEpochStarted(other, 1, expectedId, ENCODING, admin);
        vm.prank(admin);
        uint32 epoch = registry.startKeyEpoch(other, _artifact("pk"), ENCODING);
        assertEq(epoch, 1, "first epoch");
    }

    function test_RotateKeyEpoch() public {
        _finalize(_postedRound(), 0);
        vm.warp(block.timestamp + 1 days);
        bytes32 encoding2 = keccak256("encoding 2");
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyEpochStarted(fed, 2, expectedId, encoding2, admin);
        vm.prank(admin);
        assertEq(registry.startKeyEpoch(fed, _artifact("pk2"), encoding2), 2, "second epoch");
        Federation memory f = registry.getFederation(fed);
        assertEq(f.keyEpoch, 2, "current epoch");
        assertEq(f.paillierPublicKeyArtifact, expectedId, "current public key");
        KeyEpoch memory e = registry.getKeyEpoch(fed, 2);
        assertEq(e.publicKeyArtifact, expectedId, "epoch 2 key");
        assertEq(e.startedAt, block.timestamp, "epoch 2 start");
        assertEq(e.encodingDigest, encoding2, "epoch 2 encoding");
        assertEq(registry.getKeyEpoch(fed, 1).publicKeyArtifact, 1, "epoch 1 kept");
        assertEq(registry.getKeyEpoch(fed, 1).revokedAt, 0, "rotation does not revoke");
        assertTrue(!registry.isKeyHolder(fed, keyHolder), "old epoch's holder is no key holder now");

        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyGranted(fed, keyHolder, address(0), KeyKind.PaillierPrivateKey, admin, "QmPk2", keccak256("pk2 blob"), 2);
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmPk2", keccak256("pk2 blob"));
        assertTrue(registry.isKeyHolder(fed, keyHolder), "re-granted for the new epoch");
        assertEq(registry.getKeyGrant(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder).keyEpoch, 2, "grant epoch");

        uint64 round = _postedRound();
        assertEq(registry.getRound(fed, round).keyEpoch, 2, "round under the new epoch");
        assertEq(_finalize(round, 1), 2, "finalized by the new epoch's holder");
    }

    function test_RotateKeyEpochAfterAbort() public {
        uint64 round = _openRound();
        vm.prank(admin);
        registry.abortRound(fed, round, "rotate");
        assertEq(_rotate("pk2"), 2, "rotates once the round is over");
    }

    function test_RevertGiven_RoundOpen_StartKeyEpoch() public {
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryRoundInProgress.selector, fed, round, RoundStatus.Open));
        vm.prank(admin);
        registry.startKeyEpoch(fed, _artifact("pk2"), ENCODING);
    }

    function test_RevertGiven_RoundAggregating_StartKeyEpoch() public {
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryRoundInProgress.selector, fed, round, RoundStatus.Aggregating)
        );
        vm.prank(admin);
        registry.startKeyEpoch(fed, _artifact("pk2"), ENCODING);
    }

    function test_RevertWhen_StartKeyEpochWithZeroEncodingDigest() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(admin);
        registry.startKeyEpoch(fed, _artifact("pk2"), bytes32(0));
    }

    function test_RevertWhen_StartKeyEpochWithZeroKeyHash() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(admin);
        registry.startKeyEpoch(fed, ArtifactInput(CID, bytes32(0), 1), ENCODING);
    }

    function test_RevertWhen_StartKeyEpochWithEmptyCid() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryEmptyCid.selector));
        vm.prank(admin);
        registry.startKeyEpoch(fed, ArtifactInput("", SHA, 1), ENCODING);
    }

    function test_RevertWhen_StartKeyEpochByNonAdmin() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, keyHolder, role));
        vm.prank(keyHolder);
        registry.startKeyEpoch(fed, _artifact("pk2"), ENCODING);
    }

    function test_RevertWhen_StartKeyEpochInUnknownFederation() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownFederation.selector, uint64(5)));
        vm.prank(admin);
        registry.startKeyEpoch(5, _artifact("pk2"), ENCODING);
    }

    function test_RevokeKeyHolderRetiresEpoch() public {
        _secondKeyHolder();
        vm.warp(block.timestamp + 5);
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyRevoked(fed, keyHolder, address(0), KeyKind.PaillierPrivateKey, admin);
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyEpochRevoked(fed, 1, keyHolder, admin);
        _revokeKeyHolder(keyHolder);
        assertEq(registry.getKeyEpoch(fed, 1).revokedAt, block.timestamp, "epoch retired");
        assertTrue(!registry.isKeyHolder(fed, keyHolder), "revoked holder");
        assertTrue(!registry.isKeyHolder(fed, keyHolder2), "other holder of the retired epoch");
        // Revoking the second holder of the already retired epoch retires nothing more.
        vm.recordLogs();
        _revokeKeyHolder(keyHolder2);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "only KeyRevoked");
        assertEq(logs[0].topics[0], KeyRevoked.selector, "KeyRevoked");
    }

    function test_RevertGiven_EpochRevoked_OpenRound() public {
        _revokeKeyHolder(keyHolder);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryKeyEpochRevoked.selector, fed, uint32(1)));
        vm.prank(admin);
        registry.openRound(fed, uint64(block.timestamp + 1 hours));
    }

    function test_RevertGiven_EpochRevoked_GrantPaillierKey() public {
        _revokeKeyHolder(keyHolder);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryKeyEpochRevoked.selector, fed, uint32(1)));
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder2, "QmWrapped", SHA);
    }

    function test_RevertGiven_EpochRevoked_FinalizeByOtherHolder() public {
        _secondKeyHolder();
        uint64 round = _postedRound();
        _revokeKeyHolder(keyHolder);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryKeyEpochRevoked.selector, fed, uint32(1)));
        vm.prank(keyHolder2);
        registry.finalizeRound(fed, round, 0, _artifact("model"), _artifact("metrics"), _dp());
    }

    function test_RevertGiven_EpochRevoked_DisputeByOtherHolder() public {
        _secondKeyHolder();
        uint64 round = _postedRound();
        _revokeKeyHolder(keyHolder);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryKeyEpochRevoked.selector, fed, uint32(1)));
        _dispute(keyHolder2, round, keccak256("agg"), DisputeReason.DecryptionRefused);
    }

    function test_NewEpochAfterRevocation() public {
        uint64 round = _postedRound();
        _revokeKeyHolder(keyHolder);
        vm.prank(admin);
        registry.abortRound(fed, round, "key holder revoked");
        assertEq(_rotate("pk2"), 2, "new epoch");
        _secondKeyHolder();
        assertTrue(registry.isKeyHolder(fed, keyHolder2), "holder of the new epoch");
        assertEq(registry.getKeyEpoch(fed, 2).revokedAt, 0, "new epoch live");
        uint64 next = _postedRound();
        assertEq(registry.getRound(fed, next).keyEpoch, 2, "next round under epoch 2");
        vm.prank(keyHolder2);
        registry.finalizeRound(fed, next, 0, _artifact("model"), _artifact("metrics"), _dp());
        assertTrue(registry.getRound(fed, next).status == RoundStatus.Finalized, "finalized");
    }

    function test_RevertWhen_RegrantRevokedHolderInNewEpoch() public {
        vm.warp(block.timestamp + 3);
        _revokeKeyHolder(keyHolder);
        uint48 revokedAt = uint48(block.timestamp);
        _rotate("pk2");
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyGrantRevoked.selector, fed, KeyKind.PaillierPrivateKey, address(0), keyHolder, revokedAt
            )
        );
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmPk2", keccak256("pk2 blob"));
    }

    function test_RevertGiven_OldEpochHolder_Finalize() public {
        _secondKeyHolder();
        _rotate("pk2");
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmPk2", keccak256("pk2 blob"));
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryWrongKeyEpoch.selector, fed, keyHolder2, uint32(1), uint32(2))
        );
        vm.prank(keyHolder2);
        registry.finalizeRound(fed, round, 0, _artifact("model"), _artifact("metrics"), _dp());
    }

    function test_RevertGiven_OldEpochHolder_Dispute() public {
        _rotate("pk2");
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryWrongKeyEpoch.selector, fed, keyHolder, uint32(1), uint32(2))
        );
        _dispute(keyHolder, round, keccak256("agg"), DisputeReason.AggregateMismatch);
    }

    function test_RevokeOldEpochHolderLeavesCurrentEpochLive() public {
        _secondKeyHolder();
        _rotate("pk2");
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmPk2", keccak256("pk2 blob"));
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyEpochRevoked(fed, 1, keyHolder2, admin);
        _revokeKeyHolder(keyHolder2);
        assertTrue(registry.getKeyEpoch(fed, 1).revokedAt != 0, "epoch 1 retired");
        assertEq(registry.getKeyEpoch(fed, 2).revokedAt, 0, "epoch 2 live");
        assertTrue(registry.isKeyHolder(fed, keyHolder), "current holder unaffected");
        _finalize(_postedRound(), 0);
    }

    function test_IsKeyHolderMeansCurrentEpoch() public {
        assertTrue(registry.isKeyHolder(fed, keyHolder), "fixture holder");
        assertTrue(!registry.isKeyHolder(fed, stranger), "never granted");
        assertTrue(!registry.isKeyHolder(fed + 1, keyHolder), "unknown federation");
        _rotate("pk2");
        assertTrue(!registry.isKeyHolder(fed, keyHolder), "holds only the old epoch");
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmPk2", keccak256("pk2 blob"));
        assertTrue(registry.isKeyHolder(fed, keyHolder), "holds the current epoch");
        _revokeKeyHolder(keyHolder);
        assertTrue(!registry.isKeyHolder(fed, keyHolder), "revoked");
    }

    function test_RegrantSameBlobInNewEpochChanges() public {
        _rotate("pk2");
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyGranted(fed, keyHolder, address(0), KeyKind.PaillierPrivateKey, admin, "QmWrappedPaillier", SHA, 2);
        vm.prank(admin);
        assertTrue(
            registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmWrappedPaillier", SHA),
            "same blob, new epoch: a change"
        );
        assertTrue(registry.isKeyHolder(fed, keyHolder), "holder of epoch 2");
    }

    function test_RevertWhen_GrantPaillierKeyBeforeAnyEpoch() public {
        vm.prank(operator);
        uint64 other = registry.createFederation(admin, 1, CodecKeyPolicy.PerDataOwner);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryPublicKeyNotSet.selector, other));
        vm.prank(admin);
        registry.grantKey(other, KeyKind.PaillierPrivateKey, keyHolder, "QmWrapped", SHA);
    }

    // ------------------------------------------------------------------ key grants

    function test_GrantPaillierKeyRecordsEpoch() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyGranted(fed, keyHolder2, address(0), KeyKind.PaillierPrivateKey, admin, "QmWrappedPaillier2",
            keccak256("pk2 blob"), 1);
        _secondKeyHolder();
        KeyGrant memory g = registry.getKeyGrant(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder2);
        assertEq(g.keyEpoch, 1, "epoch 1");
        assertEq(g.grantor, admin, "grantor");
        assertTrue(registry.isKeyHolder(fed, keyHolder2), "key holder");
    }

    function test_GrantCodecKeyByDataOwner() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyGranted(fed, analyst3, owner, KeyKind.CodecKey, owner, "QmWrapped", SHA, 0);
        vm.prank(owner);
        assertTrue(registry.grantKey(fed, KeyKind.CodecKey, analyst3, "QmWrapped", SHA), "granted");
        KeyGrant memory g = registry.getKeyGrant(fed, KeyKind.CodecKey, owner, analyst3);
        assertEq(g.grantor, owner, "grantor");
        assertEq(g.grantedAt, block.timestamp, "granted at");
        assertEq(g.revokedAt, 0, "not revoked");
        assertEq(g.wrappedKeySha256, SHA, "blob hash");
        assertEq(g.keyEpoch, 0, "codec keys have no epoch");
    }

    function test_GrantKeyIsIdempotent() public {
        vm.recordLogs();
        vm.prank(admin);
        bool changed = registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmWrappedPaillier", SHA);
        assertTrue(!changed, "no change reported");
        assertEq(vm.getRecordedLogs().length, 0, "no event on a repeated grant");
    }

    function test_GrantKeyWithNewBlobReplacesIt() public {
        bytes32 rewrapped = keccak256("rewrapped");
        vm.warp(block.timestamp + 10);
        vm.prank(admin);
        assertTrue(registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmRewrapped", rewrapped), "changed");
        KeyGrant memory g = registry.getKeyGrant(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder);
        assertEq(g.wrappedKeySha256, rewrapped, "new blob");
        assertEq(g.grantedAt, block.timestamp, "new time");
        assertEq(g.keyEpoch, 1, "same epoch");
    }

    function test_GrantCodecKeyByAdminUnderFederationWidePolicy() public {
        vm.prank(operator);
        uint64 other = registry.createFederation(admin, 1, CodecKeyPolicy.FederationWide);
        vm.prank(admin);
        registry.grantKey(other, KeyKind.CodecKey, analyst, "QmWrapped", SHA);
        assertEq(registry.getKeyGrant(other, KeyKind.CodecKey, address(0), analyst).grantor, admin, "filed under 0");
    }

    function test_RevertWhen_GrantCodecKeyByAdminUnderPerDataOwnerPolicy() public {
        bytes32 role = registry.DATA_OWNER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, admin, role));
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.CodecKey, analyst, "QmWrapped", SHA);
    }

    function test_RevertWhen_GrantPaillierKeyByNonAdmin() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, owner, role));
        vm.prank(owner);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, owner, "QmWrapped", SHA);
    }

    function test_RevertWhen_GrantKeyToZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroAddress.selector));
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, address(0), "QmWrapped", SHA);
    }

    function test_RevertWhen_GrantKeyWithZeroHash() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, analyst, "QmWrapped", bytes32(0));
    }

    function test_RevertWhen_GrantKeyWithEmptyCid() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryEmptyCid.selector));
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, analyst, "", SHA);
    }

    function test_RevokeKey() public {
        vm.warp(block.timestamp + 5);
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyRevoked(fed, keyHolder, address(0), KeyKind.PaillierPrivateKey, admin);
        vm.prank(admin);
        assertTrue(registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder), "revoked");
        assertTrue(!registry.isKeyHolder(fed, keyHolder), "no longer key holder");
        assertEq(registry.getKeyGrant(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder).revokedAt,
            block.timestamp, "revocation time recorded");
        vm.recordLogs();
        vm.prank(admin);
        assertTrue(!registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder), "idempotent");
        assertEq(vm.getRecordedLogs().length, 0, "no event on a repeated revoke");
    }

    function test_DataOwnerRevokesOwnCodecKey() public {
        vm.recordLogs();
        vm.prank(owner);
        assertTrue(registry.revokeKey(fed, KeyKind.CodecKey, owner, analyst), "revoked by owner");
        assertEq(vm.getRecordedLogs().length, 1, "KeyRevoked only: codec keys have no epoch");
        assertTrue(registry.getKeyGrant(fed, KeyKind.CodecKey, owner, analyst).revokedAt != 0, "revoked");
    }

    function test_RevertWhen_DataOwnerRevokesAnotherOwnersCodecKey() public {
        address owner2 = vm.addr(0xD2);
        bytes32 dataOwnerRole = registry.DATA_OWNER_ROLE();
        bytes32 adminRole = registry.FEDERATION_ADMIN_ROLE();
        vm.prank(admin);
        registry.grantFederationRole(fed, dataOwnerRole, owner2);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, owner2, adminRole));
        vm.prank(owner2);
        registry.revokeKey(fed, KeyKind.CodecKey, owner, analyst);
    }

    function test_RevertWhen_GrantKeyAfterRevocation() public {
        vm.startPrank(owner);
        registry.revokeKey(fed, KeyKind.CodecKey, owner, analyst);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyGrantRevoked.selector, fed, KeyKind.CodecKey, owner, analyst, uint48(block.timestamp)
            )
        );
        registry.grantKey(fed, KeyKind.CodecKey, analyst, "QmNew", keccak256("new"));
        vm.stopPrank();
    }

    function test_RevertWhen_RevokeKeyNeverGranted() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), analyst
            )
        );
        vm.prank(admin);
        registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), analyst);
    }

    function test_RevertWhen_RevokeKeyByStranger() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, stranger, role));
        vm.prank(stranger);
        registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder);
    }

    // ------------------------------------------------------------------ rounds

    function test_OpenRound() public {
        uint64 deadline = uint64(block.timestamp + 1 hours);
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundOpened(fed, 1, admin, deadline, 1);
        vm.prank(admin);
        uint64 round = registry.openRound(fed, deadline);
        assertEq(round, 1, "first round");
        Round memory r = registry.getRound(fed, round);
        assertTrue(r.status == RoundStatus.Open, "open");
        assertEq(r.deadline, deadline, "deadline");
        assertEq(r.keyEpoch, 1, "round records the key epoch");
        assertEq(registry.getFederation(fed).roundCount, 1, "round count");
    }

    function test_RevertWhen_OpenRoundWithoutPublicKey() public {
        vm.prank(operator);
        uint64 other = registry.createFederation(admin, 1, CodecKeyPolicy.PerDataOwner);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryPublicKeyNotSet.selector, other));
        vm.prank(admin);
        registry.openRound(other, uint64(block.timestamp + 1));
    }

    function test_RevertWhen_OpenRoundWhileOneIsLive() public {
        _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryRoundInProgress.selector, fed, uint64(1), RoundStatus.Open));
        vm.prank(admin);
        registry.openRound(fed, uint64(block.timestamp + 1));
    }

    function test_RevertWhen_OpenRoundWithPastDeadline() public {
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryDeadlineInPast.selector, uint64(block.timestamp), block.timestamp)
        );
        vm.prank(admin);
        registry.openRound(fed, uint64(block.timestamp));
    }

    function test_RevertWhen_OpenRoundByNonAdmin() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, aggregator, role));
        vm.prank(aggregator);
        registry.openRound(fed, uint64(block.timestamp + 1));
    }

    function test_RevertWhen_GetUnknownRound() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownRound.selector, fed, uint64(1)));
        registry.getRound(fed, 1);
    }

    // ------------------------------------------------------------------ updates

    function test_SubmitUpdate() public {
        uint64 round = _openRound();
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit UpdateSubmitted(expectedId, fed, round, analyst, CID, keccak256("u1"), 1234, WEIGHT, _datasetParents());
        vm.recordLogs();
        uint64 id = _submit(round, analyst, "u1");
        assertEq(vm.getRecordedLogs().length, 1, "an update's only event");
        assertEq(id, expectedId, "artifact id");
        assertEq(registry.getRound(fed, round).updateCount, 1, "count");
        bytes32 expected = ArtifactDigest.compute(
            ArtifactKind.ModelUpdate, fed, round, analyst, CID, keccak256("u1"), 1234, _datasetParents()
        );
        assertEq(registry.updateDigest(fed, round, analyst), expected, "digest filed per round and analyst");
        assertEq(registry.artifactDigest(id), bytes32(0), "not filed by id");
        UpdateRecord memory u = registry.getUpdate(fed, keccak256("u1"));
        assertEq(u.artifactId, id, "filed by content hash");
        assertEq(u.round, round, "its round");
        assertEq(u.weight, WEIGHT, "its weight");
        assertEq(registry.getUpdate(fed, keccak256("unknown")).artifactId, 0, "unknown hash");
    }

    function test_SubmitUpdateAtDeadline() public {
        uint64 round = _openRound();
        vm.warp(registry.getRound(fed, round).deadline);
        _submit(round, analyst, "u1");
        assertEq(registry.getRound(fed, round).updateCount, 1, "accepted at the deadline");
    }

    function test_SubmitUpdateWithWeightOfAllSamples() public {
        uint64 round = _openRound();
        _submitWeighted(round, analyst, "u1", SAMPLES);
        assertEq(registry.getUpdate(fed, keccak256("u1")).weight, SAMPLES, "full weight");
    }

    function test_SubmitUpdateOverTwoDatasetsSumsTheirSamples() public {
        address owner2 = vm.addr(0xD2);
        bytes32 dataOwnerRole = registry.DATA_OWNER_ROLE();
        vm.prank(admin);
        registry.grantFederationRole(fed, dataOwnerRole, owner2);
        vm.startPrank(owner2);
        uint64 second = registry.registerDataset(fed, _artifact("dataset 2"), 250, _noParents());
        registry.grantKey(fed, KeyKind.CodecKey, analyst, "QmWrappedCodecO2", keccak256("codec o2"));
        vm.stopPrank();
        uint64 round = _openRound();
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u1"), SAMPLES + 250, _two(dataset, second));
        assertEq(registry.getUpdate(fed, keccak256("u1")).weight, SAMPLES + 250, "weight over both datasets");
    }

    function test_SubmitUpdateWithNonDatasetParentCountsOnlyDatasets() public {
        _finalize(_postedRound(), 0);
        uint64 model = registry.getModelVersion(fed, 1).globalModelArtifact;
        uint64 round = _openRound();
        uint64[] memory parents = _two(dataset, model);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryInvalidWeight.selector, fed, analyst, SAMPLES + 1, SAMPLES)
        );
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u1"), SAMPLES + 1, parents);
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u1"), SAMPLES, parents);
        assertEq(
            registry.updateDigest(fed, round, analyst),
            ArtifactDigest.compute(ArtifactKind.ModelUpdate, fed, round, analyst, CID, keccak256("u1"), 1234, parents),
            "digest names both parents"
        );
    }

    function test_SubmitUpdateUnderFederationWidePolicy() public {
        vm.prank(operator);
        uint64 other = registry.createFederation(admin, 1, CodecKeyPolicy.FederationWide);
        vm.startPrank(admin);
        registry.grantFederationRole(other, registry.DATA_OWNER_ROLE(), owner);
        registry.grantFederationRole(other, registry.ANALYST_ROLE(), analyst);
        registry.startKeyEpoch(other, _artifact("pk"), ENCODING);
        uint64 round = registry.openRound(other, uint64(block.timestamp + 1 hours));
        vm.stopPrank();
        vm.prank(owner);
        uint64 data = registry.registerDataset(other, _artifact("d"), 10, _noParents());
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDatasetNotGranted.selector, other, data, analyst));
        vm.prank(analyst);
        registry.submitUpdate(other, round, _artifact("u1"), 10, _one(data));
        vm.prank(admin);
        registry.grantKey(other, KeyKind.CodecKey, analyst, "QmFederationCodec", keccak256("fed codec"));
        vm.prank(analyst);
        registry.submitUpdate(other, round, _artifact("u1"), 10, _one(data));
        assertEq(registry.getRound(other, round).updateCount, 1, "accepted with the federation-wide grant");
    }

    function test_SameContentInAnotherFederationIsAccepted() public {
        (uint64 other,, uint64 foreign) = _otherFederationWithUpdate(keccak256("u1"));
        uint64 round = _openRound();
        uint64 id = _submit(round, analyst, "u1");
        assertEq(registry.getUpdate(fed, keccak256("u1")).artifactId, id, "filed in this federation");
        assertEq(registry.getUpdate(other, keccak256("u1")).artifactId, foreign, "and separately in the other");
    }

    function test_RevertWhen_SubmitUpdateByNonAnalyst() public {
        uint64 round = _openRound();
        bytes32 role = registry.ANALYST_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, stranger, role));
        _submit(round, stranger, "x");
    }

    function test_RevertWhen_SubmitUpdateAfterDeadline() public {
        uint64 round = _openRound();
        uint64 deadline = registry.getRound(fed, round).deadline;
        vm.warp(deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryDeadlinePassed.selector, fed, round, deadline, uint256(deadline) + 1)
        );
        _submit(round, analyst, "late");
    }

    function test_RevertWhen_SubmitUpdateTwice() public {
        uint64 round = _openRound();
        _submit(round, analyst, "u1");
        bytes32 first = registry.updateDigest(fed, round, analyst);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDuplicateUpdate.selector, fed, round, analyst, first));
        _submit(round, analyst, "u1-again");
    }

    function test_RevertWhen_SubmitCopiedUpdateContent() public {
        uint64 round = _openRound();
        uint64 original = _submit(round, analyst, "u1");
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryDuplicateUpdateContent.selector, fed, keccak256("u1"), original)
        );
        _submit(round, analyst2, "u1");
    }

    function test_RevertWhen_SubmitReplayOfEarlierRoundUpdate() public {
        uint64 round = _openRound();
        uint64 original = _submit(round, analyst, "u1");
        _submit(round, analyst2, "u2");
        _close(round);
        vm.prank(admin);
        registry.abortRound(fed, round, "replay test");
        uint64 next = _openRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryDuplicateUpdateContent.selector, fed, keccak256("u1"), original)
        );
        _submit(next, analyst, "u1");
    }

    function test_RevertWhen_SubmitUpdateWithZeroWeight() public {
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidWeight.selector, fed, analyst, uint64(0), SAMPLES));
        _submitWeighted(round, analyst, "u1", 0);
    }

    function test_RevertWhen_SubmitUpdateWithWeightAboveSamples() public {
        uint64 round = _openRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryInvalidWeight.selector, fed, analyst, SAMPLES + 1, SAMPLES)
        );
        _submitWeighted(round, analyst, "u1", SAMPLES + 1);
    }

    function test_RevertWhen_SubmitUpdateWithoutDatasetParent() public {
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidWeight.selector, fed, analyst, WEIGHT, uint64(0)));
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u1"), WEIGHT, _noParents());
    }

    function test_RevertWhen_SubmitUpdateOnUngrantedDataset() public {
        bytes32 role = registry.ANALYST_ROLE();
        vm.prank(admin);
        registry.grantFederationRole(fed, role, analyst3);
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDatasetNotGranted.selector, fed, dataset, analyst3));
        _submit(round, analyst3, "u3");
    }

    /// @dev A codec key granted by another data owner does not open this owner's dataset.
    function test_RevertWhen_SubmitUpdateOnDatasetGrantedByAnotherOwner() public {
        address owner2 = vm.addr(0xD2);
        bytes32 dataOwnerRole = registry.DATA_OWNER_ROLE();
        bytes32 analystRole = registry.ANALYST_ROLE();
        vm.startPrank(admin);
        registry.grantFederationRole(fed, dataOwnerRole, owner2);
        registry.grantFederationRole(fed, analystRole, analyst3);
        vm.stopPrank();
        vm.prank(owner2);
        registry.grantKey(fed, KeyKind.CodecKey, analyst3, "QmWrappedCodecO2", keccak256("codec o2"));
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDatasetNotGranted.selector, fed, dataset, analyst3));
        _submit(round, analyst3, "u3");
    }

    function test_RevertWhen_SubmitUpdateWithRevokedCodecGrant() public {
        vm.prank(owner);
        registry.revokeKey(fed, KeyKind.CodecKey, owner, analyst);
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDatasetNotGranted.selector, fed, dataset, analyst));
        _submit(round, analyst, "u1");
    }

    function test_RevertWhen_SubmitUpdateWithForeignDataset() public {
        (uint64 other, uint64 foreignDataset,) = _otherFederationWithUpdate(keccak256("other update"));
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryForeignParent.selector, fed, foreignDataset, other));
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u1"), WEIGHT, _two(dataset, foreignDataset));
    }

    function test_RevertWhen_SubmitUpdateWithUnsortedParents() public {
        vm.prank(owner);
        uint64 second = registry.registerDataset(fed, _artifact("dataset 2"), 10, _noParents());
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedParents.selector, dataset));
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u1"), WEIGHT, _two(second, dataset));
    }

    /// @dev Naming a dataset twice would count its samples twice.
    function test_RevertWhen_SubmitUpdateWithRepeatedParent() public {
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedParents.selector, dataset));
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u1"), SAMPLES + 1, _two(dataset, dataset));
    }

    function test_RevertWhen_SubmitUpdateWithZeroParent() public {
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedParents.selector, uint64(0)));
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u1"), WEIGHT, new uint64[](1));
    }

    function test_RevertWhen_SubmitUpdateWithUnknownParent() public {
        uint64 round = _openRound();
        uint64 unknown = registry.artifactCount() + 1;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, unknown));
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u1"), WEIGHT, _two(dataset, unknown));
    }

    function test_RevertWhen_SubmitUpdateWithUpdateAsParent() public {
        uint64 round = _openRound();
        uint64 first = _submit(round, analyst, "u1");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUpdateAsParent.selector, first));
        vm.prank(analyst2);
        registry.submitUpdate(fed, round, _artifact("u2"), WEIGHT, _two(dataset, first));
    }

    function test_RevertWhen_SubmitUpdateToClosedRound() public {
        (uint64 round,) = _aggregatingRound();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Aggregating, RoundStatus.Open
            )
        );
        _submit(round, analyst, "x");
    }

    function test_RevertWhen_SubmitUpdateToUnknownRound() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownRound.selector, fed, uint64(5)));
        _submit(5, analyst, "x");
    }

    function test_RevertWhen_SubmitUpdateWithZeroHash() public {
        uint64 round = _openRound();
        uint64[] memory parents = _datasetParents();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(analyst);
        registry.submitUpdate(fed, round, ArtifactInput(CID, bytes32(0), 1), WEIGHT, parents);
    }

    function test_RevertWhen_SubmitUpdateWithEmptyCid() public {
        uint64 round = _openRound();
        uint64[] memory parents = _datasetParents();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryEmptyCid.selector));
        vm.prank(analyst);
        registry.submitUpdate(fed, round, ArtifactInput("", SHA, 1), WEIGHT, parents);
    }

    // ------------------------------------------------------------------ closing

    function test_CloseRound() public {
        uint64 round = _openRound();
        _submit(round, analyst, "u1");
        _submit(round, analyst2, "u2");
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundClosed(fed, round, aggregator, 2);
        _close(round);
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Aggregating, "aggregating");
    }

    function test_RevertWhen_CloseRoundWithTooFewUpdates() public {
        uint64 round = _openRound();
        _submit(round, analyst, "u1");
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryTooFewUpdates.selector, fed, round, uint32(1), MIN_PARTICIPANTS)
        );
        _close(round);
    }

    function test_RevertWhen_CloseRoundByNonAggregator() public {
        uint64 round = _openRound();
        bytes32 role = registry.AGGREGATOR_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, analyst, role));
        vm.prank(analyst);
        registry.closeRound(fed, round);
    }

    // ------------------------------------------------------------------ aggregates

    function test_PostAggregate() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        uint64[] memory ids = _idsOf(shas);
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit ArtifactRegistered(
            expectedId, fed, round, ArtifactKind.EncryptedAggregate, aggregator, CID, keccak256("agg"), 1234, ids
        );
        vm.expectEmit(true, true, true, true, address(registry));
        emit AggregatePosted(fed, round, aggregator, expectedId, keccak256("agg"), 2, 0, 2 * WEIGHT);
        uint64 id = _post(round, "agg", shas, _noExclusions());
        assertEq(id, expectedId, "aggregate id");
        Round memory r = registry.getRound(fed, round);
        assertEq(r.aggregateArtifact, id, "aggregate id stored");
        assertEq(r.aggregateSha256, keccak256("agg"), "aggregate hash");
        assertEq(r.includedCount, 2, "included count");
        assertEq(r.weightsTotal, 2 * WEIGHT, "weights total");
        assertTrue(!r.disputed, "not disputed");
        bytes32 expected = ArtifactDigest.compute(
            ArtifactKind.EncryptedAggregate, fed, round, aggregator, CID, keccak256("agg"), 1234, ids
        );
        assertEq(registry.artifactDigest(id), expected, "digest names the included updates, by hash order");
    }

    function test_PostAggregateWithExclusion() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(3);
        bytes32 left = keccak256("u2");
        bytes32[] memory included = new bytes32[](2);
        uint256 k;
        for (uint256 i = 0; i < 3; ++i) if (shas[i] != left) included[k++] = shas[i];
        uint64[] memory ids = _idsOf(included);
        uint64 leftId = registry.getUpdate(fed, left).artifactId;
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit AggregatePosted(fed, round, aggregator, expectedId, keccak256("agg"), 2, 1, 100 + 300);
        vm.expectEmit(true, true, true, true, address(registry));
        emit UpdateExcluded(fed, round, leftId, left, ExclusionReason.WrongLayout);
        _post(round, "agg", included, _exclusion(left, ExclusionReason.WrongLayout));
        Round memory r = registry.getRound(fed, round);
        assertEq(r.includedCount, 2, "two included");
        assertEq(r.updateCount, 3, "of three");
        assertEq(r.weightsTotal, 400, "weights of the included updates only");
        assertEq(
            registry.artifactDigest(expectedId),
            _aggregateDigest(round, "agg", ids),
            "the aggregate's parents are exactly the included updates"
        );
    }

    function test_PostAggregateWithTwoExclusionsEmitsThemInOrder() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(4);
        // Include the first and third hash, exclude the second and fourth.
        bytes32[] memory included = new bytes32[](2);
        included[0] = shas[0];
        included[1] = shas[2];
        Exclusion[] memory excluded = new Exclusion[](2);
        excluded[0] = Exclusion(shas[1], ExclusionReason.Unavailable);
        excluded[1] = Exclusion(shas[3], ExclusionReason.WeightMismatch);
        vm.recordLogs();
        uint64 id = _post(round, "agg", included, excluded);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 4, "ArtifactRegistered, AggregatePosted, 2 x UpdateExcluded");
        assertEq(logs[1].topics[0], AggregatePosted.selector, "AggregatePosted first");
        (,, uint32 includedCount, uint32 excludedCount, uint64 weightsTotal) =
            abi.decode(logs[1].data, (uint64, bytes32, uint32, uint32, uint64));
        assertEq(includedCount, 2, "included count");
        assertEq(excludedCount, 2, "excluded count");
        assertEq(
            weightsTotal,
            registry.getUpdate(fed, shas[0]).weight + registry.getUpdate(fed, shas[2]).weight,
            "weights total"
        );
        for (uint256 i = 0; i < 2; ++i) {
            Vm.Log memory log = logs[2 + i];
            assertEq(log.topics[0], UpdateExcluded.selector, "UpdateExcluded after");
            assertEq(uint256(log.topics[3]), registry.getUpdate(fed, excluded[i].updateSha256).artifactId, "id");
            (bytes32 sha, ExclusionReason reason) = abi.decode(log.data, (bytes32, ExclusionReason));
            assertEq(sha, excluded[i].updateSha256, "hash");
            assertTrue(reason == excluded[i].reason, "reason");
        }
        assertEq(registry.artifactDigest(id), _aggregateDigest(round, "agg", _idsOf(included)), "parents");
    }

    function test_RevertWhen_PostAggregateNamesDatasetHash() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        bytes32 datasetSha = keccak256("dataset");
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryUpdateNotInRound.selector, fed, round, datasetSha, uint64(0), uint64(0))
        );
        _post(round, "agg", _sorted(datasetSha, shas[0]), _noExclusions());
    }

    function test_RevertWhen_PostAggregateNamesUpdateTwice() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        bytes32[] memory included = new bytes32[](2);
        included[0] = shas[0];
        included[1] = shas[0];
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedUpdates.selector, fed, round, shas[0]));
        _post(round, "agg", included, _noExclusions());
    }

    function test_RevertWhen_PostAggregateNamesUpdateInBothLists() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(3);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedUpdates.selector, fed, round, shas[1]));
        _post(round, "agg", _sorted(shas[0], shas[1]), _exclusion(shas[1], ExclusionReason.Unparseable));
    }

    function test_RevertWhen_PostAggregateNamesEarlierRoundUpdate() public {
        (uint64 first, bytes32[] memory old) = _aggregatingRound();
        vm.prank(admin);
        registry.abortRound(fed, first, "aggregator gone");
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        uint64 oldId = registry.getUpdate(fed, old[0]).artifactId;
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryUpdateNotInRound.selector, fed, round, old[0], oldId, first)
        );
        _post(round, "agg", _sorted(old[0], shas[0]), _noExclusions());
    }

    function test_RevertWhen_PostAggregateExcludesEarlierRoundUpdate() public {
        (uint64 first, bytes32[] memory old) = _aggregatingRound();
        vm.prank(admin);
        registry.abortRound(fed, first, "aggregator gone");
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(3);
        uint64 oldId = registry.getUpdate(fed, old[0]).artifactId;
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryUpdateNotInRound.selector, fed, round, old[0], oldId, first)
        );
        // Names two of the three updates and an old one in place of the third.
        _post(round, "agg", _sorted(shas[0], shas[1]), _exclusion(old[0], ExclusionReason.Unavailable));
    }

    function test_RevertWhen_PostAggregateNamesOtherFederationUpdate() public {
        bytes32 foreignSha = keccak256("foreign update");
        _otherFederationWithUpdate(foreignSha);
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryUpdateNotInRound.selector, fed, round, foreignSha, uint64(0), uint64(0))
        );
        _post(round, "agg", _sorted(foreignSha, shas[1]), _noExclusions());
    }

    function test_RevertWhen_PostAggregateWithUnsortedIncluded() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        bytes32[] memory included = new bytes32[](2);
        included[0] = shas[1];
        included[1] = shas[0];
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedUpdates.selector, fed, round, shas[0]));
        _post(round, "agg", included, _noExclusions());
    }

    function test_RevertWhen_PostAggregateWithUnsortedExclusions() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(4);
        Exclusion[] memory excluded = new Exclusion[](2);
        excluded[0] = Exclusion(shas[3], ExclusionReason.Unavailable);
        excluded[1] = Exclusion(shas[1], ExclusionReason.Unavailable);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedUpdates.selector, fed, round, shas[1]));
        _post(round, "agg", _sorted(shas[0], shas[2]), excluded);
    }

    function test_RevertWhen_PostAggregateNamesZeroHash() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedUpdates.selector, fed, round, bytes32(0)));
        _post(round, "agg", _sorted(bytes32(0), shas[0]), _noExclusions());
    }

    function test_RevertWhen_PostAggregateExclusionWithoutReason() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(3);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryMissingExclusionReason.selector, shas[2]));
        _post(round, "agg", _sorted(shas[0], shas[1]), _exclusion(shas[2], ExclusionReason.None));
    }

    function test_RevertWhen_PostAggregateIncludesTooFew() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(3);
        Exclusion[] memory excluded = new Exclusion[](2);
        excluded[0] = Exclusion(shas[1], ExclusionReason.OverSize);
        excluded[1] = Exclusion(shas[2], ExclusionReason.WrongKey);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryTooFewUpdates.selector, fed, round, uint32(1), MIN_PARTICIPANTS)
        );
        _post(round, "agg", _shaList(shas[0]), excluded);
    }

    function test_RevertWhen_PostAggregateIncludesNone() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        Exclusion[] memory excluded = new Exclusion[](2);
        excluded[0] = Exclusion(shas[0], ExclusionReason.ContentMismatch);
        excluded[1] = Exclusion(shas[1], ExclusionReason.WrongContext);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryTooFewUpdates.selector, fed, round, uint32(0), MIN_PARTICIPANTS)
        );
        _post(round, "agg", new bytes32[](0), excluded);
    }

    function test_RevertWhen_PostAggregateOmitsAnUpdate() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(3);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryAggregateUpdateMismatch.selector, fed, round, uint256(2), uint32(3))
        );
        _post(round, "agg", _sorted(shas[0], shas[1]), _noExclusions());
    }

    function test_RevertWhen_PostAggregateNamesTooMany() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryAggregateUpdateMismatch.selector, fed, round, uint256(3), uint32(2))
        );
        _post(round, "agg", shas, _exclusion(keccak256("phantom"), ExclusionReason.Unavailable));
    }

    function test_RevertWhen_PostAggregateTwice() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        uint64 posted = _post(round, "agg", shas, _noExclusions());
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryAggregateAlreadyPosted.selector, fed, round, posted));
        _post(round, "agg2", shas, _noExclusions());
    }

    function test_RevertWhen_PostAggregateToOpenRound() public {
        uint64 round = _openRound();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Open, RoundStatus.Aggregating
            )
        );
        _post(round, "agg", new bytes32[](0), _noExclusions());
    }

    function test_RevertWhen_PostAggregateByNonAggregator() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        bytes32 role = registry.AGGREGATOR_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, keyHolder, role));
        vm.prank(keyHolder);
        registry.postAggregate(fed, round, _artifact("agg"), shas, _noExclusions());
    }

    function test_RevertWhen_PostAggregateWithZeroHash() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(aggregator);
        registry.postAggregate(fed, round, ArtifactInput(CID, bytes32(0), 1), shas, _noExclusions());
    }

    // ------------------------------------------------------------------ disputes

    function test_DisputeAggregate() public {
        uint64 round = _postedRound();
        uint64 aggregateId = registry.getRound(fed, round).aggregateArtifact;
        vm.expectEmit(true, true, true, true, address(registry));
        emit AggregateDisputed(
            fed, round, keyHolder, aggregateId, DisputeReason.DecryptionRefused, "slot 3 sum out of bound"
        );
        _dispute(keyHolder, round, keccak256("agg"), DisputeReason.DecryptionRefused);
        Round memory r = registry.getRound(fed, round);
        assertTrue(r.disputed, "disputed");
        assertTrue(r.status == RoundStatus.Aggregating, "still aggregating");
    }

    function test_DisputeExcludedUpdate() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(3);
        _post(round, "agg", _sorted(shas[0], shas[1]), _exclusion(shas[2], ExclusionReason.Unavailable));
        uint64 subject = registry.getUpdate(fed, shas[2]).artifactId;
        vm.expectEmit(true, true, true, true, address(registry));
        emit AggregateDisputed(
            fed, round, keyHolder, subject, DisputeReason.ValidUpdateExcluded, "slot 3 sum out of bound"
        );
        _dispute(keyHolder, round, shas[2], DisputeReason.ValidUpdateExcluded);
        assertTrue(registry.getRound(fed, round).disputed, "disputed");
    }

    function test_DisputeIncludedUpdate() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        _post(round, "agg", shas, _noExclusions());
        uint64 subject = registry.getUpdate(fed, shas[1]).artifactId;
        vm.expectEmit(true, true, true, true, address(registry));
        emit AggregateDisputed(
            fed, round, keyHolder, subject, DisputeReason.InvalidUpdateIncluded, "slot 3 sum out of bound"
        );
        _dispute(keyHolder, round, shas[1], DisputeReason.InvalidUpdateIncluded);
    }

    function test_DisputeWithLongestDetail() public {
        uint64 round = _postedRound();
        string memory detail = string(new bytes(registry.MAX_REASON_LENGTH()));
        vm.prank(keyHolder);
        registry.disputeAggregate(fed, round, keccak256("agg"), DisputeReason.AggregateMismatch, detail);
        assertTrue(registry.getRound(fed, round).disputed, "disputed");
    }

    function test_RevertGiven_Disputed_Finalize() public {
        uint64 round = _postedRound();
        _dispute(keyHolder, round, keccak256("agg"), DisputeReason.AggregateMismatch);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryAggregateDisputed.selector, fed, round));
        _finalize(round, 0);
    }

    function test_AdminAbortsDisputedRound() public {
        uint64 round = _postedRound();
        _dispute(keyHolder, round, keccak256("agg"), DisputeReason.AggregateMismatch);
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundAborted(fed, round, admin, "disputed");
        vm.prank(admin);
        registry.abortRound(fed, round, "disputed");
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Aborted, "aborted");
        uint64 next = _postedRound();
        assertEq(_finalize(next, 0), 1, "the next round finalizes");
    }

    function test_RevertGiven_Disputed_DisputeAgain() public {
        _secondKeyHolder();
        uint64 round = _postedRound();
        _dispute(keyHolder, round, keccak256("agg"), DisputeReason.AggregateMismatch);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryAggregateDisputed.selector, fed, round));
        _dispute(keyHolder2, round, keccak256("agg"), DisputeReason.DecryptionRefused);
    }

    function test_RevertWhen_DisputeAggregateReasonNamesUpdate() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRound();
        _post(round, "agg", shas, _noExclusions());
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryDisputeSubjectMismatch.selector, fed, round, shas[0], keccak256("agg")
            )
        );
        _dispute(keyHolder, round, shas[0], DisputeReason.AggregateMismatch);
    }

    function test_RevertWhen_DisputeUpdateReasonNamesAggregate() public {
        uint64 round = _postedRound();
        bytes32 aggregateSha = keccak256("agg");
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryUpdateNotInRound.selector, fed, round, aggregateSha, uint64(0), uint64(0))
        );
        _dispute(keyHolder, round, aggregateSha, DisputeReason.ValidUpdateExcluded);
    }

    function test_RevertWhen_DisputeNamesEarlierRoundUpdate() public {
        (uint64 first, bytes32[] memory old) = _aggregatingRound();
        vm.prank(admin);
        registry.abortRound(fed, first, "aggregator gone");
        uint64 round = _postedRound();
        uint64 oldId = registry.getUpdate(fed, old[1]).artifactId;
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryUpdateNotInRound.selector, fed, round, old[1], oldId, first)
        );
        _dispute(keyHolder, round, old[1], DisputeReason.InvalidUpdateIncluded);
    }

    function test_RevertWhen_DisputeByNonKeyHolder() public {
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), aggregator
            )
        );
        _dispute(aggregator, round, keccak256("agg"), DisputeReason.AggregateMismatch);
    }

    function test_RevertWhen_DisputeByRevokedKeyHolder() public {
        uint64 round = _postedRound();
        _revokeKeyHolder(keyHolder);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyGrantRevoked.selector,
                fed,
                KeyKind.PaillierPrivateKey,
                address(0),
                keyHolder,
                uint48(block.timestamp)
            )
        );
        _dispute(keyHolder, round, keccak256("agg"), DisputeReason.AggregateMismatch);
    }

    function test_RevertWhen_DisputeWithOverlongDetail() public {
        uint64 round = _postedRound();
        string memory detail = _overlong();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryReasonTooLong.selector, uint256(513), uint256(512)));
        vm.prank(keyHolder);
        registry.disputeAggregate(fed, round, keccak256("agg"), DisputeReason.AggregateMismatch, detail);
    }

    function test_RevertGiven_NoAggregate_Dispute() public {
        (uint64 round,) = _aggregatingRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryAggregateMissing.selector, fed, round));
        _dispute(keyHolder, round, keccak256("agg"), DisputeReason.AggregateMismatch);
    }

    function test_RevertGiven_RoundOpen_Dispute() public {
        uint64 round = _openRound();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Open, RoundStatus.Aggregating
            )
        );
        _dispute(keyHolder, round, keccak256("agg"), DisputeReason.AggregateMismatch);
    }

    function test_RevertGiven_RoundFinalized_Dispute() public {
        uint64 round = _postedRound();
        _finalize(round, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Finalized, RoundStatus.Aggregating
            )
        );
        _dispute(keyHolder, round, keccak256("agg"), DisputeReason.AggregateMismatch);
    }

    function test_RevertWhen_DisputeUnknownRound() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownRound.selector, fed, uint64(4)));
        _dispute(keyHolder, 4, keccak256("agg"), DisputeReason.AggregateMismatch);
    }

    // ------------------------------------------------------------------ finalization

    function test_FinalizeRound() public {
        uint64 round = _postedRound();
        uint64 aggregateId = registry.getRound(fed, round).aggregateArtifact;
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundFinalized(fed, round, 1, keyHolder, 0, aggregateId + 1, aggregateId + 2, _dp());
        uint64 version = _finalize(round, 0);
        assertEq(version, 1, "first version");
        ModelVersion memory v = registry.getModelVersion(fed, version);
        assertEq(v.round, round, "round");
        assertEq(v.parentVersion, 0, "no parent");
        assertEq(v.globalModelArtifact, aggregateId + 1, "model artifact");
        assertEq(v.metricsArtifact, aggregateId + 2, "metrics artifact");
        Round memory r = registry.getRound(fed, round);
        assertTrue(r.status == RoundStatus.Finalized, "finalized");
        assertEq(r.modelVersion, 1, "round -> version");
        assertEq(registry.getFederation(fed).modelVersionCount, 1, "version count");
        assertEq(
            registry.artifactDigest(v.globalModelArtifact),
            ArtifactDigest.compute(
                ArtifactKind.GlobalModel, fed, round, keyHolder, CID, keccak256("model"), 1234, _one(aggregateId)
            ),
            "model's parent is the aggregate"
        );
        assertEq(
            registry.artifactDigest(v.metricsArtifact),
            ArtifactDigest.compute(
                ArtifactKind.Metrics, fed, round, keyHolder, CID, keccak256("metrics"), 1234, _one(v.globalModelArtifact)
            ),
            "metrics' parent is the model"
        );
    }

    function test_FinalizeSecondRoundLinksParentVersion() public {
        _finalize(_postedRound(), 0);
        uint64 round = _postedRound();
        uint64 aggregateId = registry.getRound(fed, round).aggregateArtifact;
        uint64 version = _finalize(round, 1);
        ModelVersion memory v = registry.getModelVersion(fed, version);
        assertEq(version, 2, "second version");
        assertEq(v.parentVersion, 1, "lineage");
        uint64[] memory parents = _two(aggregateId, registry.getModelVersion(fed, 1).globalModelArtifact);
        assertEq(
            registry.artifactDigest(v.globalModelArtifact),
            ArtifactDigest.compute(
                ArtifactKind.GlobalModel, fed, round, keyHolder, CID, keccak256("model"), 1234, parents
            ),
            "model's parents are the aggregate and the parent model"
        );
    }

    function test_FinalizeRoundWithExclusion() public {
        (uint64 round, bytes32[] memory shas) = _aggregatingRoundOf(3);
        _post(round, "agg", _sorted(shas[0], shas[2]), _exclusion(shas[1], ExclusionReason.ContentMismatch));
        assertEq(_finalize(round, 0), 1, "finalized with an exclusion");
    }

    function test_FinalizeRoundWithoutDp() public {
        uint64 round = _postedRound();
        vm.prank(keyHolder);
        registry.finalizeRound(fed, round, 0, _artifact("model"), _artifact("metrics"), _noDp());
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Finalized, "finalized");
    }

    function test_RevertWhen_FinalizeWithoutAggregate() public {
        (uint64 round,) = _aggregatingRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryAggregateMissing.selector, fed, round));
        _finalize(round, 0);
    }

    function test_RevertWhen_FinalizeOpenRound() public {
        uint64 round = _openRound();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Open, RoundStatus.Aggregating
            )
        );
        _finalize(round, 0);
    }

    function test_RevertWhen_FinalizeTwice() public {
        uint64 round = _postedRound();
        _finalize(round, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Finalized, RoundStatus.Aggregating
            )
        );
        _finalize(round, 0);
    }

    function test_RevertWhen_FinalizeByNonKeyHolder() public {
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), aggregator
            )
        );
        vm.prank(aggregator);
        registry.finalizeRound(fed, round, 0, _artifact("model"), _artifact("metrics"), _dp());
    }

    function test_RevertWhen_FinalizeByRevokedKeyHolder() public {
        uint64 round = _postedRound();
        _revokeKeyHolder(keyHolder);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyGrantRevoked.selector,
                fed,
                KeyKind.PaillierPrivateKey,
                address(0),
                keyHolder,
                uint48(block.timestamp)
            )
        );
        _finalize(round, 0);
    }

    function test_RevertWhen_FinalizeWithUnknownParentVersion() public {
        uint64 round = _postedRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownModelVersion.selector, fed, uint64(1)));
        _finalize(round, 1);
    }

    function test_RevertWhen_FinalizeWithHalfDp() public {
        uint64 round = _postedRound();
        DpParameters memory dp = _dp();
        dp.noiseMultiplierMicros = 0;
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryInvalidDpParameters.selector, dp.epsilonMicros, dp.deltaAtto, uint64(0), dp.clipNormMicros
            )
        );
        vm.prank(keyHolder);
        registry.finalizeRound(fed, round, 0, _artifact("model"), _artifact("metrics"), dp);
    }

    function test_RevertWhen_FinalizeWithDpValuesButNoAccountant() public {
        uint64 round = _postedRound();
        DpParameters memory dp = _dp();
        dp.accountant = "";
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryInvalidDpParameters.selector,
                dp.epsilonMicros,
                dp.deltaAtto,
                dp.noiseMultiplierMicros,
                dp.clipNormMicros
            )
        );
        vm.prank(keyHolder);
        registry.finalizeRound(fed, round, 0, _artifact("model"), _artifact("metrics"), dp);
    }

    function test_RevertWhen_FinalizeWithZeroModelHash() public {
        uint64 round = _postedRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(keyHolder);
        registry.finalizeRound(fed, round, 0, ArtifactInput(CID, bytes32(0), 1), _artifact("metrics"), _dp());
    }

    // ------------------------------------------------------------------ aborts

    function test_AbortOpenAndAggregatingRounds() public {
        uint64 round = _openRound();
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundAborted(fed, round, admin, "too few updates");
        vm.prank(admin);
        registry.abortRound(fed, round, "too few updates");
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Aborted, "aborted");
        (uint64 second,) = _aggregatingRound();
        vm.prank(admin);
        registry.abortRound(fed, second, "aggregator unresponsive");
        assertTrue(registry.getRound(fed, second).status == RoundStatus.Aborted, "aborted while aggregating");
    }

    function test_RevertWhen_AbortFinalizedRound() public {
        uint64 round = _postedRound();
        _finalize(round, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Finalized, RoundStatus.Open
            )
        );
        vm.prank(admin);
        registry.abortRound(fed, round, "too late");
    }

    function test_RevertWhen_AbortAbortedRound() public {
        uint64 round = _openRound();
        vm.startPrank(admin);
        registry.abortRound(fed, round, "once");
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Aborted, RoundStatus.Open)
        );
        registry.abortRound(fed, round, "twice");
        vm.stopPrank();
    }

    function test_RevertWhen_AbortUnknownRound() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownRound.selector, fed, uint64(3)));
        vm.prank(admin);
        registry.abortRound(fed, 3, "none");
    }

    function test_RevertWhen_AbortRoundByNonAdmin() public {
        uint64 round = _openRound();
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, aggregator, role));
        vm.prank(aggregator);
        registry.abortRound(fed, round, "no");
    }

    function test_RevertWhen_AbortWithOverlongReason() public {
        uint64 round = _openRound();
        string memory reason = _overlong();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryReasonTooLong.selector, uint256(513), uint256(512)));
        vm.prank(admin);
        registry.abortRound(fed, round, reason);
    }

    function test_RevertWhen_GetUnknownModelVersion() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownModelVersion.selector, fed, uint64(0)));
        registry.getModelVersion(fed, 0);
    }

    // ------------------------------------------------------------------ encryption keys and model keys

    function test_RegisterEncryptionKey() public {
        bytes memory key = abi.encodePacked(keccak256("x25519 public key"));
        vm.expectEmit(true, true, true, true, address(registry));
        emit EncryptionKeyRegistered(analyst, HpkeSuite.DhkemX25519, key, sha256(key));
        vm.prank(analyst);
        registry.registerEncryptionKey(HpkeSuite.DhkemX25519, key);
        EncryptionKey memory stored = registry.getEncryptionKey(analyst);
        assertTrue(stored.suite == HpkeSuite.DhkemX25519, "suite");
        assertEq(stored.registeredAt, block.timestamp, "registered at");
        assertEq(stored.publicKeySha256, sha256(key), "key hash");
        // Replacing it (e.g. with a post-quantum hybrid key) is recorded too.
        bytes memory hybrid = new bytes(1216);
        hybrid[0] = 0x01;
        vm.prank(analyst);
        registry.registerEncryptionKey(HpkeSuite.MlKem768X25519, hybrid);
        stored = registry.getEncryptionKey(analyst);
        assertTrue(stored.suite == HpkeSuite.MlKem768X25519, "replaced suite");
        assertEq(stored.publicKeySha256, sha256(hybrid), "replaced key hash");
    }

    function test_RevertWhen_RegisterEncryptionKeyOfWrongLength() public {
        bytes memory key = new bytes(33);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryInvalidEncryptionKey.selector, HpkeSuite.DhkemX25519, uint256(33), uint256(32)
            )
        );
        vm.prank(analyst);
        registry.registerEncryptionKey(HpkeSuite.DhkemX25519, key);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryInvalidEncryptionKey.selector, HpkeSuite.MlKem768X25519, uint256(32), uint256(1216)
            )
        );
        vm.prank(analyst);
        registry.registerEncryptionKey(HpkeSuite.MlKem768X25519, new bytes(32));
        assertEq(registry.getEncryptionKey(analyst).registeredAt, 0, "nothing registered");
    }

    function test_GrantModelKeyByKeyHolder() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyGranted(fed, analyst, address(0), KeyKind.ModelKey, keyHolder, "QmModelKey", SHA, 1);
        vm.prank(keyHolder);
        assertTrue(registry.grantKey(fed, KeyKind.ModelKey, analyst, "QmModelKey", SHA), "granted");
        assertEq(registry.getKeyGrant(fed, KeyKind.ModelKey, address(0), analyst).keyEpoch, 1, "epoch recorded");
    }

    function test_RevertWhen_GrantModelKeyByNonKeyHolder() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), admin
            )
        );
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.ModelKey, analyst, "QmModelKey", SHA);
    }

    function test_RevertGiven_ModelKeyGrantAfterKeyHolderRevoked() public {
        vm.prank(admin);
        registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyGrantRevoked.selector,
                fed,
                KeyKind.PaillierPrivateKey,
                address(0),
                keyHolder,
                uint48(block.timestamp)
            )
        );
        vm.prank(keyHolder);
        registry.grantKey(fed, KeyKind.ModelKey, analyst, "QmModelKey", SHA);
    }

    function test_RevokeModelKeyByAdmin() public {
        vm.prank(keyHolder);
        registry.grantKey(fed, KeyKind.ModelKey, analyst, "QmModelKey", SHA);
        vm.prank(admin);
        assertTrue(registry.revokeKey(fed, KeyKind.ModelKey, address(0), analyst), "revoked");
        assertTrue(registry.isKeyHolder(fed, keyHolder), "revoking a model key leaves the epoch live");
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyGrantRevoked.selector, fed, KeyKind.ModelKey, address(0), analyst, uint48(block.timestamp)
            )
        );
        vm.prank(keyHolder);
        registry.grantKey(fed, KeyKind.ModelKey, analyst, "QmModelKey2", keccak256("other"));
    }
}
