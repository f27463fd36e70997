// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ArtifactDigest} from "../../../contracts/ArtifactDigest.sol";
import {ModelRegistry} from "../../../contracts/ModelRegistry.sol";
import {IModelRegistry} from "../../../contracts/IModelRegistry.sol";
import {TestBase} from "../utils/TestBase.sol";

/**
 * @dev Drives one federation through random actions by random actors, keeping ghost state: the digest of every
 * artifact it created, the datasets and their codec grants, the Paillier key epochs and grants it made and
 * revoked, every update accepted (by content hash), the partition every posted aggregate named, the frozen
 * record of every finalized or aborted round, and counters of successes that the rules forbid (a call without
 * the needed role, a copied hash, an update on an ungranted dataset or above its samples, a non-partition
 * aggregate, a revoked epoch in use, a finalized dispute). The invariants read these.
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

    struct GhostDataset {
        uint64 id;
        address owner;
        uint32 samples;
    }

    struct GhostRound {
        uint32 keyEpoch;
        bytes32[] updates; // content hashes, in submission order
        bool posted;
        bytes32[] included; // as posted (ascending)
        bytes32[] excluded; // as posted (ascending)
        uint64 aggregateId;
        address aggregator;
        uint64 weightsTotal;
        bool disputed;
        bool finalized;
    }

    GhostArtifact[] internal _artifacts;
    GhostDataset[] internal _datasets;
    mapping(uint64 round => GhostRound) internal _rounds;
    uint64[] internal _terminalRounds;
    uint64[] internal _finalizedRounds;
    mapping(uint64 round => bytes32 frozen) public ghostFrozenRound;

    // Paillier keys: the epoch each account's grant hands over (0 = never granted) and revocations.
    uint32 public ghostEpoch;
    mapping(address => uint32) public ghostGrantEpoch;
    mapping(address => bool) public ghostRevoked;
    mapping(uint32 epoch => bool) public ghostEpochRevoked;

    // Codec keys under PerDataOwner: owner => analyst => 0 none, 1 live, 2 revoked.
    mapping(address => mapping(address => uint8)) public ghostCodec;

    // Updates by content hash: the first (and only) id, round and weight accepted.
    bytes32[] internal _updateShas;
    mapping(bytes32 => uint64) public ghostUpdateId;
    mapping(bytes32 => uint64) public ghostUpdateRound;
    mapping(bytes32 => uint64) public ghostUpdateWeight;

    // Successes the rules forbid; every invariant expects them to stay 0.
    uint256 public ghostUnauthorizedSuccesses;
    uint256 public ghostDuplicateContentAccepted;
    uint256 public ghostBadUpdateAccepted; // ungranted dataset, weight out of bounds, bad parents
    uint256 public ghostBadAggregateAccepted; // not an exact partition, or too few included
    uint256 public ghostKeyEpochRuleBroken; // revoked epoch used, rotation during a live round
    uint256 public ghostDisputedFinalized;

    uint256 public ghostHighestArtifactCount;
    uint256 public ghostSuccessfulCalls;
    uint256 public ghostAggregatesWithExclusions;

    constructor(ModelRegistry registry_, uint64 fed_, address admin_, address[] memory actors_) {
        registry = registry_;
        fed = fed_;
        admin = admin_;
        _actors = actors_;
    }

    // ------------------------------------------------------------------ roles

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

    // ------------------------------------------------------------------ keys

    function startKeyEpoch(uint256 callerSeed, bytes32 sha) public {
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        bool live = _roundIsLive(_currentRound());
        IModelRegistry.ArtifactInput memory a = IModelRegistry.ArtifactInput("QmPublicKey", sha, 512);
        vm.prank(caller);
        try registry.startKeyEpoch(fed, a, keccak256(abi.encode("encoding", sha))) returns (uint32 epoch) {
            _succeeded(allowed);
            if (live || epoch != ghostEpoch + 1) ++ghostKeyEpochRuleBroken;
            ghostEpoch = epoch;
            _recordArtifact(
                registry.getFederation(fed).paillierPublicKeyArtifact,
                false,
                0,
                caller,
                IModelRegistry.ArtifactKind.PaillierPublicKey,
                a,
                new uint64[](0)
            );
        } catch {}
    }

    function grantPaillierKey(uint256 callerSeed, uint256 accountSeed, bytes32 blob) public {
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        address account = _actor(accountSeed);
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        vm.prank(caller);
        try registry.grantKey(fed, IModelRegistry.KeyKind.PaillierPrivateKey, account, "QmWrapped", blob) {
            _succeeded(allowed);
            if (ghostEpochRevoked[ghostEpoch] || ghostRevoked[account]) ++ghostKeyEpochRuleBroken;
            ghostGrantEpoch[account] = ghostEpoch;
        } catch {}
    }

    function revokePaillierKey(uint256 callerSeed, uint256 accountSeed) public {
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        address account = _actor(accountSeed);
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        vm.prank(caller);
        try registry.revokeKey(fed, IModelRegistry.KeyKind.PaillierPrivateKey, address(0), account) returns (
            bool changed
        ) {
            _succeeded(allowed);
            if (changed) ghostEpochRevoked[ghostGrantEpoch[account]] = true;
            ghostRevoked[account] = true;
        } catch {}
    }

    function grantCodecKey(uint256 callerSeed, uint256 accountSeed, bytes32 blob) public {
        address caller = _caller(callerSeed, registry.DATA_OWNER_ROLE());
        address account = _actor(accountSeed);
        bool allowed = _has(registry.DATA_OWNER_ROLE(), caller);
        vm.prank(caller);
        try registry.grantKey(fed, IModelRegistry.KeyKind.CodecKey, account, "QmWrappedCodec", blob) {
            _succeeded(allowed);
            if (ghostCodec[caller][account] == 2) ++ghostBadUpdateAccepted; // a revoked grant came back
            ghostCodec[caller][account] = 1;
        } catch {}
    }

    function revokeCodecKey(uint256 callerSeed, uint256 accountSeed) public {
        if (callerSeed % 4 != 1) return; // rarely, so that analysts keep their datasets
        address caller = _caller(callerSeed, registry.DATA_OWNER_ROLE());
        address account = _actor(accountSeed);
        bool allowed = _has(registry.DATA_OWNER_ROLE(), caller);
        vm.prank(caller);
        try registry.revokeKey(fed, IModelRegistry.KeyKind.CodecKey, caller, account) {
            _succeeded(allowed);
            ghostCodec[caller][account] = 2;
        } catch {}
    }

    // ------------------------------------------------------------------ artifacts

    function registerDataset(uint256 callerSeed, bytes32 sha, uint64 size, uint256 samples, uint256 parentSeed)
        public
    {
        address caller = _caller(callerSeed, registry.DATA_OWNER_ROLE());
        bool allowed = _has(registry.DATA_OWNER_ROLE(), caller);
        uint64[] memory parents = _someParents(parentSeed);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint32 sampleCount = uint32(samples % 5000); // sometimes 0
        IModelRegistry.ArtifactInput memory a = IModelRegistry.ArtifactInput("QmDataset", sha, size);
        vm.prank(caller);
        try registry.registerDataset(fed, a, sampleCount, parents) returns (uint64 id) {
            _succeeded(allowed);
            _recordArtifact(id, false, 0, caller, IModelRegistry.ArtifactKind.Dataset, a, parents);
            _datasets.push(GhostDataset(id, caller, sampleCount));
        } catch {}
    }

    // ------------------------------------------------------------------ rounds

    function openRound(uint256 callerSeed, uint256 duration) public {
        address caller = _caller(callerSeed, registry.FEDERATION_ADMIN_ROLE());
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        vm.prank(caller);
        try registry.openRound(fed, uint64(block.timestamp + bound(duration, 1 hours, 7 days))) returns (uint64 round) {
            _succeeded(allowed);
            if (ghostEpoch == 0 || ghostEpochRevoked[ghostEpoch]) ++ghostKeyEpochRuleBroken;
            _rounds[round].keyEpoch = ghostEpoch;
        } catch {}
    }

    /// @dev Submits as `caller` (a replayed or copied hash when `sha` is zero and hashes exist), on parents picked
    /// by `parentSeed` with a weight picked by `weightSeed` (mostly within the bound).
    function submitUpdate(address caller, bytes32 sha, uint64 size, uint256 weightSeed, uint256 parentSeed) public {
        bool allowed = _has(registry.ANALYST_ROLE(), caller);
        uint64 round = _currentRound();
        if (weightSeed % 16 == 3 && _updateShas.length != 0) sha = _updateShas[weightSeed % _updateShas.length];
        (uint64[] memory parents, uint64 samples) = _pickParents(parentSeed);
        uint64 weight = _pickWeight(weightSeed, samples);
        IModelRegistry.ArtifactInput memory a = IModelRegistry.ArtifactInput("QmUpdate", sha, size);
        vm.prank(caller);
        try registry.submitUpdate(fed, round, a, weight, parents) returns (uint64 id) {
            _succeeded(allowed);
            _checkAcceptedUpdate(caller, sha, weight, parents);
            _recordArtifact(id, true, round, caller, IModelRegistry.ArtifactKind.ModelUpdate, a, parents);
            _updateShas.push(sha);
            ghostUpdateId[sha] = id;
            ghostUpdateRound[sha] = round;
            ghostUpdateWeight[sha] = weight;
            _rounds[round].updates.push(sha);
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

    /**
     * @dev Posts an aggregate over the round's updates split by `maskSeed`: mostly all included, sometimes some
     * excluded, and sometimes a broken list (one dropped, one named twice, or two swapped) that must be refused.
     */
    function postAggregate(uint256 callerSeed, bytes32 sha, uint256 maskSeed) public {
        address caller = _caller(callerSeed, registry.AGGREGATOR_ROLE());
        bool allowed = _has(registry.AGGREGATOR_ROLE(), caller);
        uint64 round = _currentRound();
        (bytes32[] memory included, IModelRegistry.Exclusion[] memory excluded, bool broken) =
            _partition(round, maskSeed);
        IModelRegistry.ArtifactInput memory a = IModelRegistry.ArtifactInput("QmAggregate", sha, 99);
        vm.prank(caller);
        try registry.postAggregate(fed, round, a, included, excluded) returns (uint64 id) {
            _succeeded(allowed);
            if (broken || included.length < registry.getFederation(fed).minParticipants) ++ghostBadAggregateAccepted;
            uint64[] memory parents = _recordPosted(round, id, included, excluded);
            _rounds[round].aggregator = caller;
            _recordArtifact(id, false, round, caller, IModelRegistry.ArtifactKind.EncryptedAggregate, a, parents);
        } catch {}
    }

    function disputeAggregate(uint256 callerSeed, uint256 subjectSeed) public {
        address caller = _keyHolderCaller(callerSeed);
        uint64 round = _currentRound();
        bool allowed = _holdsEpoch(caller, _rounds[round].keyEpoch);
        bytes32 subject;
        IModelRegistry.DisputeReason reason;
        if (subjectSeed % 2 == 0 || _rounds[round].updates.length == 0) {
            reason = IModelRegistry.DisputeReason.AggregateMismatch;
            subject = round == 0 ? bytes32(0) : registry.getRound(fed, round).aggregateSha256;
        } else {
            reason = IModelRegistry.DisputeReason.InvalidUpdateIncluded;
            subject = _rounds[round].updates[subjectSeed % _rounds[round].updates.length];
        }
        vm.prank(caller);
        try registry.disputeAggregate(fed, round, subject, reason, "handler") {
            _succeeded(allowed);
            if (ghostEpochRevoked[_rounds[round].keyEpoch]) ++ghostKeyEpochRuleBroken;
            _rounds[round].disputed = true;
        } catch {}
    }

    function finalizeRound(uint256 callerSeed, bytes32 sha) public {
        address caller = _keyHolderCaller(callerSeed);
        uint64 round = _currentRound();
        bool allowed = _holdsEpoch(caller, _rounds[round].keyEpoch);
        uint64 parentVersion = registry.getFederation(fed).modelVersionCount;
        IModelRegistry.ArtifactInput memory model = IModelRegistry.ArtifactInput("QmModel", sha, 7);
        IModelRegistry.ArtifactInput memory metrics = IModelRegistry.ArtifactInput("QmMetrics", sha, 8);
        IModelRegistry.DpParameters memory noDp;
        vm.prank(caller);
        try registry.finalizeRound(fed, round, parentVersion, model, metrics, noDp) returns (uint64 version) {
            _succeeded(allowed);
            if (_rounds[round].disputed) ++ghostDisputedFinalized;
            if (ghostEpochRevoked[_rounds[round].keyEpoch]) ++ghostKeyEpochRuleBroken;
            _recordOutputs(round, version, parentVersion, caller, model, metrics);
            _rounds[round].finalized = true;
            _finalizedRounds.push(round);
            _freeze(round);
        } catch {}
    }

    function abortRound(uint256 callerSeed) public {
        // Aborting is final, so do it rarely enough that rounds also get to finish.
        if (callerSeed % 8 != 1) return;
        _abort(_caller(callerSeed, registry.FEDERATION_ADMIN_ROLE()));
    }

    function warp(uint256 seconds_) public {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 hours));
    }

    /// @dev Takes the next legal step of the round life cycle (with a mostly-right caller), so that sequences
    /// reach finalized rounds, key rotations and model lineage instead of stalling among refusals.
    function step(uint256 seed, bytes32 sha) external {
        uint64 round = _currentRound();
        IModelRegistry.RoundStatus status =
            round == 0 ? IModelRegistry.RoundStatus.None : registry.getRound(fed, round).status;
        if (status == IModelRegistry.RoundStatus.Open) {
            _stepOpen(round, seed, sha);
        } else if (status == IModelRegistry.RoundStatus.Aggregating) {
            IModelRegistry.Round memory r = registry.getRound(fed, round);
            if (r.aggregateArtifact == 0) postAggregate(seed, sha, seed >> 16);
            else if (r.disputed || !_liveHolderOf(r.keyEpoch)) _abort(admin);
            else finalizeRound(seed, sha);
        } else if (ghostEpoch == 0 || ghostEpochRevoked[ghostEpoch]) {
            startKeyEpoch(seed | 1, sha); // odd seeds pick an admin
        } else if (!_liveHolderOf(ghostEpoch)) {
            grantPaillierKey(seed | 1, _unrevokedActor(seed), sha);
        } else {
            openRound(seed, seed >> 8);
        }
    }

    /// @dev Any one action with random arguments and a random-ish caller: probes refusals and interleavings.
    function chaos(uint8 action, uint256 a, uint256 b, uint256 c, bytes32 sha) external {
        uint256 which = action % 17;
        if (which == 0) grantRole(a, b, c);
        else if (which == 1) revokeRole(a, b, c);
        else if (which == 2) grantPaillierKey(a, b, sha);
        else if (which == 3) revokePaillierKey(a, b);
        // forge-lint: disable-next-line(unsafe-typecast)
        else if (which == 4) registerDataset(a, sha, uint64(b), c, a >> 8);
        else if (which == 5) openRound(a, b);
        // forge-lint: disable-next-line(unsafe-typecast)
        else if (which == 6) submitUpdate(_caller(a, registry.ANALYST_ROLE()), sha, uint64(b), c, c >> 8);
        else if (which == 7) closeRound(a);
        else if (which == 8) postAggregate(a, sha, b);
        else if (which == 9) finalizeRound(a, sha);
        else if (which == 10) abortRound(a);
        else if (which == 11) startKeyEpoch(a, sha);
        else if (which == 12) grantCodecKey(a, b, sha);
        else if (which == 13) revokeCodecKey(a, b);
        else if (which == 14) disputeAggregate(a, b);
        // forge-lint: disable-next-line(unsafe-typecast)
        else if (which == 15) submitUpdate(_actor(a), sha, uint64(b), c, c >> 8);
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

    function finalizedRounds() external view returns (uint64[] memory) {
        return _finalizedRounds;
    }

    function updateShas() external view returns (bytes32[] memory) {
        return _updateShas;
    }

    function ghostRound(uint64 round) external view returns (GhostRound memory) {
        return _rounds[round];
    }

    function roundFingerprint(uint64 round) public view returns (bytes32) {
        return keccak256(abi.encode(registry.getRound(fed, round)));
    }

    // ------------------------------------------------------------------ helpers: actors

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

    /// @dev Mostly an account with a Paillier key grant (revoked, stale or not), sometimes anyone.
    function _keyHolderCaller(uint256 seed) internal view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 i = 0; i < _actors.length; ++i) {
                address candidate = _actors[(seed / 4 + i) % _actors.length];
                if (ghostGrantEpoch[candidate] != 0) return candidate;
            }
        }
        return _actor(seed / 4);
    }

    /// @dev An analyst that has not submitted to `round` yet, holds a live codec grant of the first dataset, and
    /// is not the admin (address(0) if none).
    function _freshAnalyst(uint64 round, uint256 seed) internal view returns (address) {
        address datasetOwner = _datasets.length == 0 ? address(0) : _datasets[0].owner;
        for (uint256 i = 0; i < _actors.length; ++i) {
            address candidate = _actors[(seed % _actors.length + i) % _actors.length];
            if (
                _has(registry.ANALYST_ROLE(), candidate) && ghostCodec[datasetOwner][candidate] == 1
                    && registry.updateDigest(fed, round, candidate) == bytes32(0)
            ) return candidate;
        }
        return address(0);
    }

    function _unrevokedActor(uint256 seed) internal view returns (uint256) {
        for (uint256 i = 0; i < _actors.length; ++i) {
            uint256 index = (seed % _actors.length + i) % _actors.length;
            if (!ghostRevoked[_actors[index]]) return index;
        }
        return seed;
    }

    function _holdsEpoch(address account, uint32 epoch) internal view returns (bool) {
        return epoch != 0 && ghostGrantEpoch[account] == epoch && !ghostRevoked[account];
    }

    function _liveHolderOf(uint32 epoch) internal view returns (bool) {
        if (ghostEpochRevoked[epoch]) return false;
        for (uint256 i = 0; i < _actors.length; ++i) if (_holdsEpoch(_actors[i], epoch)) return true;
        return false;
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

    // ------------------------------------------------------------------ helpers: rounds

    function _currentRound() internal view returns (uint64) {
        return registry.getFederation(fed).roundCount;
    }

    function _roundIsLive(uint64 round) internal view returns (bool) {
        if (round == 0) return false;
        IModelRegistry.RoundStatus s = registry.getRound(fed, round).status;
        return s == IModelRegistry.RoundStatus.Open || s == IModelRegistry.RoundStatus.Aggregating;
    }

    function _stepOpen(uint64 round, uint256 seed, bytes32 sha) internal {
        IModelRegistry.Round memory r = registry.getRound(fed, round);
        bool enough = r.updateCount >= registry.getFederation(fed).minParticipants;
        // forge-lint: disable-next-line(block-timestamp)
        bool late = block.timestamp > r.deadline;
        address analyst = _freshAnalyst(round, seed);
        if (enough && (seed % 3 == 0 || late || analyst == address(0))) {
            closeRound(seed | 1);
        } else if (late || analyst == address(0)) {
            _abort(admin);
        } else {
            // Well-formed: the first dataset (parent seed 21), a fitting weight (weight seed mode 4..7 or 12..15)
            // and a hash fresh for this round and analyst.
            bytes32 fresh = keccak256(abi.encode(sha, round, analyst));
            // forge-lint: disable-next-line(unsafe-typecast)
            submitUpdate(analyst, fresh, uint64(seed), (seed >> 8) | 4, 21); // any size
        }
    }

    function _abort(address caller) internal {
        bool allowed = _has(registry.FEDERATION_ADMIN_ROLE(), caller);
        uint64 round = _currentRound();
        vm.prank(caller);
        try registry.abortRound(fed, round, "handler") {
            _succeeded(allowed);
            _freeze(round);
        } catch {}
    }

    // ------------------------------------------------------------------ helpers: updates

    /// @dev Parents for an update: mostly the first dataset, sometimes another or two, and sometimes a broken
    /// list (none, unsorted, an update). Returns them and the ghost samples of their datasets.
    function _pickParents(uint256 seed) internal view returns (uint64[] memory parents, uint64 samples) {
        uint256 mode = seed % 16;
        uint256 n = _datasets.length;
        if (n == 0 || mode == 0) return (new uint64[](0), 0);
        if (mode == 1 && _updateShas.length != 0) {
            parents = new uint64[](1);
            parents[0] = ghostUpdateId[_updateShas[(seed >> 4) % _updateShas.length]];
            return (parents, 0);
        }
        GhostDataset memory first = _datasets[(seed >> 4) % 4 == 0 ? (seed >> 6) % n : 0];
        if ((mode == 2 || mode == 3) && n > 1) {
            GhostDataset memory second = _datasets[(seed >> 8) % n];
            if (second.id != first.id) {
                parents = new uint64[](2);
                // mode 2: ascending; mode 3: descending (refused)
                bool ascending = (first.id < second.id) == (mode == 2);
                (parents[0], parents[1]) = ascending ? (first.id, second.id) : (second.id, first.id);
                return (parents, uint64(first.samples) + second.samples);
            }
        }
        parents = new uint64[](1);
        parents[0] = first.id;
        samples = first.samples;
    }

    /// @dev Mostly a weight in [1, samples]; sometimes 0 or one above.
    function _pickWeight(uint256 seed, uint64 samples) internal pure returns (uint64) {
        uint256 mode = seed % 16;
        if (mode == 0) return 0;
        if (mode == 1) return samples + 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        if (samples == 0) return uint64(seed >> 4); // any weight: refused without a dataset
        return uint64(1 + (seed >> 4) % samples);
    }

    /// @dev Counts an accepted update that breaks a rule the ghost state can tell.
    function _checkAcceptedUpdate(address caller, bytes32 sha, uint64 weight, uint64[] memory parents) internal {
        if (ghostUpdateId[sha] != 0) ++ghostDuplicateContentAccepted;
        uint64 samples;
        uint64 previous;
        bool bad;
        for (uint256 i = 0; i < parents.length; ++i) {
            if (parents[i] <= previous) bad = true;
            previous = parents[i];
            (bool isDataset, GhostDataset memory d) = _ghostDataset(parents[i]);
            if (!isDataset) {
                bad = true; // the handler only names datasets and updates as parents
                continue;
            }
            if (ghostCodec[d.owner][caller] != 1) bad = true;
            samples += d.samples;
        }
        if (weight == 0 || weight > samples) bad = true;
        if (bad) ++ghostBadUpdateAccepted;
    }

    function _ghostDataset(uint64 id) internal view returns (bool, GhostDataset memory) {
        for (uint256 i = 0; i < _datasets.length; ++i) if (_datasets[i].id == id) return (true, _datasets[i]);
        GhostDataset memory none;
        return (false, none);
    }

    // ------------------------------------------------------------------ helpers: aggregates

    /// @dev Splits the round's updates into sorted included and excluded lists; `broken` if the lists were
    /// deliberately made not to be an exact ascending partition.
    function _partition(uint64 round, uint256 seed)
        internal
        view
        returns (bytes32[] memory included, IModelRegistry.Exclusion[] memory excluded, bool broken)
    {
        bytes32[] memory all = _sort(_copy(_rounds[round].updates));
        // Which to exclude: mostly none, sometimes exactly one (valid with a spare update), sometimes any.
        uint256 mask;
        if (seed % 8 == 0) mask = seed >> 8;
        else if (seed % 8 < 4 && all.length != 0) mask = 2 ** ((seed >> 8) % all.length);
        uint256 nExcluded;
        for (uint256 i = 0; i < all.length; ++i) if ((mask >> i) & 1 == 1) ++nExcluded;
        included = new bytes32[](all.length - nExcluded);
        excluded = new IModelRegistry.Exclusion[](nExcluded);
        uint256 k;
        uint256 m;
        for (uint256 i = 0; i < all.length; ++i) {
            if ((mask >> i) & 1 == 1) {
                excluded[m++] = IModelRegistry.Exclusion(all[i], IModelRegistry.ExclusionReason(1 + (seed >> 4) % 8));
            } else {
                included[k++] = all[i];
            }
        }
        uint256 breakMode = (seed >> 2) % 16;
        if (breakMode == 1 && included.length != 0) {
            // Drop the last included update.
            bytes32[] memory shorter = new bytes32[](included.length - 1);
            for (uint256 i = 0; i < shorter.length; ++i) shorter[i] = included[i];
            included = shorter;
            broken = true;
        } else if (breakMode == 2 && included.length > 1) {
            included[1] = included[0]; // named twice, the second one left out
            broken = true;
        } else if (breakMode == 3 && included.length > 1) {
            (included[0], included[1]) = (included[1], included[0]);
            broken = true;
        } else if (breakMode == 4 && excluded.length != 0) {
            excluded[0].reason = IModelRegistry.ExclusionReason.None;
            broken = true;
        }
    }

    function _recordPosted(
        uint64 round,
        uint64 id,
        bytes32[] memory included,
        IModelRegistry.Exclusion[] memory excluded
    ) internal returns (uint64[] memory parents) {
        GhostRound storage g = _rounds[round];
        g.posted = true;
        g.aggregateId = id;
        parents = new uint64[](included.length);
        uint64 weights;
        for (uint256 i = 0; i < included.length; ++i) {
            g.included.push(included[i]);
            parents[i] = ghostUpdateId[included[i]];
            weights += ghostUpdateWeight[included[i]];
        }
        for (uint256 i = 0; i < excluded.length; ++i) g.excluded.push(excluded[i].updateSha256);
        g.weightsTotal = weights;
        if (excluded.length != 0) ++ghostAggregatesWithExclusions;
    }

    function _recordOutputs(
        uint64 round,
        uint64 version,
        uint64 parentVersion,
        address caller,
        IModelRegistry.ArtifactInput memory model,
        IModelRegistry.ArtifactInput memory metrics
    ) internal {
        IModelRegistry.ModelVersion memory v = registry.getModelVersion(fed, version);
        uint64[] memory parents = new uint64[](parentVersion == 0 ? 1 : 2);
        parents[0] = _rounds[round].aggregateId;
        if (parentVersion != 0) parents[1] = registry.getModelVersion(fed, parentVersion).globalModelArtifact;
        _recordArtifact(v.globalModelArtifact, false, round, caller, IModelRegistry.ArtifactKind.GlobalModel, model, parents);
        parents = new uint64[](1);
        parents[0] = v.globalModelArtifact;
        _recordArtifact(v.metricsArtifact, false, round, caller, IModelRegistry.ArtifactKind.Metrics, metrics, parents);
    }

    // ------------------------------------------------------------------ helpers: bookkeeping

    function _someParents(uint256 seed) internal view returns (uint64[] memory parents) {
        uint64 count = registry.artifactCount();
        parents = new uint64[](seed % 2);
        // Sometimes 0, unknown or an update.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (parents.length == 1) parents[0] = uint64(seed % (uint256(count) + 2));
    }

    function _copy(bytes32[] storage list) internal view returns (bytes32[] memory out) {
        out = new bytes32[](list.length);
        for (uint256 i = 0; i < list.length; ++i) out[i] = list[i];
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
        bytes32 digest = ArtifactDigest.compute(kind, fed, round, submitter, a.cid, a.sha256, a.size, parents);
        _artifacts.push(GhostArtifact(id, perRound, round, submitter, digest));
        if (registry.artifactCount() > ghostHighestArtifactCount) ghostHighestArtifactCount = registry.artifactCount();
    }

    function _freeze(uint64 round) internal {
        _terminalRounds.push(round);
        ghostFrozenRound[round] = roundFingerprint(round);
    }
}
