// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IModelRegistry} from "./IModelRegistry.sol";

/**
 * @title ModelRegistry
 * @dev Blockchain-anchored registry for private federated learning: federations, per-federation roles,
 * append-only artifacts, wrapped-key grants, training rounds and model versions with lineage.
 *
 * Storage keeps only roots; bulk data lives in events and on IPFS. An artifact is stored as one digest
 * (see {computeArtifactDigest}) over everything its {ArtifactRegistered} event carries, so any reader can
 * check an event against the chain state with one call. Model updates, the hot path of every round, are
 * filed under (federation, round, analyst) instead of their id (see {updateDigest}): that one slot both
 * stores the digest and enforces one update per analyst per round.
 *
 * Roles are OpenZeppelin {AccessControl} roles *scoped per federation*: the role id that is granted is
 * `federationRole(federationId, baseRole)`. Per-federation scoping is deliberate: the admin of federation 1
 * must have no power over federation 2, and an analyst admitted to one training effort must not be able to
 * submit to another. The admin role of every per-federation role is that federation's
 * {FEDERATION_ADMIN_ROLE}, so the inherited {grantRole}/{revokeRole}/{renounceRole} keep working and are
 * mirrored by {FederationRoleGranted}/{FederationRoleRevoked} events indexed by federation.
 * The only registry-wide roles are `DEFAULT_ADMIN_ROLE` (the deployer) and {FEDERATION_CREATOR_ROLE}.
 *
 * The key holder is deliberately NOT an AccessControl role: an account acts as key holder of a federation
 * exactly when it holds an unrevoked grant of the federation's Paillier private key. A revocation is
 * recorded forever, so a revoked account can never finalize again nor be granted the same key again.
 */
