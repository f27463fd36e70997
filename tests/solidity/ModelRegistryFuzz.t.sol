// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IModelRegistry} from "../../contracts/IModelRegistry.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";

/// @dev Property tests over bounded random inputs.
contract ModelRegistryFuzzTest is RegistryFixture, IModelRegistry {
    function _cid(uint256 length) internal pure returns (string memory) {
        bytes memory b = new bytes(length);
        for (uint256 i = 0; i < length; ++i) b[i] = bytes1(uint8(0x61 + (i % 26)));
        return string(b);
    }

    function testFuzz_SubmitUpdateStoresDigestOfWhatWasSent(bytes32 sha, uint64 size, uint256 cidLength) public {
        vm.assume(sha != bytes32(0));
        string memory cid = _cid(bound(cidLength, 1, registry.MAX_CID_LENGTH()));
        uint64 round = _openRound();
        vm.prank(analyst);
        uint64 id = registry.submitUpdate(fed, round, ArtifactInput(cid, sha, size), _noParents());
        assertEq(id, registry.artifactCount(), "newest id");
        bytes32 expected =
            registry.computeArtifactDigest(ArtifactKind.ModelUpdate, fed, round, analyst, cid, sha, size, _noParents());
        assertEq(registry.updateDigest(fed, round, analyst), expected, "digest");
    }

    function testFuzz_SubmitUpdateUpToDeadline(uint256 elapsed) public {
        uint64 round = _openRound();
        uint64 deadline = registry.getRound(fed, round).deadline;
        vm.warp(bound(elapsed, block.timestamp, deadline));
        _submit(round, analyst, "u");
        assertEq(registry.getRound(fed, round).updateCount, 1, "accepted");
    }

    function testFuzz_RevertWhen_SubmitUpdateAfterDeadline(uint256 lateBy) public {
        uint64 round = _openRound();
        uint64 deadline = registry.getRound(fed, round).deadline;
        uint256 at = uint256(deadline) + bound(lateBy, 1, 3650 days);
        vm.warp(at);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDeadlinePassed.selector, fed, round, deadline, at));
        _submit(round, analyst, "late");
    }

    function testFuzz_RevertWhen_NonAnalystSubmits(address who) public {
        vm.assume(who != analyst && who != analyst2);
        uint64 round = _openRound();
        bytes32 role = registry.ANALYST_ROLE();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, who, role));
        _submit(round, who, "x");
    }

    function testFuzz_OpenRoundAcceptsOnlyFutureDeadlines(uint64 deadline) public {
        vm.prank(admin);
        if (deadline <= block.timestamp) {
            vm.expectRevert(abi.encodeWithSelector(ModelRegistryDeadlineInPast.selector, deadline, block.timestamp));
            registry.openRound(fed, deadline);
        } else {
            uint64 round = registry.openRound(fed, deadline);
            assertEq(registry.getRound(fed, round).deadline, deadline, "deadline stored");
        }
    }

    function testFuzz_GrantKeyEmitsOnlyOnChange(bytes32 first, bytes32 second) public {
        vm.assume(first != bytes32(0) && second != bytes32(0));
        vm.startPrank(owner);
        assertTrue(registry.grantKey(fed, KeyKind.CodecKey, analyst, "QmA", first), "first grant changes");
        vm.recordLogs();
        bool changed = registry.grantKey(fed, KeyKind.CodecKey, analyst, "QmB", second);
        vm.stopPrank();
        assertTrue(changed == (first != second), "change iff the blob differs");
        assertEq(vm.getRecordedLogs().length, changed ? 1 : 0, "one event per change");
        assertEq(registry.getKeyGrant(fed, KeyKind.CodecKey, owner, analyst).wrappedKeySha256, second, "latest blob");
    }

    function testFuzz_RevokedKeyHolderNeverFinalizes(uint256 laterBy) public {
        vm.prank(admin);
        registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder);
        uint48 revokedAt = uint48(block.timestamp);
        vm.warp(block.timestamp + bound(laterBy, 0, 3650 days));
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyGrantRevoked.selector, fed, KeyKind.PaillierPrivateKey, address(0), keyHolder, revokedAt
            )
        );
        _finalize(round, 0);
    }

    function testFuzz_DpParametersValidation(
        uint64 epsilon,
        uint64 delta,
        uint64 sigma,
        uint64 clip,
        bool withAccountant
    ) public {
        // Half of the runs hit the all-zero "no DP" record, which random values would almost never produce.
        if (!withAccountant && epsilon % 2 == 0) (epsilon, delta, sigma, clip) = (0, 0, 0, 0);
        DpParameters memory dp = DpParameters(epsilon, delta, sigma, clip, withAccountant ? "rdp" : "");
        bool valid = withAccountant
            ? epsilon != 0 && delta < 1e18 && sigma != 0 && clip != 0
            : epsilon == 0 && delta == 0 && sigma == 0 && clip == 0;
        uint64 round = _postedRound();
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(ModelRegistryInvalidDpParameters.selector, epsilon, delta, sigma, clip)
            );
        }
        vm.prank(keyHolder);
        registry.finalizeRound(fed, round, 0, _artifact("model"), _artifact("metrics"), dp);
        if (valid) assertTrue(registry.getRound(fed, round).status == RoundStatus.Finalized, "finalized");
    }

    function testFuzz_ArtifactIdsAreSequentialAndParentsChecked(uint8 count, uint64 parent) public {
        uint256 n = bound(count, 1, 20);
        uint64 start = registry.artifactCount();
        vm.startPrank(owner);
        for (uint256 i = 1; i <= n; ++i) {
            uint64 id = registry.registerArtifact(fed, ArtifactKind.Dataset, _artifact("d"), _noParents());
            assertEq(id, start + i, "sequential");
        }
        uint64[] memory parents = new uint64[](1);
        parents[0] = parent;
        if (parent == 0 || parent > start + n) {
            vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, parent));
        }
        registry.registerArtifact(fed, ArtifactKind.Dataset, _artifact("c"), parents);
        vm.stopPrank();
    }

    function testFuzz_RolesAreScopedPerFederation(uint32 minParticipants, uint8 roleIndex) public {
        uint32 minimum = uint32(bound(minParticipants, 1, 1000));
        bytes32[4] memory roles =
            [registry.FEDERATION_ADMIN_ROLE(), registry.DATA_OWNER_ROLE(), registry.ANALYST_ROLE(), registry.AGGREGATOR_ROLE()];
        bytes32 role = roles[roleIndex % 4];
        vm.prank(operator);
        uint64 other = registry.createFederation(stranger, minimum, CodecKeyPolicy.PerDataOwner);
        assertEq(registry.getFederation(other).minParticipants, minimum, "min participants");
        vm.prank(stranger);
        registry.grantFederationRole(other, role, analyst2);
        assertTrue(registry.hasFederationRole(other, role, analyst2), "holds it in the new federation");
        assertTrue(
            role == registry.ANALYST_ROLE() || !registry.hasFederationRole(fed, role, analyst2),
            "and not in the first one"
        );
    }
}
