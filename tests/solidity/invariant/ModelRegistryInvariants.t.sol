// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ModelRegistry} from "../../../contracts/ModelRegistry.sol";
import {IModelRegistry} from "../../../contracts/IModelRegistry.sol";
import {TestBase} from "../utils/TestBase.sol";
import {RegistryHandler} from "./RegistryHandler.sol";

/// @dev Invariants of the registry under random action sequences driven by {RegistryHandler}.
contract ModelRegistryInvariantTest is TestBase {
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
        fed = registry.createFederation(admin, 1, IModelRegistry.CodecKeyPolicy.PerDataOwner);
        vm.startPrank(admin);
        registry.setPaillierPublicKey(fed, IModelRegistry.ArtifactInput("QmPk", keccak256("pk"), 1));
        // A starting cast so that rounds make progress; the handler reshuffles roles from here.
        registry.grantFederationRole(fed, registry.DATA_OWNER_ROLE(), actors[1]);
        registry.grantFederationRole(fed, registry.ANALYST_ROLE(), actors[2]);
        registry.grantFederationRole(fed, registry.ANALYST_ROLE(), actors[3]);
        registry.grantFederationRole(fed, registry.AGGREGATOR_ROLE(), actors[4]);
        vm.stopPrank();
        handler = new RegistryHandler(registry, fed, admin, actors);
        handler.grantPaillierKey(1, 5, keccak256("wrapped paillier key")); // admin grants actors[5], with ghost
        assertTrue(registry.isKeyHolder(fed, actors[5]), "initial key holder");
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

    function invariant_KeyHolderIffUnrevokedGrant() public view {
        address[] memory actors = handler.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            bool expected = handler.ghostGranted(actors[i]) && !handler.ghostRevoked(actors[i]);
            assertTrue(registry.isKeyHolder(fed, actors[i]) == expected, "key holder <=> unrevoked grant");
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
}