contract ModelRegistry is AccessControl, IModelRegistry {
    /// @dev Registry-wide role allowed to create federations.
    bytes32 public constant FEDERATION_CREATOR_ROLE = keccak256("FEDERATION_CREATOR_ROLE");
    /// @dev Per-federation base roles; grant `federationRole(federationId, X)`.
    bytes32 public constant FEDERATION_ADMIN_ROLE = keccak256("FEDERATION_ADMIN_ROLE");
    bytes32 public constant DATA_OWNER_ROLE = keccak256("DATA_OWNER_ROLE");
    bytes32 public constant ANALYST_ROLE = keccak256("ANALYST_ROLE");
    bytes32 public constant AGGREGATOR_ROLE = keccak256("AGGREGATOR_ROLE");

    /// @dev Longest CID accepted (a CIDv1 in base32 with a sha2-512 multihash is ~113 characters).
    uint256 public constant MAX_CID_LENGTH = 128;

    uint64 private _federationCount;
    uint64 private _artifactCount;

    mapping(uint64 federationId => Federation) private _federations;
    mapping(uint64 artifactId => bytes32 digest) private _artifactDigests;
    mapping(bytes32 roleId => uint64 federationId) private _roleFederation;
    mapping(bytes32 grantId => KeyGrant) private _keyGrants;
    mapping(uint64 federationId => mapping(uint64 round => Round)) private _rounds;
    mapping(uint64 federationId => mapping(uint64 round => mapping(address analyst => bytes32 digest)))
        private _updateDigests;
    mapping(uint64 federationId => mapping(uint64 version => ModelVersion)) private _modelVersions;

    /// @dev Grants `DEFAULT_ADMIN_ROLE` and {FEDERATION_CREATOR_ROLE} to `operator`.
    constructor(address operator) {
        if (operator == address(0)) revert ModelRegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(FEDERATION_CREATOR_ROLE, operator);
    }

    // ================================================================== federations and roles

    /**
     * @dev Creates a federation administered by `admin` and returns its id.
     *
     * Emits {FederationCreated} and {FederationRoleGranted} for the admin.
     *
     * Requirements:
     *
     * - the caller must have {FEDERATION_CREATOR_ROLE}.
     * - `admin` must not be the zero address.
     * - `minParticipants` must be at least 1.
     */
    function createFederation(address admin, uint32 minParticipants, CodecKeyPolicy codecKeyPolicy)
        external
        onlyRole(FEDERATION_CREATOR_ROLE)
        returns (uint64 federationId)
    {
        if (admin == address(0)) revert ModelRegistryZeroAddress();
        if (minParticipants == 0) revert ModelRegistryInvalidMinParticipants(minParticipants);
        federationId = ++_federationCount;
        _federations[federationId] = Federation({
            paillierPublicKeyArtifact: 0,
            minParticipants: minParticipants,
            codecKeyPolicy: codecKeyPolicy,
            roundCount: 0,
            modelVersionCount: 0
        });
        _roleFederation[federationRole(federationId, FEDERATION_ADMIN_ROLE)] = federationId;
        _roleFederation[federationRole(federationId, DATA_OWNER_ROLE)] = federationId;
        _roleFederation[federationRole(federationId, ANALYST_ROLE)] = federationId;
        _roleFederation[federationRole(federationId, AGGREGATOR_ROLE)] = federationId;
        emit FederationCreated(federationId, admin, _msgSender(), minParticipants, codecKeyPolicy);
        _grantRole(federationRole(federationId, FEDERATION_ADMIN_ROLE), admin);
    }

    /**
     * @dev Grants the per-federation `role` to `account`. Idempotent: returns false and emits nothing if
     * `account` already holds it.
     *
     * Emits {FederationRoleGranted} (and OpenZeppelin's {RoleGranted}) on change.
     *
     * Requirements:
     *
     * - the federation must exist and `role` must be a per-federation base role.
     * - the caller must be an admin of the federation.
     * - `account` must not be the zero address.
     */
    function grantFederationRole(uint64 federationId, bytes32 role, address account) external returns (bool) {
        _checkBaseRole(role);
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, _msgSender());
        if (account == address(0)) revert ModelRegistryZeroAddress();
        return _grantRole(federationRole(federationId, role), account);
    }

    /**
     * @dev Revokes the per-federation `role` from `account`. Idempotent: returns false and emits nothing if
     * `account` does not hold it.
     *
     * Emits {FederationRoleRevoked} (and OpenZeppelin's {RoleRevoked}) on change.
     *
     * Requirements:
     *
     * - the federation must exist and `role` must be a per-federation base role.
     * - the caller must be an admin of the federation.
     */
    function revokeFederationRole(uint64 federationId, bytes32 role, address account) external returns (bool) {
        _checkBaseRole(role);
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, _msgSender());
        return _revokeRole(federationRole(federationId, role), account);
    }

    /// @dev Whether `account` holds the per-federation `role` in `federationId`.
    function hasFederationRole(uint64 federationId, bytes32 role, address account) public view returns (bool) {
        return hasRole(federationRole(federationId, role), account);
    }

    /// @dev The AccessControl role id of `baseRole` scoped to `federationId`.
    function federationRole(uint64 federationId, bytes32 baseRole) public pure returns (bytes32) {
        return keccak256(abi.encode(federationId, baseRole));
    }

    /// @dev Per-federation roles are administered by the federation's admin role; others as in AccessControl.
    function getRoleAdmin(bytes32 role) public view override returns (bytes32) {
        uint64 federationId = _roleFederation[role];
        if (federationId != 0) return federationRole(federationId, FEDERATION_ADMIN_ROLE);
        return super.getRoleAdmin(role);
    }

    /// @dev Number of federations created so far.
    function federationCount() external view returns (uint64) {
        return _federationCount;
    }

    /// @dev The stored record of `federationId`.
    function getFederation(uint64 federationId) external view returns (Federation memory) {
        _checkFederation(federationId);
        return _federations[federationId];
    }

    // ================================================================== artifacts

    /**
     * @dev Registers an artifact that has no dedicated entry point and returns its id. Corrections are new
     * artifacts that list the corrected one among their `parents`.
     *
     * Emits {ArtifactRegistered}.
     *
     * Requirements:
     *
     * - `kind` is `Dataset` (caller must be a data owner), `WrappedKey` (a data owner or the admin) or
     *   `Metrics` (the admin); every other kind has its own function.
     * - `artifact` has a non-empty CID of at most {MAX_CID_LENGTH} bytes and a non-zero sha256.
     * - every parent is an existing artifact id.
     */
    function registerArtifact(
        uint64 federationId,
        ArtifactKind kind,
        ArtifactInput calldata artifact,
        uint64[] calldata parents
    ) external returns (uint64) {
        address sender = _msgSender();
        if (kind == ArtifactKind.Dataset) {
            _checkFederationRole(federationId, DATA_OWNER_ROLE, sender);
        } else if (kind == ArtifactKind.WrappedKey) {
            if (!hasFederationRole(federationId, DATA_OWNER_ROLE, sender)) {
                _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
            }
        } else if (kind == ArtifactKind.Metrics) {
            _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        } else {
            revert ModelRegistryWrongArtifactKind(kind);
        }
        return _registerArtifact(federationId, 0, kind, artifact, parents);
    }

    /// @dev Number of artifacts registered so far; ids run from 1 to this value and are never reused.
    function artifactCount() external view returns (uint64) {
        return _artifactCount;
    }

    /**
     * @dev The stored digest of artifact `artifactId` (see {computeArtifactDigest}). Zero for a model update,
     * whose digest is filed under its round and analyst (see {updateDigest}).
     */
    function artifactDigest(uint64 artifactId) external view returns (bytes32) {
        if (artifactId == 0 || artifactId > _artifactCount) revert ModelRegistryUnknownArtifact(artifactId);
        return _artifactDigests[artifactId];
    }

    /**
     * @dev The digest stored for an artifact: keccak256 of the ABI encoding of
     * `(kind, federationId, round, submitter, keccak256(cid), sha256, size, keccak256(abi.encodePacked(parents)))`.
     */
    function computeArtifactDigest(
        ArtifactKind kind,
        uint64 federationId,
        uint64 round,
        address submitter,
        string memory cid,
        bytes32 contentSha256,
        uint64 size,
        uint64[] memory parents
    ) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                kind,
                federationId,
                round,
                submitter,
                keccak256(bytes(cid)),
                contentSha256,
                size,
                keccak256(abi.encodePacked(parents))
            )
        );
    }

    /**
     * @dev Sets the federation's Paillier public key artifact, once.
     *
     * Emits {ArtifactRegistered} and {PaillierPublicKeySet}.
     *
     * Requirements:
     *
     * - the caller must be an admin of the federation.
     * - the key must not be set yet (a new key means a new federation).
     * - `artifact` is a valid artifact (see {registerArtifact}).
     */
    function setPaillierPublicKey(uint64 federationId, ArtifactInput calldata artifact) external returns (uint64 id) {
        address sender = _msgSender();
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        Federation storage federation = _federations[federationId];
        uint64 existing = federation.paillierPublicKeyArtifact;
        if (existing != 0) revert ModelRegistryPublicKeyAlreadySet(federationId, existing);
        id = _registerArtifact(federationId, 0, ArtifactKind.PaillierPublicKey, artifact, new uint64[](0));
        federation.paillierPublicKeyArtifact = id;
        emit PaillierPublicKeySet(federationId, id, sender);
    }

    // ================================================================== key grants

    /**
     * @dev Grants `account` the key of `kind`, handed over as the wrapped blob `wrappedKeyCid` with hash
     * `wrappedKeySha256`. Idempotent: granting the same blob again returns false and emits nothing; a new blob
     * (re-wrapped key) replaces the old one and is recorded.
     *
     * The key owner is the caller for a codec key under {CodecKeyPolicy.PerDataOwner}, otherwise the
     * federation itself (`address(0)`).
     *
     * Emits {KeyGranted} on change.
     *
     * Requirements:
     *
     * - Paillier private key, or codec key under `FederationWide`: the caller must be the federation admin.
     * - codec key under `PerDataOwner`: the caller must be a data owner of the federation.
     * - `account` must not be the zero address; CID and hash must be non-empty.
     * - the same key must never have been revoked from `account`.
     */
    function grantKey(
        uint64 federationId,
        KeyKind kind,
        address account,
        string calldata wrappedKeyCid,
        bytes32 wrappedKeySha256
    ) external returns (bool) {
        address keyOwner = _checkKeyManager(federationId, kind);
        if (account == address(0)) revert ModelRegistryZeroAddress();
        _checkCidAndHash(wrappedKeyCid, wrappedKeySha256);
        KeyGrant storage grant = _keyGrants[keyGrantId(federationId, kind, keyOwner, account)];
        if (grant.revokedAt != 0) {
            revert ModelRegistryKeyGrantRevoked(federationId, kind, keyOwner, account, grant.revokedAt);
        }
        if (grant.grantedAt != 0 && grant.wrappedKeySha256 == wrappedKeySha256) return false;
        address sender = _msgSender();
        grant.grantor = sender;
        grant.grantedAt = uint48(block.timestamp);
        grant.wrappedKeySha256 = wrappedKeySha256;
        emit KeyGranted(federationId, account, keyOwner, kind, sender, wrappedKeyCid, wrappedKeySha256);
        return true;
    }

    /**
     * @dev Revokes, forever, the grant of `kind` owned by `keyOwner` from `account`. Idempotent: revoking an
     * already revoked grant returns false and emits nothing.
     *
     * Emits {KeyRevoked} on change.
     *
     * Requirements:
     *
     * - the caller must be the federation admin, or `keyOwner` itself when it is a data owner.
     * - the grant must exist.
     */
    function revokeKey(uint64 federationId, KeyKind kind, address keyOwner, address account)
        external
        returns (bool)
    {
        address sender = _msgSender();
        if (keyOwner == address(0) || sender != keyOwner) {
            _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        } else {
            _checkFederationRole(federationId, DATA_OWNER_ROLE, sender);
        }
        KeyGrant storage grant = _keyGrants[keyGrantId(federationId, kind, keyOwner, account)];
        if (grant.grantedAt == 0) revert ModelRegistryKeyNotGranted(federationId, kind, keyOwner, account);
        if (grant.revokedAt != 0) return false;
        grant.revokedAt = uint48(block.timestamp);
        emit KeyRevoked(federationId, account, keyOwner, kind, sender);
        return true;
    }

    /// @dev The grant record of `kind` owned by `keyOwner` for `account` (all zero if never granted).
    function getKeyGrant(uint64 federationId, KeyKind kind, address keyOwner, address account)
        external
        view
        returns (KeyGrant memory)
    {
        return _keyGrants[keyGrantId(federationId, kind, keyOwner, account)];
    }

    /// @dev Whether `account` can act as key holder of `federationId`: it holds an unrevoked Paillier key grant.
    function isKeyHolder(uint64 federationId, address account) public view returns (bool) {
        KeyGrant storage grant = _keyGrants[keyGrantId(federationId, KeyKind.PaillierPrivateKey, address(0), account)];
        return grant.grantedAt != 0 && grant.revokedAt == 0;
    }

    /// @dev Storage key of a grant.
    function keyGrantId(uint64 federationId, KeyKind kind, address keyOwner, address account)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(federationId, kind, keyOwner, account));
    }

    // ================================================================== rounds

    /**
     * @dev Opens the next round of the federation, accepting updates until `deadline` (inclusive, block time).
     *
     * Emits {RoundOpened}.
     *
     * Requirements:
     *
     * - the caller must be an admin of the federation.
     * - the federation's Paillier public key must be set.
     * - the previous round, if any, must be finalized or aborted.
     * - `deadline` must be later than the current block time.
     */
    function openRound(uint64 federationId, uint64 deadline) external returns (uint64 round) {
        address sender = _msgSender();
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        Federation storage federation = _federations[federationId];
        if (federation.paillierPublicKeyArtifact == 0) revert ModelRegistryPublicKeyNotSet(federationId);
        uint64 previous = federation.roundCount;
        if (previous != 0) {
            RoundStatus status = _rounds[federationId][previous].status;
            if (status == RoundStatus.Open || status == RoundStatus.Aggregating) {
                revert ModelRegistryRoundInProgress(federationId, previous, status);
            }
        }
        // Deadlines are block time by design; a validator's few seconds of drift do not matter at round scale.
        // forge-lint: disable-next-line(block-timestamp)
        if (deadline <= block.timestamp) revert ModelRegistryDeadlineInPast(deadline, block.timestamp);
        round = previous + 1;
        federation.roundCount = round;
        Round storage r = _rounds[federationId][round];
        r.status = RoundStatus.Open;
        r.deadline = deadline;
        emit RoundOpened(federationId, round, sender, deadline);
    }

    /**
     * @dev Registers the caller's (encrypted) model update for `round` and returns its artifact id.
     *
     * Emits {ArtifactRegistered} and {UpdateSubmitted}.
     *
     * Requirements:
     *
     * - the caller must be an analyst of the federation.
     * - the round must be open and its deadline not passed.
     * - the caller must not have submitted an update in this round yet.
     * - `update` is a valid artifact and every parent exists (e.g. the datasets and model version used).
     */
    function submitUpdate(
        uint64 federationId,
        uint64 round,
        ArtifactInput calldata update,
        uint64[] calldata parents
    ) external returns (uint64 id) {
        address sender = _msgSender();
        _checkFederationRole(federationId, ANALYST_ROLE, sender);
        Round storage r = _roundInStatus(federationId, round, RoundStatus.Open);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > r.deadline) {
            revert ModelRegistryDeadlinePassed(federationId, round, r.deadline, block.timestamp);
        }
        mapping(address => bytes32) storage submitted = _updateDigests[federationId][round];
        bytes32 existing = submitted[sender];
        if (existing != 0) revert ModelRegistryDuplicateUpdate(federationId, round, sender, existing);
        bytes32 digest;
        (id, digest) = _appendArtifact(federationId, round, ArtifactKind.ModelUpdate, update, parents);
        submitted[sender] = digest;
        r.updateCount += 1;
        emit UpdateSubmitted(federationId, round, sender, id);
    }

    /**
     * @dev Closes submissions of an open round and moves it to aggregation.
     *
     * Emits {RoundClosed}.
     *
     * Requirements:
     *
     * - the caller must be an aggregator of the federation.
     * - the round must be open and hold at least the federation's minimum number of updates.
     */
    function closeRound(uint64 federationId, uint64 round) external {
        address sender = _msgSender();
        _checkFederationRole(federationId, AGGREGATOR_ROLE, sender);
        Round storage r = _roundInStatus(federationId, round, RoundStatus.Open);
        uint32 minParticipants = _federations[federationId].minParticipants;
        if (r.updateCount < minParticipants) {
            revert ModelRegistryTooFewUpdates(federationId, round, r.updateCount, minParticipants);
        }
        r.status = RoundStatus.Aggregating;
        emit RoundClosed(federationId, round, sender, r.updateCount);
    }

    /**
     * @dev Registers the encrypted aggregate of a closed round; `updates` are the update artifacts summed.
     *
     * Emits {ArtifactRegistered} and {AggregatePosted}.
     *
     * Requirements:
     *
     * - the caller must be an aggregator of the federation.
     * - the round must be aggregating with no aggregate posted yet.
     * - `updates` must name as many artifacts as the round has updates, all existing.
     */
    function postAggregate(
        uint64 federationId,
        uint64 round,
        ArtifactInput calldata aggregate,
        uint64[] calldata updates
    ) external returns (uint64 id) {
        address sender = _msgSender();
        _checkFederationRole(federationId, AGGREGATOR_ROLE, sender);
        Round storage r = _roundInStatus(federationId, round, RoundStatus.Aggregating);
        if (r.aggregateArtifact != 0) {
            revert ModelRegistryAggregateAlreadyPosted(federationId, round, r.aggregateArtifact);
        }
        if (updates.length != r.updateCount) {
            revert ModelRegistryAggregateUpdateMismatch(federationId, round, updates.length, r.updateCount);
        }
        id = _registerArtifact(federationId, round, ArtifactKind.EncryptedAggregate, aggregate, updates);
        r.aggregateArtifact = id;
        r.aggregateSha256 = aggregate.sha256;
        emit AggregatePosted(federationId, round, sender, id, aggregate.sha256);
    }

    /**
     * @dev Finalizes an aggregated round: records the new global model and metrics artifacts, the round's
     * DP parameters and a new model version whose parent is `parentVersion` (0 = trained from scratch).
     *
     * Emits {ArtifactRegistered} twice and {RoundFinalized}.
     *
     * Requirements:
     *
     * - the caller must hold an unrevoked grant of the federation's Paillier private key.
     * - the round must be aggregating and its aggregate posted.
     * - `parentVersion` must be 0 or an existing model version of the federation.
     * - `dp` is either "no DP" (all zero, empty accountant) or has positive epsilon, sigma and C and delta < 1.
     */
    function finalizeRound(
        uint64 federationId,
        uint64 round,
        uint64 parentVersion,
        ArtifactInput calldata globalModel,
        ArtifactInput calldata metrics,
        DpParameters calldata dp
    ) external returns (uint64 version) {
        _checkKeyHolder(federationId, _msgSender());
        Round storage r = _roundInStatus(federationId, round, RoundStatus.Aggregating);
        uint64 aggregateId = r.aggregateArtifact;
        if (aggregateId == 0) revert ModelRegistryAggregateMissing(federationId, round);
        if (parentVersion > _federations[federationId].modelVersionCount) {
            revert ModelRegistryUnknownModelVersion(federationId, parentVersion);
        }
        _checkDp(dp);
        (uint64 modelId, uint64 metricsId) =
            _registerRoundOutputs(federationId, round, parentVersion, aggregateId, globalModel, metrics);
        version = _appendModelVersion(federationId, round, parentVersion, modelId, metricsId);
        r.status = RoundStatus.Finalized;
        r.modelVersion = version;
        emit RoundFinalized(federationId, round, version, _msgSender(), parentVersion, modelId, metricsId, dp);
    }

    /**
     * @dev Aborts a live round, e.g. when its deadline passed with too few updates. Final.
     *
     * Emits {RoundAborted}.
     *
     * Requirements:
     *
     * - the caller must be an admin of the federation.
     * - the round must be open or aggregating.
     */
    function abortRound(uint64 federationId, uint64 round, string calldata reason) external {
        address sender = _msgSender();
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        Round storage r = _rounds[federationId][round];
        RoundStatus status = r.status;
        if (status == RoundStatus.None) revert ModelRegistryUnknownRound(federationId, round);
        if (status != RoundStatus.Open && status != RoundStatus.Aggregating) {
            revert ModelRegistryWrongRoundStatus(federationId, round, status, RoundStatus.Open);
        }
        r.status = RoundStatus.Aborted;
        emit RoundAborted(federationId, round, sender, reason);
    }

    /// @dev The stored record of `round` of `federationId`.
    function getRound(uint64 federationId, uint64 round) external view returns (Round memory) {
        Round memory r = _rounds[federationId][round];
        if (r.status == RoundStatus.None) revert ModelRegistryUnknownRound(federationId, round);
        return r;
    }

    /// @dev The digest of the update `analyst` submitted in `round` (zero if none), see {computeArtifactDigest}.
    function updateDigest(uint64 federationId, uint64 round, address analyst) external view returns (bytes32) {
        return _updateDigests[federationId][round][analyst];
    }

    /// @dev The stored record of model `version` of `federationId`.
    function getModelVersion(uint64 federationId, uint64 version) external view returns (ModelVersion memory) {
        if (version == 0 || version > _federations[federationId].modelVersionCount) {
            revert ModelRegistryUnknownModelVersion(federationId, version);
        }
        return _modelVersions[federationId][version];
    }

    // ================================================================== internal

    /// @dev Mirrors per-federation grants as {FederationRoleGranted}; returns whether anything changed.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted) {
            uint64 federationId = _roleFederation[role];
            if (federationId != 0) {
                emit FederationRoleGranted(federationId, _baseRoleOf(federationId, role), account, _msgSender());
            }
        }
    }

    /// @dev Mirrors per-federation revocations as {FederationRoleRevoked}; returns whether anything changed.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked) {
            uint64 federationId = _roleFederation[role];
            if (federationId != 0) {
                emit FederationRoleRevoked(federationId, _baseRoleOf(federationId, role), account, _msgSender());
            }
        }
    }

    function _baseRoleOf(uint64 federationId, bytes32 role) private pure returns (bytes32) {
        if (role == federationRole(federationId, FEDERATION_ADMIN_ROLE)) return FEDERATION_ADMIN_ROLE;
        if (role == federationRole(federationId, DATA_OWNER_ROLE)) return DATA_OWNER_ROLE;
        if (role == federationRole(federationId, ANALYST_ROLE)) return ANALYST_ROLE;
        return AGGREGATOR_ROLE;
    }

    function _checkBaseRole(bytes32 role) private pure {
        if (role != FEDERATION_ADMIN_ROLE && role != DATA_OWNER_ROLE && role != ANALYST_ROLE && role != AGGREGATOR_ROLE) {
            revert ModelRegistryUnknownRole(role);
        }
    }

    function _checkFederation(uint64 federationId) private view {
        if (federationId == 0 || federationId > _federationCount) revert ModelRegistryUnknownFederation(federationId);
    }

    /// @dev Reverts unless `account` holds `role` in an existing federation.
    function _checkFederationRole(uint64 federationId, bytes32 role, address account) private view {
        if (!hasRole(federationRole(federationId, role), account)) {
            // A role can only be held in an existing federation, so the existence check is only paid on refusal.
            _checkFederation(federationId);
            revert ModelRegistryUnauthorizedAccount(federationId, account, role);
        }
    }

    /// @dev Checks the caller may manage keys of `kind`, returning the key owner the grant is filed under.
    function _checkKeyManager(uint64 federationId, KeyKind kind) private view returns (address keyOwner) {
        address sender = _msgSender();
        if (kind == KeyKind.CodecKey && _federations[federationId].codecKeyPolicy == CodecKeyPolicy.PerDataOwner) {
            _checkFederationRole(federationId, DATA_OWNER_ROLE, sender);
            return sender;
        }
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        return address(0);
    }

    function _checkKeyHolder(uint64 federationId, address account) private view {
        KeyGrant storage grant = _keyGrants[keyGrantId(federationId, KeyKind.PaillierPrivateKey, address(0), account)];
        if (grant.grantedAt == 0) {
            _checkFederation(federationId);
            revert ModelRegistryKeyNotGranted(federationId, KeyKind.PaillierPrivateKey, address(0), account);
        }
        if (grant.revokedAt != 0) {
            revert ModelRegistryKeyGrantRevoked(
                federationId, KeyKind.PaillierPrivateKey, address(0), account, grant.revokedAt
            );
        }
    }

    function _roundInStatus(uint64 federationId, uint64 round, RoundStatus expected)
        private
        view
        returns (Round storage r)
    {
        r = _rounds[federationId][round];
        RoundStatus status = r.status;
        if (status != expected) {
            if (status == RoundStatus.None) revert ModelRegistryUnknownRound(federationId, round);
            revert ModelRegistryWrongRoundStatus(federationId, round, status, expected);
        }
    }

    function _checkCidAndHash(string calldata cid, bytes32 contentSha256) private pure {
        uint256 length = bytes(cid).length;
        if (length == 0) revert ModelRegistryEmptyCid();
        if (length > MAX_CID_LENGTH) revert ModelRegistryCidTooLong(length, MAX_CID_LENGTH);
        if (contentSha256 == bytes32(0)) revert ModelRegistryZeroHash();
    }

    function _checkDp(DpParameters calldata dp) private pure {
        bool valid = bytes(dp.accountant).length == 0
            ? dp.epsilonMicros == 0 && dp.deltaAtto == 0 && dp.noiseMultiplierMicros == 0 && dp.clipNormMicros == 0
            : dp.epsilonMicros != 0 && dp.deltaAtto < 1e18 && dp.noiseMultiplierMicros != 0 && dp.clipNormMicros != 0;
        if (!valid) {
            revert ModelRegistryInvalidDpParameters(
                dp.epsilonMicros, dp.deltaAtto, dp.noiseMultiplierMicros, dp.clipNormMicros
            );
        }
    }

    /// @dev Appends model version `modelVersionCount + 1` of the federation and returns its number.
    function _appendModelVersion(
        uint64 federationId,
        uint64 round,
        uint64 parentVersion,
        uint64 modelId,
        uint64 metricsId
    ) private returns (uint64 version) {
        Federation storage federation = _federations[federationId];
        version = federation.modelVersionCount + 1;
        federation.modelVersionCount = version;
        _modelVersions[federationId][version] = ModelVersion({
            round: round,
            parentVersion: parentVersion,
            globalModelArtifact: modelId,
            metricsArtifact: metricsId
        });
    }

    /// @dev Registers a finalized round's global model (parents: aggregate, parent model) and metrics (parent: model).
    function _registerRoundOutputs(
        uint64 federationId,
        uint64 round,
        uint64 parentVersion,
        uint64 aggregateId,
        ArtifactInput calldata globalModel,
        ArtifactInput calldata metrics
    ) private returns (uint64 modelId, uint64 metricsId) {
        uint64[] memory parents = new uint64[](parentVersion == 0 ? 1 : 2);
        parents[0] = aggregateId;
        if (parentVersion != 0) parents[1] = _modelVersions[federationId][parentVersion].globalModelArtifact;
        modelId = _registerArtifact(federationId, round, ArtifactKind.GlobalModel, globalModel, parents);
        parents = new uint64[](1);
        parents[0] = modelId;
        metricsId = _registerArtifact(federationId, round, ArtifactKind.Metrics, metrics, parents);
    }

    /// @dev Appends an artifact and files its digest by id.
    function _registerArtifact(
        uint64 federationId,
        uint64 round,
        ArtifactKind kind,
        ArtifactInput calldata artifact,
        uint64[] memory parents
    ) private returns (uint64 id) {
        bytes32 digest;
        (id, digest) = _appendArtifact(federationId, round, kind, artifact, parents);
        _artifactDigests[id] = digest;
    }

    /// @dev Validates an artifact, assigns the next id and emits its fields; the caller files the digest.
    function _appendArtifact(
        uint64 federationId,
        uint64 round,
        ArtifactKind kind,
        ArtifactInput calldata artifact,
        uint64[] memory parents
    ) private returns (uint64 id, bytes32 digest) {
        _checkCidAndHash(artifact.cid, artifact.sha256);
        uint64 count = _artifactCount;
        for (uint256 i = 0; i < parents.length; ++i) {
            uint64 parent = parents[i];
            if (parent == 0 || parent > count) revert ModelRegistryUnknownArtifact(parent);
        }
        id = count + 1;
        _artifactCount = id;
        address sender = _msgSender();
        digest = computeArtifactDigest(
            kind, federationId, round, sender, artifact.cid, artifact.sha256, artifact.size, parents
        );
        emit ArtifactRegistered(
            id, federationId, round, kind, sender, artifact.cid, artifact.sha256, artifact.size, parents
        );
    }
}
