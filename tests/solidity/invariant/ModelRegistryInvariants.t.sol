// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ArtifactDigest} from "../../../contracts/ArtifactDigest.sol";
import {ModelRegistry} from "../../../contracts/ModelRegistry.sol";
import {IModelRegistry} from "../../../contracts/IModelRegistry.sol";
import {TestBase} from "../utils/TestBase.sol";
import {RegistryHandler} from "./RegistryHandler.sol";

/// @dev Invariants of the registry under random action sequences driven by {RegistryHandler}.
contract ModelRegistryInvariantTest is TestBase {
    uint32 internal constant MIN_PARTICIPANTS = 2;

    ModelRegistry internal registry;
    RegistryHandler internal handler;
    uint64 internal fed;

    function setUp() public {
        vm.warp(1_700_000_000);
        address operator = vm.addr(1);
        address admin = vm.addr(2);
        address[] memory actors = new address[](7);
        for (uint256 i = 0; i < actors.length; ++i) actors[i] = vm.addr(i + 2); // actors[0] is the admin
        registry = new ModelRegistry(operator);
        vm.prank(operator);
        fed = registry.createFederation(admin, MIN_PARTICIPANTS, IModelRegistry.CodecKeyPolicy.PerDataOwner);
        // A starting cast so that rounds make progress; the handler reshuffles roles and keys from here.
        vm.startPrank(admin);
        registry.grantFederationRole(fed, registry.DATA_OWNER_ROLE(), actors[1]);
        registry.grantFederationRole(fed, registry.ANALYST_ROLE(), actors[2]);
        registry.grantFederationRole(fed, registry.ANALYST_ROLE(), actors[3]);
        registry.grantFederationRole(fed, registry.ANALYST_ROLE(), actors[6]);
        registry.grantFederationRole(fed, registry.AGGREGATOR_ROLE(), actors[4]);
        vm.stopPrank();
        handler = new RegistryHandler(registry, fed, admin, actors);
        // Through the handler, so that its ghost state knows them. Seed 1 picks the first holder of the role.
        handler.startKeyEpoch(1, keccak256("public key"));
        handler.grantPaillierKey(1, 5, keccak256("wrapped paillier key"));
        handler.registerDataset(1, keccak256("dataset"), 1 << 20, 1000, 0);
        handler.grantCodecKey(1, 2, keccak256("codec 2"));
        handler.grantCodecKey(1, 3, keccak256("codec 3"));
        handler.grantCodecKey(1, 6, keccak256("codec 6"));
        assertEq(handler.ghostEpoch(), 1, "epoch 1");
        assertTrue(registry.isKeyHolder(fed, actors[5]), "initial key holder");
        assertEq(registry.getDataset(registry.artifactCount()).sampleCount, 1000, "initial dataset");
        assertEq(handler.ghostCodec(actors[1], actors[6]), 1, "codec grants");
    }

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @dev Forge fuzzes only the handler.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev Half life-cycle steps, half random actions: deep states and refusals both get reached.
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](2);
        selectors[0] = RegistryHandler.step.selector;
        selectors[1] = RegistryHandler.chaos.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), selectors);
    }

    function invariant_KeyHolderIffLiveGrantOfCurrentEpoch() public view {
        uint32 epoch = handler.ghostEpoch();
        assertEq(registry.getFederation(fed).keyEpoch, epoch, "current epoch");
        address[] memory actors = handler.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            bool expected = epoch != 0 && handler.ghostGrantEpoch(actors[i]) == epoch
                && !handler.ghostRevoked(actors[i]) && !handler.ghostEpochRevoked(epoch);
            assertTrue(registry.isKeyHolder(fed, actors[i]) == expected, "key holder <=> live grant of the live epoch");
        }
    }

    function invariant_KeyEpochRules() public view {
        assertEq(handler.ghostKeyEpochRuleBroken(), 0, "a revoked epoch was used or the key rotated mid-round");
        uint64 rounds = registry.getFederation(fed).roundCount;
        for (uint64 r = 1; r <= rounds; ++r) {
            assertEq(registry.getRound(fed, r).keyEpoch, handler.ghostRound(r).keyEpoch, "round keeps its epoch");
        }
        uint32 epoch = handler.ghostEpoch();
        for (uint32 e = 1; e <= epoch; ++e) {
            assertTrue(
                (registry.getKeyEpoch(fed, e).revokedAt != 0) == handler.ghostEpochRevoked(e), "epoch revoked <=> ghost"
            );
        }
    }

    function invariant_ArtifactsAreAppendOnly() public view {
        assertTrue(registry.artifactCount() >= handler.ghostHighestArtifactCount(), "artifact count never decreases");
        uint256 n = handler.artifactGhostCount();
        for (uint256 i = 0; i < n; ++i) {
            RegistryHandler.GhostArtifact memory a = handler.artifactGhost(i);
            bytes32 stored = a.perRound ? registry.updateDigest(fed, a.round, a.submitter) : registry.artifactDigest(a.id);
            assertEq(stored, a.digest, "stored artifact fields never change");
        }
    }

    function invariant_TerminalRoundsNeverChange() public view {
        uint64[] memory rounds = handler.terminalRounds();
        for (uint256 i = 0; i < rounds.length; ++i) {
            assertEq(handler.roundFingerprint(rounds[i]), handler.ghostFrozenRound(rounds[i]), "terminal round frozen");
        }
    }

    function invariant_OnlyRoleHoldersChangeState() public view {
        assertEq(handler.ghostUnauthorizedSuccesses(), 0, "a call without the needed role succeeded");
    }

    function invariant_RoundCountMatchesLiveness() public view {
        uint64 rounds = registry.getFederation(fed).roundCount;
        for (uint64 r = 1; r < rounds; ++r) {
            IModelRegistry.RoundStatus s = registry.getRound(fed, r).status;
            assertTrue(
                s == IModelRegistry.RoundStatus.Finalized || s == IModelRegistry.RoundStatus.Aborted,
                "only the latest round can be live"
            );
        }
    }

    /// @dev Every accepted hash is filed once, under the first (only) update that carried it.
    function invariant_NoUpdateHashRegisteredTwice() public view {
        assertEq(handler.ghostDuplicateContentAccepted(), 0, "a copied or replayed hash was accepted");
        bytes32[] memory shas = handler.updateShas();
        uint256 perRound;
        uint64 rounds = registry.getFederation(fed).roundCount;
        for (uint64 r = 1; r <= rounds; ++r) {
            uint256 ghostCount = handler.ghostRound(r).updates.length;
            assertEq(registry.getRound(fed, r).updateCount, ghostCount, "update count");
            perRound += ghostCount;
        }
        assertEq(perRound, shas.length, "each hash in one round");
        for (uint256 i = 0; i < shas.length; ++i) {
            IModelRegistry.UpdateRecord memory u = registry.getUpdate(fed, shas[i]);
            assertEq(u.artifactId, handler.ghostUpdateId(shas[i]), "id under the hash");
            assertEq(u.round, handler.ghostUpdateRound(shas[i]), "round under the hash");
            assertEq(u.weight, handler.ghostUpdateWeight(shas[i]), "weight under the hash");
        }
    }

    function invariant_UpdatesRespectGrantsAndWeights() public view {
        assertEq(handler.ghostBadUpdateAccepted(), 0, "an update on an ungranted dataset, bad parents or weight");
    }

    /// @dev Every posted aggregate names every update of its round once and includes at least minParticipants.
    function invariant_AggregatesArePartitionsWithEnoughIncluded() public view {
        assertEq(handler.ghostBadAggregateAccepted(), 0, "a non-partition aggregate was accepted");
        uint64 rounds = registry.getFederation(fed).roundCount;
        for (uint64 r = 1; r <= rounds; ++r) {
            IModelRegistry.Round memory round = registry.getRound(fed, r);
            RegistryHandler.GhostRound memory g = handler.ghostRound(r);
            assertTrue((round.aggregateArtifact != 0) == g.posted, "posted <=> ghost");
            if (round.aggregateArtifact == 0) continue;
            assertTrue(round.includedCount >= MIN_PARTICIPANTS, "at least minParticipants included");
            assertEq(round.includedCount, g.included.length, "included count");
            assertEq(g.included.length + g.excluded.length, round.updateCount, "every update named");
            assertEq(round.weightsTotal, g.weightsTotal, "weights total of the included updates");
            bytes32 previous;
            for (uint256 i = 0; i < g.included.length; ++i) {
                assertTrue(g.included[i] > previous, "included ascending, each once");
                previous = g.included[i];
            }
        }
    }

    /// @dev A finalized round's aggregate derives from updates of that round only: its stored digest names, as
    /// parents, the artifact ids the registry files the included hashes under, and each of those is of the round.
    function invariant_FinalizedAggregatesDeriveOnlyFromTheirRound() public view {
        uint64[] memory finalized = handler.finalizedRounds();
        for (uint256 i = 0; i < finalized.length; ++i) {
            uint64 r = finalized[i];
            RegistryHandler.GhostRound memory g = handler.ghostRound(r);
            IModelRegistry.Round memory round = registry.getRound(fed, r);
            uint64[] memory parents = new uint64[](g.included.length);
            for (uint256 k = 0; k < g.included.length; ++k) {
                IModelRegistry.UpdateRecord memory u = registry.getUpdate(fed, g.included[k]);
                assertEq(u.round, r, "an included update belongs to the round");
                parents[k] = u.artifactId;
            }
            bytes32 expected = ArtifactDigest.compute(
                IModelRegistry.ArtifactKind.EncryptedAggregate,
                fed,
                r,
                g.aggregator,
                "QmAggregate",
                round.aggregateSha256,
                99,
                parents
            );
            assertEq(registry.artifactDigest(round.aggregateArtifact), expected, "aggregate parents = included updates");
            assertEq(
                uint256(registry.getModelVersion(fed, round.modelVersion).round), r, "the round's model version"
            );
        }
    }

    function invariant_DisputedRoundsNeverFinalize() public view {
        assertEq(handler.ghostDisputedFinalized(), 0, "a disputed round was finalized");
        uint64 rounds = registry.getFederation(fed).roundCount;
        for (uint64 r = 1; r <= rounds; ++r) {
            IModelRegistry.Round memory round = registry.getRound(fed, r);
            assertTrue(!round.disputed || round.status != IModelRegistry.RoundStatus.Finalized, "disputed => not final");
            assertTrue(round.disputed == handler.ghostRound(r).disputed, "disputed <=> ghost");
        }
    }
}
