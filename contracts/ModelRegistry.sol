// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ArtifactDigest} from "./ArtifactDigest.sol";
import {IModelRegistry} from "./IModelRegistry.sol";
import {ThresholdCustody} from "./ThresholdCustody.sol";

/**
 * @title ModelRegistry
 * @dev Blockchain-anchored registry for private federated learning: federations, per-federation roles,
 * append-only artifacts, wrapped-key grants, Paillier key epochs, training rounds and model versions with lineage.
 *
 * Storage keeps only roots; bulk data lives in events and on IPFS. An artifact is stored as one digest
 * (see {ArtifactDigest-compute}) over everything its {ArtifactRegistered} event carries, so any reader can
 * check an event against the chain state with one call. Model updates, the hot path of every round, are
 * filed twice and nowhere else: their digest under (federation, round, analyst) (see {updateDigest}), which
 * enforces one update per analyst per round, and their record (id, round, weight) under (federation, content
 * hash) (see {getUpdate}), which refuses a copied or replayed update and lets {postAggregate} check that every
 * update it names belongs to the round.
 *
 * Round integrity. The aggregator is untrusted: it cannot choose what the key holder decrypts. Its aggregate
 * must account for every update of the round, each exactly once, either included or excluded with a reason
 * ({UpdateExcluded}); at least `minParticipants` must be included. The key holder re-checks the inclusions and
 * exclusions off chain and either finalizes or disputes ({disputeAggregate}); a disputed round can only be
 * aborted.
 *
 * Roles are OpenZeppelin {AccessControl} roles *scoped per federation*: the role id that is granted is
 * `federationRole(federationId, baseRole)`. Per-federation scoping is deliberate: the admin of federation 1
 * must have no power over federation 2, and an analyst admitted to one training effort must not be able to
 * submit to another. The admin role of every per-federation role is that federation's
 * {FEDERATION_ADMIN_ROLE}, so the inherited {grantRole}/{revokeRole}/{renounceRole} keep working and are
 * mirrored by {FederationRoleGranted}/{FederationRoleRevoked} events indexed by federation. A role that is
 * neither registry-wide nor of an existing federation cannot be granted at all.
 * The only registry-wide roles are `DEFAULT_ADMIN_ROLE` (the deployer) and {FEDERATION_CREATOR_ROLE}.
 *
 * The key holder is deliberately NOT an AccessControl role: an account acts as key holder of a key epoch
 * exactly when it holds an unrevoked grant of that epoch's Paillier private key. Revoking a key holder retires
 * its epoch for good, so the admin must start a new epoch (a new key pair) before the next round.
 *
 * Threshold custody ({setEpochCustody}): an epoch's key is shared among custodians, each a key holder whose
 * grant is its sealed share. A round of such an epoch finalizes only once `threshold` distinct custodians have
 * registered a partial decryption of its aggregate ({submitPartialDecryption}); every reader checks the
 * proofs and the combination off chain. The books are kept by {custody}, deployed by the constructor.
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
    /// @dev Longest free-text dispute detail accepted, in bytes.
    uint256 public constant MAX_REASON_LENGTH = 512;

    /// @dev The threshold-custody books (custodians per key epoch, partial decryptions per round).
    ThresholdCustody public immutable custody;

    /**
     * @dev Where a non-update artifact belongs, packed in one slot (updates are filed by content hash instead):
     * its submitter, its federation, and for a dataset its sample count (0 for every other kind).
     */
    struct ArtifactScope {
        address submitter;
        uint64 federationId;
        uint32 sampleCount;
    }

    uint64 private _federationCount;
    uint64 private _artifactCount;

    mapping(uint64 federationId => Federation) private _federations;
    mapping(uint64 federationId => mapping(uint32 epoch => KeyEpoch)) private _keyEpochs;
    mapping(uint64 artifactId => bytes32 digest) private _artifactDigests;
    mapping(uint64 artifactId => ArtifactScope) private _artifactScopes;
    mapping(bytes32 roleId => uint64 federationId) private _roleFederation;
    mapping(bytes32 grantId => KeyGrant) private _keyGrants;
    mapping(address account => EncryptionKey) private _encryptionKeys;
    mapping(uint64 federationId => mapping(uint64 round => Round)) private _rounds;
    mapping(uint64 federationId => mapping(uint64 round => mapping(address analyst => bytes32 digest)))
        private _updateDigests;
    mapping(uint64 federationId => mapping(bytes32 sha256 => UpdateRecord)) private _updates;
    mapping(uint64 federationId => mapping(uint64 version => ModelVersion)) private _modelVersions;

    /// @dev Grants `DEFAULT_ADMIN_ROLE` and {FEDERATION_CREATOR_ROLE} to `operator`.
    constructor(address operator) {
        if (operator == address(0)) revert ModelRegistryZeroAddress();
        custody = new ThresholdCustody();
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
            modelVersionCount: 0,
            keyEpoch: 0
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
     * - `kind` is `WrappedKey` (caller must be a data owner or the admin), `Metrics` or `FederationConfig`
     *   (the admin); every other kind has its own function.
     * - `artifact` has a non-empty CID of at most {MAX_CID_LENGTH} bytes and a non-zero sha256.
     * - every parent is an existing artifact of the same federation, and not a model update.
     */
    function registerArtifact(
        uint64 federationId,
        ArtifactKind kind,
        ArtifactInput calldata artifact,
        uint64[] calldata parents
    ) external returns (uint64) {
        address sender = _msgSender();
        if (kind == ArtifactKind.WrappedKey) {
            if (!hasFederationRole(federationId, DATA_OWNER_ROLE, sender)) {
                _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
            }
        } else if (kind == ArtifactKind.Metrics || kind == ArtifactKind.FederationConfig) {
            _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        } else {
            revert ModelRegistryWrongArtifactKind(kind);
        }
        _checkParents(federationId, parents);
        return _registerArtifact(federationId, 0, kind, artifact, parents, 0);
    }

    /**
     * @dev Registers a dataset holding `sampleCount` training samples and returns its id. The sample count
     * bounds the FedAvg weight of every update trained on it (see {submitUpdate}).
     *
     * Emits {ArtifactRegistered} and {DatasetRegistered}.
     *
     * Requirements:
     *
     * - the caller must be a data owner of the federation.
     * - `sampleCount` must be at least 1.
     * - `artifact` and `parents` as in {registerArtifact}.
     */
    function registerDataset(
        uint64 federationId,
        ArtifactInput calldata artifact,
        uint32 sampleCount,
        uint64[] calldata parents
    ) external returns (uint64 id) {
        address sender = _msgSender();
        _checkFederationRole(federationId, DATA_OWNER_ROLE, sender);
        if (sampleCount == 0) revert ModelRegistryEmptyDataset();
        _checkParents(federationId, parents);
        id = _registerArtifact(federationId, 0, ArtifactKind.Dataset, artifact, parents, sampleCount);
        emit DatasetRegistered(federationId, id, sender, sampleCount);
    }

    /// @dev Number of artifacts registered so far; ids run from 1 to this value and are never reused.
    function artifactCount() external view returns (uint64) {
        return _artifactCount;
    }

    /**
     * @dev The stored digest of artifact `artifactId` (see {ArtifactDigest-compute}). Zero for a model update,
     * whose digest is filed under its round and analyst (see {updateDigest}).
     */
    function artifactDigest(uint64 artifactId) external view returns (bytes32) {
        if (artifactId == 0 || artifactId > _artifactCount) revert ModelRegistryUnknownArtifact(artifactId);
        return _artifactDigests[artifactId];
    }

    /// @dev The stored record of dataset `artifactId` (all zero if it is not a dataset).
    function getDataset(uint64 artifactId) external view returns (Dataset memory dataset) {
        ArtifactScope memory scope = _artifactScopes[artifactId];
        if (scope.sampleCount != 0) dataset = Dataset({owner: scope.submitter, sampleCount: scope.sampleCount});
    }

    // ================================================================== Paillier key epochs

    /**
     * @dev Starts the federation's next Paillier key epoch with public key `publicKey`, and returns its number
     * (1 for the first key). Every update of a round opened under the epoch must carry `encodingDigest` (the
     * digest of the packed encoding parameters) in its header. Rotating retires the previous epoch: its key
     * holders must be granted the new epoch's key to finalize again.
     *
     * Emits {ArtifactRegistered} and {KeyEpochStarted}.
     *
     * Requirements:
     *
     * - the caller must be an admin of the federation.
     * - no round may be open or aggregating (a live round keeps the key it opened with).
     * - `publicKey` is a valid artifact (see {registerArtifact}); `encodingDigest` is not zero.
     */
    function startKeyEpoch(uint64 federationId, ArtifactInput calldata publicKey, bytes32 encodingDigest)
        external
        returns (uint32 epoch)
    {
        address sender = _msgSender();
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        if (encodingDigest == bytes32(0)) revert ModelRegistryZeroHash();
        Federation storage federation = _federations[federationId];
        _checkNoLiveRound(federationId, federation.roundCount);
        uint64 artifactId =
            _registerArtifact(federationId, 0, ArtifactKind.PaillierPublicKey, publicKey, new uint64[](0), 0);
        epoch = federation.keyEpoch + 1;
        federation.keyEpoch = epoch;
        federation.paillierPublicKeyArtifact = artifactId;
        _keyEpochs[federationId][epoch] = KeyEpoch({
            publicKeyArtifact: artifactId,
            startedAt: uint48(block.timestamp),
            revokedAt: 0,
            encodingDigest: encodingDigest
        });
        emit KeyEpochStarted(federationId, epoch, artifactId, encodingDigest, sender);
    }

    /// @dev The stored record of key `epoch` of `federationId` (all zero if it never started).
    function getKeyEpoch(uint64 federationId, uint32 epoch) external view returns (KeyEpoch memory) {
        return _keyEpochs[federationId][epoch];
    }

    /**
     * @dev Puts the current key epoch under threshold custody: its key is shared among `custodians` (custodian
     * `i` is `custodians[i - 1]`, the index of its share) and any `threshold` of them decrypt a round. Registers
     * `thresholdKey` (the shared key's public material) as a child of the epoch's public key and returns its id.
     * Each custodian still needs its share granted as the epoch's Paillier private key ({grantKey}).
     *
     * Emits {ArtifactRegistered} and {EpochCustodySet}.
     *
     * Requirements:
     *
     * - the caller must be an admin of the federation.
     * - a key epoch must have started, not be revoked and not be under custody yet.
     * - no round may be open or aggregating.
     * - 1 <= `threshold` <= number of custodians <= 64; custodians distinct and not zero.
     * - `thresholdKey` is a valid artifact (see {registerArtifact}).
     */
    function setEpochCustody(
        uint64 federationId,
        uint8 threshold,
        address[] calldata custodians,
        ArtifactInput calldata thresholdKey
    ) external returns (uint64 artifactId) {
        address sender = _msgSender();
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        Federation storage federation = _federations[federationId];
        uint32 epoch = federation.keyEpoch;
        if (epoch == 0) revert ModelRegistryPublicKeyNotSet(federationId);
        _checkEpochLive(federationId, epoch);
        _checkNoLiveRound(federationId, federation.roundCount);
        uint64[] memory parents = new uint64[](1);
        parents[0] = federation.paillierPublicKeyArtifact;
        artifactId = _registerArtifact(federationId, 0, ArtifactKind.ThresholdKey, thresholdKey, parents, 0);
        custody.setCustody(federationId, epoch, threshold, custodians, artifactId);
        // The call is to this registry's own books (deployed by its constructor, immutable): it cannot re-enter.
        // slither-disable-next-line reentrancy-events
        emit EpochCustodySet(federationId, epoch, artifactId, threshold, custodians, sender);
    }

    // ================================================================== key grants

    /**
     * @dev Registers (or replaces) the caller's HPKE public key, which grants to the caller are sealed for.
     * Registry-wide: an account has one encryption key across federations. Replacing it does not re-seal past
     * grants; a grantor seals for the key registered when it grants.
     *
     * Emits {EncryptionKeyRegistered}.
     *
     * Requirements:
     *
     * - `publicKey` has the length of `suite`'s public keys (32 bytes for X25519, 1,216 for ML-KEM-768+X25519).
     */
    function registerEncryptionKey(HpkeSuite suite, bytes calldata publicKey) external {
        uint256 expected = suite == HpkeSuite.DhkemX25519 ? 32 : 1216;
        if (publicKey.length != expected) {
            revert ModelRegistryInvalidEncryptionKey(suite, publicKey.length, expected);
        }
        address sender = _msgSender();
        bytes32 digest = sha256(publicKey);
        _encryptionKeys[sender] =
            EncryptionKey({suite: suite, registeredAt: uint48(block.timestamp), publicKeySha256: digest});
        emit EncryptionKeyRegistered(sender, suite, publicKey, digest);
    }

    /// @dev The encryption key `account` registered (all zero if none).
    function getEncryptionKey(address account) external view returns (EncryptionKey memory) {
        return _encryptionKeys[account];
    }

    /**
     * @dev Grants `account` the key of `kind`, handed over as the wrapped blob `wrappedKeyCid` with hash
     * `wrappedKeySha256`. Idempotent: granting the same blob (and, for an epoch key, the same epoch) again
     * returns false and emits nothing; a new blob (re-wrapped key, or the key of a new epoch) replaces the old
     * one and is recorded.
     *
     * The key owner is the caller for a codec key under {CodecKeyPolicy.PerDataOwner}, otherwise the
     * federation itself (`address(0)`). A Paillier private key or model key grant hands over the current key
     * epoch's key and records the epoch.
     *
     * Emits {KeyGranted} on change.
     *
     * Requirements:
     *
     * - Paillier private key, or codec key under `FederationWide`: the caller must be the federation admin.
     * - codec key under `PerDataOwner`: the caller must be a data owner of the federation.
     * - model key: the caller must be a key holder of the current key epoch.
     * - Paillier private key or model key: a key epoch must have started and not be revoked.
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
        uint32 epoch = 0; // codec keys have no epoch
        if (kind != KeyKind.CodecKey) {
            epoch = _federations[federationId].keyEpoch;
            if (epoch == 0) revert ModelRegistryPublicKeyNotSet(federationId);
            _checkEpochLive(federationId, epoch);
        }
        KeyGrant storage grant = _keyGrants[keyGrantId(federationId, kind, keyOwner, account)];
        if (grant.revokedAt != 0) {
            revert ModelRegistryKeyGrantRevoked(federationId, kind, keyOwner, account, grant.revokedAt);
        }
        // Only an epoch key's grant (epoch >= 1) reads and writes its epoch slot: a codec grant's epoch is always 0.
        if (
            grant.grantedAt != 0 && grant.wrappedKeySha256 == wrappedKeySha256
                && (epoch == 0 || grant.keyEpoch == epoch)
        ) return false;
        address sender = _msgSender();
        grant.grantor = sender;
        grant.grantedAt = uint48(block.timestamp);
        grant.wrappedKeySha256 = wrappedKeySha256;
        if (epoch != 0 && grant.keyEpoch != epoch) grant.keyEpoch = epoch;
        emit KeyGranted(federationId, account, keyOwner, kind, sender, wrappedKeyCid, wrappedKeySha256, epoch);
        return true;
    }

    /**
     * @dev Revokes, forever, the grant of `kind` owned by `keyOwner` from `account`. Idempotent: revoking an
     * already revoked grant returns false and emits nothing. Revoking a Paillier key holder also retires the key
     * epoch it held: no round opens or finalizes under it again.
     *
     * Emits {KeyRevoked} on change, and {KeyEpochRevoked} when an epoch is retired by it.
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
        if (kind == KeyKind.PaillierPrivateKey) {
            KeyEpoch storage epoch = _keyEpochs[federationId][grant.keyEpoch];
            if (epoch.revokedAt == 0) {
                epoch.revokedAt = uint48(block.timestamp);
                emit KeyEpochRevoked(federationId, grant.keyEpoch, account, sender);
            }
        }
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

    /**
     * @dev Whether `account` can act as key holder of `federationId` now: it holds an unrevoked grant of the
     * current key epoch's Paillier key, and that epoch is not revoked.
     */
    function isKeyHolder(uint64 federationId, address account) public view returns (bool) {
        KeyGrant storage grant = _keyGrants[keyGrantId(federationId, KeyKind.PaillierPrivateKey, address(0), account)];
        uint32 epoch = _federations[federationId].keyEpoch;
        return grant.grantedAt != 0 && grant.revokedAt == 0 && grant.keyEpoch == epoch
            && _keyEpochs[federationId][epoch].revokedAt == 0;
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
     * @dev Opens the next round of the federation under its current key epoch, accepting updates until
     * `deadline` (inclusive, block time).
     *
     * Emits {RoundOpened}.
     *
     * Requirements:
     *
     * - the caller must be an admin of the federation.
     * - a key epoch must have started and not be revoked.
     * - the previous round, if any, must be finalized or aborted.
     * - `deadline` must be later than the current block time.
     */
    function openRound(uint64 federationId, uint64 deadline) external returns (uint64 round) {
        address sender = _msgSender();
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        Federation storage federation = _federations[federationId];
        uint32 epoch = federation.keyEpoch;
        if (epoch == 0) revert ModelRegistryPublicKeyNotSet(federationId);
        _checkEpochLive(federationId, epoch);
        uint64 previous = federation.roundCount;
        _checkNoLiveRound(federationId, previous);
        // Deadlines are block time by design; a validator's few seconds of drift do not matter at round scale.
        // forge-lint: disable-next-line(block-timestamp)
        if (deadline <= block.timestamp) revert ModelRegistryDeadlineInPast(deadline, block.timestamp);
        round = previous + 1;
        federation.roundCount = round;
        Round storage r = _rounds[federationId][round];
        r.status = RoundStatus.Open;
        r.deadline = deadline;
        r.keyEpoch = epoch;
        emit RoundOpened(federationId, round, sender, deadline, epoch);
    }

    /**
     * @dev Registers the caller's (encrypted) model update for `round` with its FedAvg `weight`, and returns
     * its artifact id. The update's parents are the datasets it was trained on (and e.g. the model version it
     * started from); `weight` may not exceed the samples of the parent datasets whose codec key the caller holds.
     *
     * Emits {UpdateSubmitted} (a model update's only event).
     *
     * Requirements:
     *
     * - the caller must be an analyst of the federation.
     * - the round must be open and its deadline not passed.
     * - the caller must not have submitted an update in this round yet.
     * - no update with the same sha256 may exist in the federation (no copies, no replays).
     * - `update` is a valid artifact; `parents` are strictly ascending artifacts of the federation, none an update.
     * - the caller holds a live codec key grant for every dataset parent.
     * - `weight` is at least 1 and at most the sum of the dataset parents' sample counts.
     */
    function submitUpdate(
        uint64 federationId,
        uint64 round,
        ArtifactInput calldata update,
        uint64 weight,
        uint64[] calldata parents
    ) external returns (uint64 id) {
        address sender = _msgSender();
        _checkFederationRole(federationId, ANALYST_ROLE, sender);
        Round storage r = _roundInStatus(federationId, round, RoundStatus.Open);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > r.deadline) {
            revert ModelRegistryDeadlinePassed(federationId, round, r.deadline, block.timestamp);
        }
        bytes32 existing = _updateDigests[federationId][round][sender];
        if (existing != 0) revert ModelRegistryDuplicateUpdate(federationId, round, sender, existing);
        uint64 copy = _updates[federationId][update.sha256].artifactId;
        if (copy != 0) revert ModelRegistryDuplicateUpdateContent(federationId, update.sha256, copy);
        uint64 granted = _grantedSamples(federationId, sender, parents);
        if (weight == 0 || weight > granted) revert ModelRegistryInvalidWeight(federationId, sender, weight, granted);
        id = _fileUpdate(federationId, round, r, sender, update, weight, parents);
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
     * @dev Registers the encrypted aggregate of a closed round. `included` are the content hashes of the
     * updates summed, strictly ascending (the order the aggregate's header lists them in); `excluded` names
     * every other update of the round, strictly ascending, each with a reason. The aggregate's parents are the
     * included updates' artifact ids in that order; the round records the sum of their weights.
     *
     * Emits {ArtifactRegistered}, {AggregatePosted}, then {UpdateExcluded} for each exclusion.
     *
     * Requirements:
     *
     * - the caller must be an aggregator of the federation.
     * - the round must be aggregating with no aggregate posted yet.
     * - every hash must be an update of this federation and round, named once across both lists; together the
     *   lists name every update of the round.
     * - at least the federation's minimum number of updates must be included.
     * - every exclusion has a reason.
     */
    function postAggregate(
        uint64 federationId,
        uint64 round,
        ArtifactInput calldata aggregate,
        bytes32[] calldata included,
        Exclusion[] calldata excluded
    ) external returns (uint64 id) {
        address sender = _msgSender();
        _checkFederationRole(federationId, AGGREGATOR_ROLE, sender);
        Round storage r = _roundInStatus(federationId, round, RoundStatus.Aggregating);
        if (r.aggregateArtifact != 0) {
            revert ModelRegistryAggregateAlreadyPosted(federationId, round, r.aggregateArtifact);
        }
        uint256 named = included.length + excluded.length;
        if (named != r.updateCount) {
            revert ModelRegistryAggregateUpdateMismatch(federationId, round, named, r.updateCount);
        }
        uint32 minParticipants = _federations[federationId].minParticipants;
        if (included.length < minParticipants) {
            revert ModelRegistryTooFewUpdates(federationId, round, uint32(included.length), minParticipants);
        }
        uint64[] memory excludedIds;
        (id, excludedIds) = _registerAggregate(federationId, round, r, aggregate, included, excluded);
        emit AggregatePosted(
            federationId, round, sender, id, aggregate.sha256, uint32(included.length), uint32(excluded.length),
            r.weightsTotal
        );
        for (uint256 i = 0; i < excluded.length; ++i) {
            emit UpdateExcluded(federationId, round, excludedIds[i], excluded[i].updateSha256, excluded[i].reason);
        }
    }

    /**
     * @dev Records that the caller, a key holder of the round's key epoch, refuses to decrypt the posted
     * aggregate, naming `subjectSha256` (an update of the round for the update reasons, the aggregate itself
     * otherwise) and why. The round can then only be aborted by the admin.
     *
     * Emits {AggregateDisputed}.
     *
     * Requirements:
     *
     * - the caller must hold an unrevoked grant of the round's key epoch, and the epoch must not be revoked.
     * - the round must be aggregating with its aggregate posted and not disputed yet.
     * - `subjectSha256` must name an update of the round (`ValidUpdateExcluded`, `InvalidUpdateIncluded`) or
     *   the round's aggregate (`AggregateMismatch`, `DecryptionRefused`).
     * - `detail` is at most {MAX_REASON_LENGTH} bytes.
     */
    function disputeAggregate(
        uint64 federationId,
        uint64 round,
        bytes32 subjectSha256,
        DisputeReason reason,
        string calldata detail
    ) external {
        address sender = _msgSender();
        Round storage r = _roundInStatus(federationId, round, RoundStatus.Aggregating);
        _checkKeyHolder(federationId, r.keyEpoch, sender);
        if (r.aggregateArtifact == 0) revert ModelRegistryAggregateMissing(federationId, round);
        if (r.disputed) revert ModelRegistryAggregateDisputed(federationId, round);
        if (bytes(detail).length > MAX_REASON_LENGTH) {
            revert ModelRegistryReasonTooLong(bytes(detail).length, MAX_REASON_LENGTH);
        }
        uint64 subject;
        if (reason == DisputeReason.ValidUpdateExcluded || reason == DisputeReason.InvalidUpdateIncluded) {
            subject = _updateOfRound(federationId, round, subjectSha256).artifactId;
        } else {
            if (subjectSha256 != r.aggregateSha256) {
                revert ModelRegistryDisputeSubjectMismatch(federationId, round, subjectSha256, r.aggregateSha256);
            }
            subject = r.aggregateArtifact;
        }
        r.disputed = true;
        emit AggregateDisputed(federationId, round, sender, subject, reason, detail);
    }

    /**
     * @dev Registers the caller's partial decryption (with its proof) of `round`'s aggregate, as a child of the
     * aggregate, and returns its artifact id. Once `threshold` custodians have, the round can be finalized.
     *
     * Emits {ArtifactRegistered} and {PartialDecryptionSubmitted}.
     *
     * Requirements:
     *
     * - the caller must hold an unrevoked grant of the round's key epoch, the epoch must not be revoked, and the
     *   caller must be one of the epoch's custodians.
     * - the round must be aggregating, its aggregate posted and not disputed.
     * - the caller must not have submitted a partial decryption of the round yet.
     * - `partialDecryption` is a valid artifact (see {registerArtifact}).
     */
    function submitPartialDecryption(uint64 federationId, uint64 round, ArtifactInput calldata partialDecryption)
        external
        returns (uint64 id)
    {
        address sender = _msgSender();
        Round storage r = _roundInStatus(federationId, round, RoundStatus.Aggregating);
        uint32 epoch = r.keyEpoch;
        _checkKeyHolder(federationId, epoch, sender);
        uint64 aggregateId = r.aggregateArtifact;
        if (aggregateId == 0) revert ModelRegistryAggregateMissing(federationId, round);
        if (r.disputed) revert ModelRegistryAggregateDisputed(federationId, round);
        uint64[] memory parents = new uint64[](1);
        parents[0] = aggregateId;
        id = _registerArtifact(federationId, round, ArtifactKind.PartialDecryption, partialDecryption, parents, 0);
        uint8 index = custody.recordPartial(federationId, epoch, round, sender);
        // slither-disable-next-line reentrancy-events
        emit PartialDecryptionSubmitted(federationId, round, sender, index, id);
    }

    /**
     * @dev Finalizes an aggregated round: records the new global model and metrics artifacts, the round's
     * DP parameters and a new model version whose parent is `parentVersion` (0 = trained from scratch).
     *
     * Emits {ArtifactRegistered} twice and {RoundFinalized}.
     *
     * Requirements:
     *
     * - the caller must hold an unrevoked grant of the round's key epoch, and the epoch must not be revoked;
     *   under threshold custody the federation admin may finalize too (whoever holds `threshold` partial
     *   decryptions can combine them).
     * - the round must be aggregating, its aggregate posted and not disputed.
     * - under threshold custody, at least `threshold` custodians submitted a partial decryption of it.
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
        Round storage r = _roundInStatus(federationId, round, RoundStatus.Aggregating);
        uint32 epoch = r.keyEpoch;
        uint64 aggregateId = r.aggregateArtifact;
        if (aggregateId == 0) revert ModelRegistryAggregateMissing(federationId, round);
        if (r.disputed) revert ModelRegistryAggregateDisputed(federationId, round);
        if (custody.checkFinalizable(federationId, epoch, round) == 0
            || !hasFederationRole(federationId, FEDERATION_ADMIN_ROLE, _msgSender())) {
            _checkKeyHolder(federationId, epoch, _msgSender());
        } else {
            _checkEpochLive(federationId, epoch);
        }
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
     * @dev Aborts a live round, e.g. when its deadline passed with too few updates or its aggregate was
     * disputed. Final.
     *
     * Emits {RoundAborted}.
     *
     * Requirements:
     *
     * - the caller must be an admin of the federation.
     * - the round must be open or aggregating.
     * - `reason` is at most {MAX_REASON_LENGTH} bytes.
     */
    function abortRound(uint64 federationId, uint64 round, string calldata reason) external {
        address sender = _msgSender();
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        if (bytes(reason).length > MAX_REASON_LENGTH) {
            revert ModelRegistryReasonTooLong(bytes(reason).length, MAX_REASON_LENGTH);
        }
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

    /// @dev The digest of the update `analyst` submitted in `round` (zero if none), see {ArtifactDigest-compute}.
    function updateDigest(uint64 federationId, uint64 round, address analyst) external view returns (bytes32) {
        return _updateDigests[federationId][round][analyst];
    }

    /// @dev The update registered in `federationId` with content hash `contentSha256` (all zero if none).
    function getUpdate(uint64 federationId, bytes32 contentSha256) external view returns (UpdateRecord memory) {
        return _updates[federationId][contentSha256];
    }

    /// @dev The stored record of model `version` of `federationId`.
    function getModelVersion(uint64 federationId, uint64 version) external view returns (ModelVersion memory) {
        if (version == 0 || version > _federations[federationId].modelVersionCount) {
            revert ModelRegistryUnknownModelVersion(federationId, version);
        }
        return _modelVersions[federationId][version];
    }

    // ================================================================== internal

    /**
     * @dev Refuses roles that are neither registry-wide nor of an existing federation (so no role of a future
     * federation can be pre-granted through {AccessControl-grantRole}), and mirrors per-federation grants as
     * {FederationRoleGranted}; returns whether anything changed.
     */
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        uint64 federationId = _roleFederation[role];
        if (federationId == 0 && role != DEFAULT_ADMIN_ROLE && role != FEDERATION_CREATOR_ROLE) {
            revert ModelRegistryUnknownRole(role);
        }
        granted = super._grantRole(role, account);
        if (granted && federationId != 0) {
            emit FederationRoleGranted(federationId, _baseRoleOf(federationId, role), account, _msgSender());
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
        if (kind == KeyKind.ModelKey) {
            // The key holder of the current epoch generates the epoch's model key and grants it to each member.
            _checkKeyHolder(federationId, _federations[federationId].keyEpoch, sender);
            return address(0);
        }
        _checkFederationRole(federationId, FEDERATION_ADMIN_ROLE, sender);
        return address(0);
    }

    /// @dev Reverts unless `account` holds a live grant of key `epoch` and the epoch is not revoked.
    function _checkKeyHolder(uint64 federationId, uint32 epoch, address account) private view {
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
        if (grant.keyEpoch != epoch) revert ModelRegistryWrongKeyEpoch(federationId, account, grant.keyEpoch, epoch);
        _checkEpochLive(federationId, epoch);
    }

    function _checkEpochLive(uint64 federationId, uint32 epoch) private view {
        if (_keyEpochs[federationId][epoch].revokedAt != 0) revert ModelRegistryKeyEpochRevoked(federationId, epoch);
    }

    function _checkNoLiveRound(uint64 federationId, uint64 latest) private view {
        if (latest == 0) return;
        RoundStatus status = _rounds[federationId][latest].status;
        if (status == RoundStatus.Open || status == RoundStatus.Aggregating) {
            revert ModelRegistryRoundInProgress(federationId, latest, status);
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

    /// @dev The record of update `contentSha256`, which must belong to `round` of the federation.
    function _updateOfRound(uint64 federationId, uint64 round, bytes32 contentSha256)
        private
        view
        returns (UpdateRecord memory record)
    {
        record = _updates[federationId][contentSha256];
        if (record.artifactId == 0 || record.round != round) {
            revert ModelRegistryUpdateNotInRound(federationId, round, contentSha256, record.artifactId, record.round);
        }
    }

    /**
     * @dev Walks `included` and `excluded` in one merged ascending pass, so each hash is named once across both
     * lists; returns the included ids (the aggregate's parents), the excluded ids and the included weight.
     */
    function _partitionUpdates(
        uint64 federationId,
        uint64 round,
        bytes32[] calldata included,
        Exclusion[] calldata excluded
    ) private view returns (uint64[] memory includedIds, uint64[] memory excludedIds, uint64 weightsTotal) {
        includedIds = new uint64[](included.length);
        excludedIds = new uint64[](excluded.length);
        uint256 i = 0;
        uint256 j = 0;
        bytes32 previous = bytes32(0);
        while (i < included.length || j < excluded.length) {
            bool takeIncluded = j == excluded.length || (i < included.length && included[i] < excluded[j].updateSha256);
            bytes32 sha = takeIncluded ? included[i] : excluded[j].updateSha256;
            // Zero is never a registered hash, so the first comparison also refuses it.
            if (sha <= previous) revert ModelRegistryUnsortedUpdates(federationId, round, sha);
            previous = sha;
            UpdateRecord memory record = _updateOfRound(federationId, round, sha);
            if (takeIncluded) {
                includedIds[i++] = record.artifactId;
                weightsTotal += record.weight;
            } else {
                if (excluded[j].reason == ExclusionReason.None) revert ModelRegistryMissingExclusionReason(sha);
                excludedIds[j++] = record.artifactId;
            }
        }
    }

    /// @dev Registers a round's aggregate over the checked partition of its updates and records it in the round.
    function _registerAggregate(
        uint64 federationId,
        uint64 round,
        Round storage r,
        ArtifactInput calldata aggregate,
        bytes32[] calldata included,
        Exclusion[] calldata excluded
    ) private returns (uint64 id, uint64[] memory excludedIds) {
        uint64[] memory parents;
        uint64 weightsTotal;
        (parents, excludedIds, weightsTotal) = _partitionUpdates(federationId, round, included, excluded);
        id = _registerArtifact(federationId, round, ArtifactKind.EncryptedAggregate, aggregate, parents, 0);
        r.aggregateArtifact = id;
        r.aggregateSha256 = aggregate.sha256;
        r.includedCount = uint32(included.length);
        r.weightsTotal = weightsTotal;
    }

    /// @dev Reverts unless every parent is an existing non-update artifact of `federationId`.
    function _checkParents(uint64 federationId, uint64[] calldata parents) private view {
        for (uint256 i = 0; i < parents.length; ++i) {
            _checkParent(federationId, parents[i]);
        }
    }

    function _checkParent(uint64 federationId, uint64 parent) private view returns (ArtifactScope memory scope) {
        scope = _artifactScopes[parent];
        if (scope.federationId != federationId) {
            // Only paid on refusal: a scope is only filed for an existing artifact.
            if (parent == 0 || parent > _artifactCount) revert ModelRegistryUnknownArtifact(parent);
            // Only model updates are registered without a scope (see {submitUpdate}).
            if (scope.federationId == 0) revert ModelRegistryUpdateAsParent(parent);
            revert ModelRegistryForeignParent(federationId, parent, scope.federationId);
        }
    }

    /**
     * @dev Checks an update's parents (strictly ascending, of the federation, no update) and returns the samples
     * of its dataset parents; reverts on a dataset whose codec key `analyst` does not hold.
     */
    function _grantedSamples(uint64 federationId, address analyst, uint64[] calldata parents)
        private
        view
        returns (uint64 samples)
    {
        uint64 previous = 0;
        for (uint256 i = 0; i < parents.length; ++i) {
            uint64 parent = parents[i];
            if (parent <= previous) revert ModelRegistryUnsortedParents(parent);
            previous = parent;
            ArtifactScope memory scope = _checkParent(federationId, parent);
            if (scope.sampleCount == 0) continue; // not a dataset
            // The grant is filed under the dataset's owner (PerDataOwner) or the federation (FederationWide); only
            // one of the two can exist for a federation, so trying both spares reading the policy.
            if (!_holdsCodecKey(federationId, scope.submitter, analyst) && !_holdsCodecKey(federationId, address(0), analyst)) {
                revert ModelRegistryDatasetNotGranted(federationId, parent, analyst);
            }
            samples += scope.sampleCount;
        }
    }

    function _holdsCodecKey(uint64 federationId, address keyOwner, address analyst) private view returns (bool) {
        KeyGrant storage grant = _keyGrants[keyGrantId(federationId, KeyKind.CodecKey, keyOwner, analyst)];
        return grant.grantedAt != 0 && grant.revokedAt == 0;
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
        modelId = _registerArtifact(federationId, round, ArtifactKind.GlobalModel, globalModel, parents, 0);
        parents = new uint64[](1);
        parents[0] = modelId;
        metricsId = _registerArtifact(federationId, round, ArtifactKind.Metrics, metrics, parents, 0);
    }

    /// @dev Appends a model update, files its digest under (round, analyst) and its record under its hash, counts
    /// it in the round, then emits {UpdateSubmitted}.
    function _fileUpdate(
        uint64 federationId,
        uint64 round,
        Round storage r,
        address analyst,
        ArtifactInput calldata update,
        uint64 weight,
        uint64[] calldata parents
    ) private returns (uint64 id) {
        _checkCidAndHash(update.cid, update.sha256);
        id = _artifactCount + 1;
        _artifactCount = id;
        // {ArtifactDigest-compute}, hashed straight from calldata (the hot path of every round; ~300 gas less than
        // copying cid and parents to memory for the library function). The tests check the two agree.
        _updateDigests[federationId][round][analyst] = keccak256(
            abi.encode(
                ArtifactKind.ModelUpdate,
                federationId,
                round,
                analyst,
                keccak256(bytes(update.cid)),
                update.sha256,
                update.size,
                keccak256(abi.encodePacked(parents))
            )
        );
        _updates[federationId][update.sha256] = UpdateRecord({artifactId: id, round: round, weight: weight});
        r.updateCount += 1;
        emit UpdateSubmitted(id, federationId, round, analyst, update.cid, update.sha256, update.size, weight, parents);
    }

    /// @dev Appends a non-update artifact, files its digest and scope by id, then emits its event.
    function _registerArtifact(
        uint64 federationId,
        uint64 round,
        ArtifactKind kind,
        ArtifactInput calldata artifact,
        uint64[] memory parents,
        uint32 sampleCount
    ) private returns (uint64 id) {
        bytes32 digest;
        (id, digest) = _nextArtifact(federationId, round, kind, artifact, parents);
        _artifactDigests[id] = digest;
        _artifactScopes[id] =
            ArtifactScope({submitter: _msgSender(), federationId: federationId, sampleCount: sampleCount});
        emit ArtifactRegistered(
            id, federationId, round, kind, _msgSender(), artifact.cid, artifact.sha256, artifact.size, parents
        );
    }

    /// @dev Validates an artifact, assigns the next id and computes its digest; the caller files it and emits.
    function _nextArtifact(
        uint64 federationId,
        uint64 round,
        ArtifactKind kind,
        ArtifactInput calldata artifact,
        uint64[] memory parents
    ) private returns (uint64 id, bytes32 digest) {
        _checkCidAndHash(artifact.cid, artifact.sha256);
        id = _artifactCount + 1;
        _artifactCount = id;
        digest = ArtifactDigest.compute(
            kind, federationId, round, _msgSender(), artifact.cid, artifact.sha256, artifact.size, parents
        );
    }
}
