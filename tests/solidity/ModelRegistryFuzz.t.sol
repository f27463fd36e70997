// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ArtifactDigest} from "../../contracts/ArtifactDigest.sol";
import {IModelRegistry} from "../../contracts/IModelRegistry.sol";
import {Vm} from "./utils/TestBase.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";

/// @dev Property tests over bounded random inputs.
contract ModelRegistryFuzzTest is RegistryFixture, IModelRegistry {
    /// @dev Most updates a partition test submits (each by its own analyst).
    uint256 internal constant MAX_UPDATES = 8;

    function _cid(uint256 length) internal pure returns (string memory) {
        bytes memory b = new bytes(length);
        for (uint256 i = 0; i < length; ++i) b[i] = bytes1(uint8(0x61 + (i % 26)));
        return string(b);
    }

    function _popcount(uint256 mask, uint256 n) internal pure returns (uint256 count) {
        for (uint256 i = 0; i < n; ++i) if ((mask >> i) & 1 == 1) ++count;
    }

    /// @dev The hashes `shas[i]` for the bits `i` set in `mask`, in the (ascending) order of `shas`.
    function _select(bytes32[] memory shas, uint256 mask) internal pure returns (bytes32[] memory list) {
        list = new bytes32[](_popcount(mask, shas.length));
        uint256 k;
        for (uint256 i = 0; i < shas.length; ++i) if ((mask >> i) & 1 == 1) list[k++] = shas[i];
    }

    /// @dev A closed round with `n` updates by `n` analysts (weights 1..n); returns it and the sorted hashes.
    function _roundOf(uint256 n) internal returns (uint64 round, bytes32[] memory shas) {
        address[] memory who = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            who[i] = i == 0 ? analyst : i == 1 ? analyst2 : vm.addr(0xA100 + i);
            if (i >= 2) _admitAnalyst(who[i]);
        }
        round = _openRound();
        shas = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            string memory tag = string.concat("update ", _str(i));
            // forge-lint: disable-next-line(unsafe-typecast)
            _submitWeighted(round, who[i], tag, uint64(i + 1)); // i < MAX_UPDATES
            shas[i] = keccak256(bytes(tag));
        }
        _close(round);
        _sort(shas);
    }

    // ------------------------------------------------------------------ updates

    function testFuzz_SubmitUpdateStoresDigestOfWhatWasSent(bytes32 sha, uint64 size, uint256 cidLength) public {
        vm.assume(sha != bytes32(0));
        string memory cid = _cid(bound(cidLength, 1, registry.MAX_CID_LENGTH()));
        uint64 round = _openRound();
        uint64[] memory parents = _datasetParents();
        vm.prank(analyst);
        uint64 id = registry.submitUpdate(fed, round, ArtifactInput(cid, sha, size), WEIGHT, parents);
        assertEq(id, registry.artifactCount(), "newest id");
        bytes32 expected =
            ArtifactDigest.compute(ArtifactKind.ModelUpdate, fed, round, analyst, cid, sha, size, parents);
        assertEq(registry.updateDigest(fed, round, analyst), expected, "digest");
        assertEq(registry.getUpdate(fed, sha).artifactId, id, "filed under its hash");
    }

    function testFuzz_SubmitUpdateWeightBound(uint64 weight) public {
        uint64 round = _openRound();
        uint64[] memory parents = _datasetParents();
        bool valid = weight >= 1 && weight <= SAMPLES;
        if (!valid) {
            vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidWeight.selector, fed, analyst, weight, SAMPLES));
        }
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u"), weight, parents);
        if (valid) assertEq(registry.getUpdate(fed, keccak256("u")).weight, weight, "weight stored");
    }

    /// @dev The bound is the sum over the dataset parents, whatever their sizes.
    function testFuzz_SubmitUpdateWeightBoundOverTwoDatasets(uint32 samples1, uint32 samples2, uint64 weight)
        public
    {
        samples1 = uint32(bound(samples1, 1, type(uint32).max));
        samples2 = uint32(bound(samples2, 1, type(uint32).max));
        uint64 total = uint64(samples1) + samples2;
        // Half the runs straddle the bound, where an off-by-one would show.
        if (weight % 2 == 0) weight = uint64(bound(weight, total - 1, total + 1));
        vm.startPrank(owner);
        uint64 d1 = registry.registerDataset(fed, _artifact("d1"), samples1, _noParents());
        uint64 d2 = registry.registerDataset(fed, _artifact("d2"), samples2, _noParents());
        vm.stopPrank();
        uint64 round = _openRound();
        bool valid = weight >= 1 && weight <= total;
        if (!valid) {
            vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidWeight.selector, fed, analyst, weight, total));
        }
        vm.prank(analyst);
        registry.submitUpdate(fed, round, _artifact("u"), weight, _two(d1, d2));
        if (valid) assertEq(registry.getUpdate(fed, keccak256("u")).weight, weight, "weight stored");
    }

    /// @dev A hash is registered once per federation: neither another analyst nor a later round can reuse it.
    function testFuzz_RevertWhen_UpdateContentReused(bytes32 sha, bool laterRound) public {
        vm.assume(sha != bytes32(0) && sha != keccak256("other"));
        uint64[] memory parents = _datasetParents();
        uint64 round = _openRound();
        vm.prank(analyst);
        uint64 first = registry.submitUpdate(fed, round, ArtifactInput(CID, sha, 1), WEIGHT, parents);
        address copier = analyst2;
        if (laterRound) {
            _submit(round, analyst2, "other");
            _close(round);
            vm.prank(admin);
            registry.abortRound(fed, round, "replay");
            round = _openRound();
            copier = analyst; // replays its own update
        }
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDuplicateUpdateContent.selector, fed, sha, first));
        vm.prank(copier);
        registry.submitUpdate(fed, round, ArtifactInput("QmOtherCid", sha, 2), WEIGHT, parents);
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

    // ------------------------------------------------------------------ aggregates

    /**
     * @dev Over random inclusion and exclusion masks of `n` updates, postAggregate accepts exactly the
     * partitions (every update named once, at least `minParticipants` included) and refuses the rest with the
     * error the first broken rule gives. On success the aggregate's parents are the included ids, the weights
     * total theirs, and each exclusion is announced in order.
     */
    function testFuzz_PostAggregatePartition(uint8 count, uint256 includeMask, uint256 excludeMask, uint8 reasonSeed)
        public
    {
        uint256 n = bound(count, MIN_PARTICIPANTS, MAX_UPDATES);
        uint256 all = type(uint256).max >> (256 - n);
        includeMask &= all;
        // Half the runs post an exact partition (rare under independent masks), half anything.
        excludeMask = reasonSeed % 2 == 0 ? all & ~includeMask : excludeMask & all;
        (uint64 round, bytes32[] memory shas) = _roundOf(n);
        bytes32[] memory included = _select(shas, includeMask);
        bytes32[] memory excludedShas = _select(shas, excludeMask);
        Exclusion[] memory excluded = new Exclusion[](excludedShas.length);
        for (uint256 i = 0; i < excluded.length; ++i) {
            excluded[i] = Exclusion(excludedShas[i], ExclusionReason(1 + (uint256(reasonSeed) + i) % 8));
        }

        uint256 named = included.length + excluded.length;
        uint256 overlap = includeMask & excludeMask;
        bool partition = named == n && overlap == 0 && included.length >= MIN_PARTICIPANTS;
        if (named != n) {
            vm.expectRevert(
                // forge-lint: disable-next-line(unsafe-typecast)
                abi.encodeWithSelector(ModelRegistryAggregateUpdateMismatch.selector, fed, round, named, uint32(n))
            );
        } else if (included.length < MIN_PARTICIPANTS) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ModelRegistryTooFewUpdates.selector, fed, round, uint32(included.length), MIN_PARTICIPANTS
                )
            );
        } else if (overlap != 0) {
            // The merged walk meets the lowest hash named in both lists twice in a row.
            bytes32 twice = _select(shas, overlap)[0];
            vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedUpdates.selector, fed, round, twice));
        }
        vm.recordLogs();
        uint64 id = _post(round, "agg", included, excluded);
        if (partition) _checkPosted(round, id, included, excluded);
        else assertEq(registry.getRound(fed, round).aggregateArtifact, 0, "nothing posted");
    }

    function _checkPosted(uint64 round, uint64 id, bytes32[] memory included, Exclusion[] memory excluded)
        internal
    {
        uint64 weights;
        for (uint256 i = 0; i < included.length; ++i) weights += registry.getUpdate(fed, included[i]).weight;
        Round memory r = registry.getRound(fed, round);
        assertEq(r.includedCount, included.length, "included count");
        assertEq(r.weightsTotal, weights, "weights total");
        assertEq(
            registry.artifactDigest(id),
            ArtifactDigest.compute(
                ArtifactKind.EncryptedAggregate, fed, round, aggregator, CID, keccak256("agg"), 1234, _idsOf(included)
            ),
            "parents are the included ids"
        );
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 2 + excluded.length, "one UpdateExcluded per exclusion");
        for (uint256 i = 0; i < excluded.length; ++i) {
            Vm.Log memory log = logs[2 + i];
            assertEq(log.topics[0], UpdateExcluded.selector, "UpdateExcluded");
            assertEq(uint256(log.topics[3]), registry.getUpdate(fed, excluded[i].updateSha256).artifactId, "id");
            (bytes32 sha, ExclusionReason reason) = abi.decode(log.data, (bytes32, ExclusionReason));
            assertEq(sha, excluded[i].updateSha256, "hash");
            assertTrue(reason == excluded[i].reason, "reason");
        }
    }

    /// @dev Any order but the ascending one is refused, even of the right set.
    function testFuzz_RevertWhen_PostAggregateUnsorted(uint8 count, uint256 swapSeed) public {
        uint256 n = bound(count, MIN_PARTICIPANTS, MAX_UPDATES);
        (uint64 round, bytes32[] memory shas) = _roundOf(n);
        uint256 a = swapSeed % n;
        uint256 b = (a + 1 + (swapSeed >> 8) % (n - 1)) % n;
        (a, b) = a < b ? (a, b) : (b, a);
        (shas[a], shas[b]) = (shas[b], shas[a]);
        // After the swap, position a+1 (or b itself when adjacent) is the first that is not above its predecessor.
        bytes32 offending = b == a + 1 ? shas[b] : shas[a + 1];
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnsortedUpdates.selector, fed, round, offending));
        _post(round, "agg", shas, _noExclusions());
    }

    // ------------------------------------------------------------------ rounds, keys, roles

    function testFuzz_OpenRoundAcceptsOnlyFutureDeadlines(uint64 deadline) public {
        vm.prank(admin);
        // forge-lint: disable-next-line(block-timestamp)
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
        assertTrue(registry.grantKey(fed, KeyKind.CodecKey, stranger, "QmA", first), "first grant changes");
        vm.recordLogs();
        bool changed = registry.grantKey(fed, KeyKind.CodecKey, stranger, "QmB", second);
        vm.stopPrank();
        assertTrue(changed == (first != second), "change iff the blob differs");
        assertEq(vm.getRecordedLogs().length, changed ? 1 : 0, "one event per change");
        assertEq(registry.getKeyGrant(fed, KeyKind.CodecKey, owner, stranger).wrappedKeySha256, second, "latest blob");
    }

    function testFuzz_RevokedKeyHolderNeverFinalizes(uint256 laterBy) public {
        uint64 round = _postedRound();
        vm.prank(admin);
        registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder);
        uint48 revokedAt = uint48(block.timestamp);
        vm.warp(block.timestamp + bound(laterBy, 0, 3650 days));
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyGrantRevoked.selector, fed, KeyKind.PaillierPrivateKey, address(0), keyHolder, revokedAt
            )
        );
        _finalize(round, 0);
    }

    /// @dev Over random rotation counts, only a holder of the current epoch finalizes; older grants never do.
    function testFuzz_OnlyCurrentEpochHolderFinalizes(uint8 rotations, uint8 holderEpochSeed) public {
        uint32 epochs = uint32(bound(rotations, 1, 6));
        uint32 holderEpoch = uint32(bound(holderEpochSeed, 1, epochs));
        address holder = vm.addr(0xC100);
        for (uint32 e = 1; e <= epochs; ++e) {
            if (e > 1) {
                vm.prank(admin);
                assertEq(registry.startKeyEpoch(fed, _artifact(_tag("pk", e)), ENCODING), e, "next epoch");
            }
            if (e == holderEpoch) {
                vm.prank(admin);
                registry.grantKey(fed, KeyKind.PaillierPrivateKey, holder, "QmWrapped", keccak256(abi.encode(e)));
            }
        }
        assertTrue(registry.isKeyHolder(fed, holder) == (holderEpoch == epochs), "key holder iff current epoch");
        uint64 round = _postedRound();
        assertEq(registry.getRound(fed, round).keyEpoch, epochs, "round under the latest epoch");
        if (holderEpoch != epochs) {
            vm.expectRevert(
                abi.encodeWithSelector(ModelRegistryWrongKeyEpoch.selector, fed, holder, holderEpoch, epochs)
            );
        }
        vm.prank(holder);
        registry.finalizeRound(fed, round, 0, _artifact("model"), _artifact("metrics"), _noDp());
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
            uint64 id = registry.registerDataset(fed, _artifact("d"), 1, _noParents());
            assertEq(id, start + i, "sequential");
        }
        uint64[] memory parents = _one(parent);
        if (parent == 0 || parent > start + n) {
            vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownArtifact.selector, parent));
        }
        registry.registerDataset(fed, _artifact("c"), 1, parents);
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

    /// @dev No role id outside the registry-wide ones and those of existing federations can be granted.
    function testFuzz_RevertWhen_InheritedGrantRoleOfUnknownRole(bytes32 role, uint64 futureOffset, bool ofFutureFederation)
        public
    {
        if (ofFutureFederation) {
            uint64 future = registry.federationCount() + uint64(bound(futureOffset, 1, 1_000_000));
            bytes32[4] memory bases = [
                registry.FEDERATION_ADMIN_ROLE(), registry.DATA_OWNER_ROLE(), registry.ANALYST_ROLE(), registry.AGGREGATOR_ROLE()
            ];
            role = registry.federationRole(future, bases[uint256(role) % 4]);
        }
        vm.assume(role != registry.DEFAULT_ADMIN_ROLE() && role != registry.FEDERATION_CREATOR_ROLE());
        bytes32[4] memory existing = [
            registry.federationRole(fed, registry.FEDERATION_ADMIN_ROLE()),
            registry.federationRole(fed, registry.DATA_OWNER_ROLE()),
            registry.federationRole(fed, registry.ANALYST_ROLE()),
            registry.federationRole(fed, registry.AGGREGATOR_ROLE())
        ];
        for (uint256 i = 0; i < 4; ++i) vm.assume(role != existing[i]);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownRole.selector, role));
        vm.prank(operator);
        registry.grantRole(role, stranger);
    }
}
