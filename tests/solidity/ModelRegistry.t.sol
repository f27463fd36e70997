// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ModelRegistry} from "../../contracts/ModelRegistry.sol";
import {IModelRegistry} from "../../contracts/IModelRegistry.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";

/// @dev Unit tests: one happy path per function and one test per refusal.
contract ModelRegistryTest is RegistryFixture, IModelRegistry {
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

    // ------------------------------------------------------------------ artifacts

    function test_RegisterDataset() public {
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit ArtifactRegistered(expectedId, fed, 0, ArtifactKind.Dataset, owner, CID, keccak256("d"), 1234, _noParents());
        vm.prank(owner);
        uint64 id = registry.registerArtifact(fed, ArtifactKind.Dataset, _artifact("d"), _noParents());
        assertEq(id, expectedId, "id");
        bytes32 expected = registry.computeArtifactDigest(
            ArtifactKind.Dataset, fed, 0, owner, CID, keccak256("d"), 1234, _noParents()
        );
        assertEq(registry.artifactDigest(id), expected, "digest");
    }

    function test_RegisterCorrectionPointsAtOriginal() public {
        vm.prank(owner);
        uint64 original = registry.registerArtifact(fed, ArtifactKind.Dataset, _artifact("d"), _noParents());
        uint64[] memory parents = new uint64[](1);
        parents[0] = original;
        bytes32 before = registry.artifactDigest(original);
        vm.prank(owner);
        uint64 correction = registry.registerArtifact(fed, ArtifactKind.Dataset, _artifact("d2"), parents);
        assertEq(correction, original + 1, "new id");
        assertEq(registry.artifactDigest(original), before, "original untouched");
        bytes32 expected = registry.computeArtifactDigest(
            ArtifactKind.Dataset, fed, 0, owner, CID, keccak256("d2"), 1234, parents
        );
        assertEq(registry.artifactDigest(correction), expected, "correction digest names its parent");
    }

    function test_RegisterWrappedKeyAndMetricsByAdmin() public {
        vm.startPrank(admin);
        uint64 a = registry.registerArtifact(fed, ArtifactKind.WrappedKey, _artifact("w"), _noParents());
        uint64 b = registry.registerArtifact(fed, ArtifactKind.Metrics, _artifact("m"), _noParents());
        vm.stopPrank();
        assertEq(b, a + 1, "sequential ids");
    }

    function test_RevertWhen_RegisterArtifactOfReservedKind() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryWrongArtifactKind.selector, ArtifactKind.ModelUpdate));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.ModelUpdate, _artifact("x"), _noParents());
    }

    function test_RevertWhen_RegisterDatasetByNonDataOwner() public {
        bytes32 role = registry.DATA_OWNER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, analyst, role));
        vm.prank(analyst);
        registry.registerArtifact(fed, ArtifactKind.Dataset, _artifact("x"), _noParents());
    }

    function test_RevertWhen_RegisterMetricsByNonAdmin() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, owner, role));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.Metrics, _artifact("x"), _noParents());
    }

    function test_RevertWhen_RegisterArtifactWithEmptyCid() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryEmptyCid.selector));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.Dataset, ArtifactInput("", SHA, 1), _noParents());
    }

    function test_RevertWhen_RegisterArtifactWithZeroHash() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.Dataset, ArtifactInput(CID, bytes32(0), 1), _noParents());
    }

    function test_RevertWhen_RegisterArtifactWithOverlongCid() public {
        string memory cid = string(new bytes(129));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryCidTooLong.selector, uint256(129), uint256(128)));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.Dataset, ArtifactInput(cid, SHA, 1), _noParents());
    }

    function test_RevertWhen_RegisterArtifactWithUnknownParent() public {
        uint64[] memory parents = new uint64[](1);
        parents[0] = registry.artifactCount() + 1;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, parents[0]));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.Dataset, _artifact("x"), parents);
    }

    function test_RevertWhen_RegisterArtifactWithZeroParent() public {
        uint64[] memory parents = new uint64[](1);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, uint64(0)));
        vm.prank(owner);
        registry.registerArtifact(fed, ArtifactKind.Dataset, _artifact("x"), parents);
    }

    function test_RevertWhen_ArtifactDigestOfUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, uint64(99)));
        registry.artifactDigest(99);
    }

    function test_SetPaillierPublicKey() public view {
        Federation memory f = registry.getFederation(fed);
        assertEq(f.paillierPublicKeyArtifact, 1, "public key is artifact 1");
        bytes32 expected = registry.computeArtifactDigest(
            ArtifactKind.PaillierPublicKey, fed, 0, admin, CID, keccak256("pk"), 1234, _noParents()
        );
        assertEq(registry.artifactDigest(1), expected, "digest");
    }

    function test_RevertWhen_SetPaillierPublicKeyTwice() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryPublicKeyAlreadySet.selector, fed, uint64(1)));
        vm.prank(admin);
        registry.setPaillierPublicKey(fed, _artifact("pk2"));
    }

    function test_RevertWhen_SetPaillierPublicKeyByNonAdmin() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, keyHolder, role));
        vm.prank(keyHolder);
        registry.setPaillierPublicKey(fed, _artifact("pk2"));
    }

    // ------------------------------------------------------------------ key grants

    function test_GrantCodecKeyByDataOwner() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit KeyGranted(fed, analyst, owner, KeyKind.CodecKey, owner, "QmWrapped", SHA);
        vm.prank(owner);
        assertTrue(registry.grantKey(fed, KeyKind.CodecKey, analyst, "QmWrapped", SHA), "granted");
        KeyGrant memory g = registry.getKeyGrant(fed, KeyKind.CodecKey, owner, analyst);
        assertEq(g.grantor, owner, "grantor");
        assertEq(g.grantedAt, block.timestamp, "granted at");
        assertEq(g.revokedAt, 0, "not revoked");
        assertEq(g.wrappedKeySha256, SHA, "blob hash");
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
        vm.startPrank(owner);
        registry.grantKey(fed, KeyKind.CodecKey, analyst, "QmWrapped", SHA);
        assertTrue(registry.revokeKey(fed, KeyKind.CodecKey, owner, analyst), "revoked by owner");
        vm.stopPrank();
    }

    function test_RevertWhen_GrantKeyAfterRevocation() public {
        vm.startPrank(admin);
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
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmNew", keccak256("new"));
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
        emit RoundOpened(fed, 1, admin, deadline);
        vm.prank(admin);
        uint64 round = registry.openRound(fed, deadline);
        assertEq(round, 1, "first round");
        Round memory r = registry.getRound(fed, round);
        assertTrue(r.status == RoundStatus.Open, "open");
        assertEq(r.deadline, deadline, "deadline");
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

    function test_SubmitUpdate() public {
        uint64 round = _openRound();
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit UpdateSubmitted(fed, round, analyst, expectedId);
        uint64 id = _submit(round, analyst, "u1");
        assertEq(id, expectedId, "artifact id");
        assertEq(registry.getRound(fed, round).updateCount, 1, "count");
        bytes32 expected = registry.computeArtifactDigest(
            ArtifactKind.ModelUpdate, fed, round, analyst, CID, keccak256("u1"), 1234, _noParents()
        );
        assertEq(registry.updateDigest(fed, round, analyst), expected, "digest filed per round and analyst");
        assertEq(registry.artifactDigest(id), bytes32(0), "not filed by id");
    }

    function test_SubmitUpdateAtDeadline() public {
        uint64 round = _openRound();
        vm.warp(registry.getRound(fed, round).deadline);
        _submit(round, analyst, "u1");
        assertEq(registry.getRound(fed, round).updateCount, 1, "accepted at the deadline");
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
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(analyst);
        registry.submitUpdate(fed, round, ArtifactInput(CID, bytes32(0), 1), _noParents());
    }

    function test_CloseRound() public {
        uint64 round = _openRound();
        _submit(round, analyst, "u1");
        _submit(round, analyst2, "u2");
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundClosed(fed, round, aggregator, 2);
        vm.prank(aggregator);
        registry.closeRound(fed, round);
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Aggregating, "aggregating");
    }

    function test_RevertWhen_CloseRoundWithTooFewUpdates() public {
        uint64 round = _openRound();
        _submit(round, analyst, "u1");
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryTooFewUpdates.selector, fed, round, uint32(1), MIN_PARTICIPANTS)
        );
        vm.prank(aggregator);
        registry.closeRound(fed, round);
    }

    function test_RevertWhen_CloseRoundByNonAggregator() public {
        uint64 round = _openRound();
        bytes32 role = registry.AGGREGATOR_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, analyst, role));
        vm.prank(analyst);
        registry.closeRound(fed, round);
    }

    function test_PostAggregate() public {
        (uint64 round, uint64[] memory updates) = _aggregatingRound();
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit AggregatePosted(fed, round, aggregator, expectedId, keccak256("agg"));
        vm.prank(aggregator);
        uint64 id = registry.postAggregate(fed, round, _artifact("agg"), updates);
        Round memory r = registry.getRound(fed, round);
        assertEq(r.aggregateArtifact, id, "aggregate id");
        assertEq(r.aggregateSha256, keccak256("agg"), "aggregate hash");
        bytes32 expected = registry.computeArtifactDigest(
            ArtifactKind.EncryptedAggregate, fed, round, aggregator, CID, keccak256("agg"), 1234, updates
        );
        assertEq(registry.artifactDigest(id), expected, "digest names the updates");
    }

    function test_RevertWhen_PostAggregateTwice() public {
        uint64 round = _postedRound();
        uint64 posted = registry.getRound(fed, round).aggregateArtifact;
        uint64[] memory updates = new uint64[](2);
        updates[0] = 2;
        updates[1] = 3;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryAggregateAlreadyPosted.selector, fed, round, posted));
        vm.prank(aggregator);
        registry.postAggregate(fed, round, _artifact("agg2"), updates);
    }

    function test_RevertWhen_PostAggregateWithWrongUpdateCount() public {
        (uint64 round,) = _aggregatingRound();
        uint64[] memory updates = new uint64[](1);
        updates[0] = 2;
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryAggregateUpdateMismatch.selector, fed, round, uint256(1), uint32(2))
        );
        vm.prank(aggregator);
        registry.postAggregate(fed, round, _artifact("agg"), updates);
    }

    function test_RevertWhen_PostAggregateToOpenRound() public {
        uint64 round = _openRound();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Open, RoundStatus.Aggregating
            )
        );
        vm.prank(aggregator);
        registry.postAggregate(fed, round, _artifact("agg"), _noParents());
    }

    function test_RevertWhen_PostAggregateByNonAggregator() public {
        (uint64 round, uint64[] memory updates) = _aggregatingRound();
        bytes32 role = registry.AGGREGATOR_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, keyHolder, role));
        vm.prank(keyHolder);
        registry.postAggregate(fed, round, _artifact("agg"), updates);
    }

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
        uint64[] memory parents = new uint64[](1);
        parents[0] = aggregateId;
        assertEq(
            registry.artifactDigest(v.globalModelArtifact),
            registry.computeArtifactDigest(
                ArtifactKind.GlobalModel, fed, round, keyHolder, CID, keccak256("model"), 1234, parents
            ),
            "model's parent is the aggregate"
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
        uint64[] memory parents = new uint64[](2);
        parents[0] = aggregateId;
        parents[1] = registry.getModelVersion(fed, 1).globalModelArtifact;
        assertEq(
            registry.artifactDigest(v.globalModelArtifact),
            registry.computeArtifactDigest(
                ArtifactKind.GlobalModel, fed, round, keyHolder, CID, keccak256("model"), 1234, parents
            ),
            "model's parents are the aggregate and the parent model"
        );
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

    function test_RevertWhen_GetUnknownModelVersion() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownModelVersion.selector, fed, uint64(0)));
        registry.getModelVersion(fed, 0);
    }
}
