// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ModelRegistry} from "../../../contracts/ModelRegistry.sol";
import {IModelRegistry} from "../../../contracts/IModelRegistry.sol";
import {TestBase} from "../utils/TestBase.sol";

/**
 * @dev Drives one federation through random actions by random actors, keeping ghost state:
 * the digest of every artifact it created, the key grants it made and revoked, the frozen record of every
 * finalized or aborted round, and a count of successful calls by an account that lacked the needed role.
 */
contract RegistryHandler is TestBase {
    ModelRegistry public immutable registry;
    uint64 public immutable fed;
    address public immutable admin;
    address[] internal _actors;

    struct GhostArtifact {
        uint64 id;
        bool perRound; // model updates are filed under (round, analyst)
        uint64 round;
        address submitter;
        bytes32 digest;
    }

    GhostArtifact[] internal _artifacts;
    mapping(address => bool) public ghostGranted;
    mapping(address => bool) public ghostRevoked;
    uint64[] internal _terminalRounds;
    mapping(uint64 round => bytes32 frozen) public ghostFrozenRound;
    uint256 public ghostUnauthorizedSuccesses;
    uint256 public ghostHighestArtifactCount;
    uint256 public ghostSuccessfulCalls;

    constructor(ModelRegistry registry_, uint64 fed_, address admin_, address[] memory actors_) {
        registry = registry_;
        fed = fed_;
        admin = admin_;
        _actors = actors_;
    }

    // ------------------------------------------------------------------ actions

    function grantRole(uint256 callerSeed, uint256 roleSeed, uint256 accountSeed) public {
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        bytes32 role = _role(roleSeed);
        address account = _actor(accountSeed);
        // Every argument is computed before the prank: the prank applies to the next external call only.
        vm.prank(caller);
        try registry.grantFederationRole(fed, role, account) {
            _succeeded(allowed);
        } catch {}
    }

    function revokeRole(uint256 callerSeed, uint256 roleSeed, uint256 accountSeed) public {
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        address account = _actor(accountSeed);
        bytes32 role = _role(roleSeed);
        // Keep the federation administrable: never strip the founding admin.
        if (account == admin && role == registry.FEDERATION_ADMIN_ROLE()) return;
        if (roleSeed % 8 > 1) return; // rarely, so that rounds keep their cast

        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        vm.prank(caller);
        try registry.revokeFederationRole(fed, role, account) {
            _succeeded(allowed);
        } catch {}
    }

    function grantPaillierKey(uint256 callerSeed, uint256 accountSeed, bytes32 blob) public {
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        address account = _actor(accountSeed);
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        vm.prank(caller);
        try registry.grantKey(fed, IModelRegistry.KeyKind.PaillierPrivateKey, account, "QmWrapped", blob) {
            _succeeded(allowed);
            ghostGranted[account] = true;
        } catch {}
    }

    function revokePaillierKey(uint256 callerSeed, uint256 accountSeed) public {
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        address account = _actor(accountSeed);
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        vm.prank(caller);
        try registry.revokeKey(fed, IModelRegistry.KeyKind.PaillierPrivateKey, address(0), account) {
            _succeeded(allowed);
            ghostRevoked[account] = true;
        } catch {}
    }

    function registerDataset(uint256 callerSeed, bytes32 sha, uint64 size, uint256 parentSeed) public {
        address caller = _caller(callerSeed, registry.DATA_OWNER_ROLE());
        bool allowed = _has(registry.DATA_OWNER_ROLE(), caller);
        uint64[] memory parents = _someParents(parentSeed);
        IModelRegistry.ArtifactInput memory a = IModelRegistry.ArtifactInput("QmDataset", sha, size);
        vm.prank(caller);
        try registry.registerArtifact(fed, IModelRegistry.ArtifactKind.Dataset, a, parents) returns (uint64 id) {
            _succeeded(allowed);
            _recordArtifact(id, false, 0, caller, IModelRegistry.ArtifactKind.Dataset, a, parents);
        } catch {}
    }

    function openRound(uint256 callerSeed, uint256 duration) public {
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        vm.prank(caller);
        try registry.openRound(fed, uint64(block.timestamp + bound(duration, 1 hours, 7 days))) {
            _succeeded(allowed);
        } catch {}
    }

    function submitUpdate(uint256 callerSeed, bytes32 sha, uint64 size) public {
        address caller = _caller(callerSeed, registry.ANALYST_ROLE());
        bool allowed = _has(registry.ANALYST_ROLE(), caller);
        uint64 round = _currentRound();
        IModelRegistry.ArtifactInput memory a = IModelRegistry.ArtifactInput("QmUpdate", sha, size);
        uint64[] memory parents = new uint64[](0);
        vm.prank(caller);
        try registry.submitUpdate(fed, round, a, parents) returns (uint64 id) {
            _succeeded(allowed);
            _recordArtifact(id, true, round, caller, IModelRegistry.ArtifactKind.ModelUpdate, a, parents);
        } catch {}
    }

    function closeRound(uint256 callerSeed) public {
        address caller = _caller(callerSeed, registry.AGGREGATOR_ROLE());
        bool allowed = _has(registry.AGGREGATOR_ROLE(), caller);
        uint64 round = _currentRound();
        vm.prank(caller);
        try registry.closeRound(fed, round) {
            _succeeded(allowed);
        } catch {}
    }

    function postAggregate(uint256 callerSeed, bytes32 sha) public {
        address caller = _caller(callerSeed, registry.AGGREGATOR_ROLE());
        bool allowed = _has(registry.AGGREGATOR_ROLE(), caller);
        uint64 round = _currentRound();
        uint64[] memory updates = _roundUpdates(round);
        IModelRegistry.ArtifactInput memory a = IModelRegistry.ArtifactInput("QmAggregate", sha, 99);
        vm.prank(caller);
        try registry.postAggregate(fed, round, a, updates) returns (uint64 id) {
            _succeeded(allowed);
            _recordArtifact(id, false, round, caller, IModelRegistry.ArtifactKind.EncryptedAggregate, a, updates);
        } catch {}
    }

    function finalizeRound(uint256 callerSeed, bytes32 sha) public {
        address caller = _keyHolderCaller(callerSeed);
        bool allowed = ghostGranted[caller] && !ghostRevoked[caller];
        uint64 round = _currentRound();
        uint64 parentVersion = registry.getFederation(fed).modelVersionCount;
        uint64 parentModel = parentVersion == 0 ? 0 : registry.getModelVersion(fed, parentVersion).globalModelArtifact;
        IModelRegistry.ArtifactInput memory model = IModelRegistry.ArtifactInput("QmModel", sha, 7);
        IModelRegistry.ArtifactInput memory metrics = IModelRegistry.ArtifactInput("QmMetrics", sha, 8);
        IModelRegistry.DpParameters memory noDp;
        vm.prank(caller);
        try registry.finalizeRound(fed, round, parentVersion, model, metrics, noDp) returns (uint64 version) {
            _succeeded(allowed);
            IModelRegistry.ModelVersion memory v = registry.getModelVersion(fed, version);
            uint64[] memory parents = new uint64[](parentVersion == 0 ? 1 : 2);
            parents[0] = registry.getRound(fed, round).aggregateArtifact;
            if (parentVersion != 0) parents[1] = parentModel;
            _recordArtifact(v.globalModelArtifact, false, round, caller, IModelRegistry.ArtifactKind.GlobalModel, model, parents);
            parents = new uint64[](1);
            parents[0] = v.globalModelArtifact;
            _recordArtifact(v.metricsArtifact, false, round, caller, IModelRegistry.ArtifactKind.Metrics, metrics, parents);
            _freeze(round);
        } catch {}
    }

    function abortRound(uint256 callerSeed) public {
        // Aborting is final, so do it rarely enough that rounds also get to finish.
        if (callerSeed % 8 != 1) return;
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        uint64 round = _currentRound();
        vm.prank(caller);
        try registry.abortRound(fed, round, "handler") {
            _succeeded(allowed);
            _freeze(round);
        } catch {}
    }

    function warp(uint256 seconds_) public {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 hours));
    }

    /// @dev Takes the next legal step of the round life cycle (with a mostly-right caller), so that sequences
    /// reach finalized rounds and model lineage instead of stalling among refusals.
    function step(uint256 seed, bytes32 sha) external {
        uint64 round = _currentRound();
        IModelRegistry.RoundStatus status =
            round == 0 ? IModelRegistry.RoundStatus.None : registry.getRound(fed, round).status;
        if (status == IModelRegistry.RoundStatus.Open) {
            if (registry.getRound(fed, round).updateCount != 0 && seed % 2 == 0) closeRound(seed);
            else submitUpdate(seed, sha, uint64(seed));
        } else if (status == IModelRegistry.RoundStatus.Aggregating) {
            if (registry.getRound(fed, round).aggregateArtifact == 0) postAggregate(seed, sha);
            else finalizeRound(seed, sha);
        } else {
            openRound(seed, seed >> 8);
        }
    }

    /// @dev Any one action with random arguments and a random-ish caller: probes refusals and interleavings.
    function chaos(uint8 action, uint256 a, uint256 b, uint256 c, bytes32 sha) external {
        uint256 which = action % 12;
        if (which == 0) grantRole(a, b, c);
        else if (which == 1) revokeRole(a, b, c);
        else if (which == 2) grantPaillierKey(a, b, sha);
        else if (which == 3) revokePaillierKey(a, b);
        else if (which == 4) registerDataset(a, sha, uint64(b), c);
        else if (which == 5) openRound(a, b);
        else if (which == 6) submitUpdate(a, sha, uint64(b));
        else if (which == 7) closeRound(a);
        else if (which == 8) postAggregate(a, sha);
        else if (which == 9) finalizeRound(a, sha);
        else if (which == 10) abortRound(a);
        else warp(a);
    }

    // ------------------------------------------------------------------ ghost views for the invariants

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function artifactGhostCount() external view returns (uint256) {
        return _artifacts.length;
    }

    function artifactGhost(uint256 i) external view returns (GhostArtifact memory) {
        return _artifacts[i];
    }

    function terminalRounds() external view returns (uint64[] memory) {
        return _terminalRounds;
    }

    function roundFingerprint(uint64 round) public view returns (bytes32) {
        return keccak256(abi.encode(registry.getRound(fed, round)));
    }

    // ------------------------------------------------------------------ helpers

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    /// @dev Mostly a holder of `role` (so that deep states are reached), sometimes anyone (to probe refusals).
    function _caller(uint256 seed, bytes32 role) internal view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 i = 0; i < _actors.length; ++i) {
                address candidate = _actors[(seed / 4 + i) % _actors.length];
                if (_has(role, candidate)) return candidate;
            }
        }
        return _actor(seed / 4);
    }

    /// @dev Mostly an account with a Paillier key grant (revoked or not), sometimes anyone.
    function _keyHolderCaller(uint256 seed) internal view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 i = 0; i < _actors.length; ++i) {
                address candidate = _actors[(seed / 4 + i) % _actors.length];
                if (ghostGranted[candidate]) return candidate;
            }
        }
        return _actor(seed / 4);
    }

    function _role(uint256 seed) internal view returns (bytes32) {
        uint256 i = seed % 4;
        if (i == 0) return registry.FEDERATION_ADMIN_ROLE();
        if (i == 1) return registry.DATA_OWNER_ROLE();
        if (i == 2) return registry.ANALYST_ROLE();
        return registry.AGGREGATOR_ROLE();
    }

    function _has(bytes32 role, address account) internal view returns (bool) {
        return registry.hasFederationRole(fed, role, account);
    }

    function _currentRound() internal view returns (uint64) {
        return registry.getFederation(fed).roundCount;
    }

    function _someParents(uint256 seed) internal view returns (uint64[] memory parents) {
        uint64 count = registry.artifactCount();
        parents = new uint64[](seed % 2);
        if (parents.length == 1) parents[0] = uint64(seed % (uint256(count) + 2)); // sometimes 0 or unknown
    }

    function _roundUpdates(uint64 round) internal view returns (uint64[] memory updates) {
        uint256 n;
        for (uint256 i = 0; i < _artifacts.length; ++i) if (_artifacts[i].perRound && _artifacts[i].round == round) ++n;
        updates = new uint64[](n);
        n = 0;
        for (uint256 i = 0; i < _artifacts.length; ++i) {
            if (_artifacts[i].perRound && _artifacts[i].round == round) updates[n++] = _artifacts[i].id;
        }
    }

    function _succeeded(bool allowed) internal {
        ++ghostSuccessfulCalls;
        if (!allowed) ++ghostUnauthorizedSuccesses;
    }

    function _recordArtifact(
        uint64 id,
        bool perRound,
        uint64 round,
        address submitter,
        IModelRegistry.ArtifactKind kind,
        IModelRegistry.ArtifactInput memory a,
        uint64[] memory parents
    ) internal {
        bytes32 digest = registry.computeArtifactDigest(kind, fed, round, submitter, a.cid, a.sha256, a.size, parents);
        _artifacts.push(GhostArtifact(id, perRound, round, submitter, digest));
        if (registry.artifactCount() > ghostHighestArtifactCount) ghostHighestArtifactCount = registry.artifactCount();
    }

    function _freeze(uint64 round) internal {
        _terminalRounds.push(round);
        ghostFrozenRound[round] = roundFingerprint(round);
    }
}
