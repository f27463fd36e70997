// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @dev Types, events and errors of the FLEP {ModelRegistry}.
 *
 * Every identifier is a `uint64` counted from 1, so that `0` always means "none":
 * federations and artifacts are numbered registry-wide, rounds and model versions per federation.
 */
interface IModelRegistry {
    /// @dev What an artifact's bytes are. Append-only: new kinds go at the end.
    enum ArtifactKind {
        Dataset,
        WrappedKey,
        ModelUpdate,
        EncryptedAggregate,
        GlobalModel,
        Metrics,
        PaillierPublicKey
    }

    /// @dev Which secret a key grant hands over (always as a blob wrapped for the grantee).
    enum KeyKind {
        PaillierPrivateKey,
        CodecKey
    }

    /**
     * @dev Who owns and grants the data-tier codec key of a federation.
     * `PerDataOwner`: every data owner has its own codec key and grants it to analysts itself.
     * `FederationWide`: one codec key for the whole federation, granted by the federation admin.
     */
    enum CodecKeyPolicy {
        PerDataOwner,
        FederationWide
    }

    /// @dev Life cycle of a training round: Open -> Aggregating -> Finalized, or Aborted from either live state.
    enum RoundStatus {
        None,
        Open,
        Aggregating,
        Finalized,
        Aborted
    }

    /// @dev The content address of an artifact's bytes as the submitter sends it.
    struct ArtifactInput {
        string cid;
        bytes32 sha256;
        uint64 size;
    }

    /**
     * @dev Differential-privacy parameters of a finalized round, fixed-point so that they hash exactly.
     * "No DP" is the all-zero record with an empty accountant.
     */
    struct DpParameters {
        uint64 epsilonMicros; // epsilon * 1e6
        uint64 deltaAtto; // delta * 1e18
        uint64 noiseMultiplierMicros; // sigma * 1e6
        uint64 clipNormMicros; // C * 1e6
        string accountant; // e.g. "rdp", "prv"; empty = no DP
    }

    struct Federation {
        uint64 paillierPublicKeyArtifact;
        uint32 minParticipants;
        CodecKeyPolicy codecKeyPolicy;
        uint64 roundCount;
        uint64 modelVersionCount;
    }

    struct Round {
        RoundStatus status;
        uint64 deadline;
        uint32 updateCount;
        uint64 aggregateArtifact;
        uint64 modelVersion;
        bytes32 aggregateSha256;
    }

    struct ModelVersion {
        uint64 round;
        uint64 parentVersion;
        uint64 globalModelArtifact;
        uint64 metricsArtifact;
    }

    struct KeyGrant {
        address grantor;
        uint48 grantedAt;
        uint48 revokedAt;
        bytes32 wrappedKeySha256;
    }

    // ------------------------------------------------------------------ events

    event FederationCreated(
        uint64 indexed federationId,
        address indexed admin,
        address indexed creator,
        uint32 minParticipants,
        CodecKeyPolicy codecKeyPolicy
    );
    event FederationRoleGranted(
        uint64 indexed federationId, bytes32 indexed role, address indexed account, address sender
    );
    event FederationRoleRevoked(
        uint64 indexed federationId, bytes32 indexed role, address indexed account, address sender
    );
    event ArtifactRegistered(
        uint64 indexed artifactId,
        uint64 indexed federationId,
        uint64 indexed round,
        ArtifactKind kind,
        address submitter,
        string cid,
        bytes32 sha256,
        uint64 size,
        uint64[] parents
    );
    event PaillierPublicKeySet(uint64 indexed federationId, uint64 indexed artifactId, address indexed admin);
    event KeyGranted(
        uint64 indexed federationId,
        address indexed account,
        address indexed keyOwner,
        KeyKind kind,
        address grantor,
        string wrappedKeyCid,
        bytes32 wrappedKeySha256
    );
    event KeyRevoked(
        uint64 indexed federationId, address indexed account, address indexed keyOwner, KeyKind kind, address revoker
    );
    event RoundOpened(uint64 indexed federationId, uint64 indexed round, address indexed opener, uint64 deadline);
    event UpdateSubmitted(
        uint64 indexed federationId, uint64 indexed round, address indexed analyst, uint64 artifactId
    );
    event RoundClosed(uint64 indexed federationId, uint64 indexed round, address indexed aggregator, uint32 updateCount);
    event AggregatePosted(
        uint64 indexed federationId,
        uint64 indexed round,
        address indexed aggregator,
        uint64 artifactId,
        bytes32 sha256
    );
    event RoundFinalized(
        uint64 indexed federationId,
        uint64 indexed round,
        uint64 indexed version,
        address keyHolder,
        uint64 parentVersion,
        uint64 globalModelArtifact,
        uint64 metricsArtifact,
        DpParameters dp
    );
    event RoundAborted(uint64 indexed federationId, uint64 indexed round, address indexed admin, string reason);

    // ------------------------------------------------------------------ errors

    /// @dev `account` lacks the per-federation `role` needed for the call.
    error ModelRegistryUnauthorizedAccount(uint64 federationId, address account, bytes32 role);
    /// @dev No federation `federationId` exists.
    error ModelRegistryUnknownFederation(uint64 federationId);
    /// @dev `role` is not one of the per-federation roles.
    error ModelRegistryUnknownRole(bytes32 role);
    /// @dev The zero address was given where an account is needed.
    error ModelRegistryZeroAddress();
    /// @dev A federation needs at least one participant per round.
    error ModelRegistryInvalidMinParticipants(uint32 minParticipants);
    /// @dev An artifact was given without a CID.
    error ModelRegistryEmptyCid();
    /// @dev An artifact's CID is longer than any real CID.
    error ModelRegistryCidTooLong(uint256 length, uint256 maxLength);
    /// @dev An artifact (or wrapped key) was given with an all-zero sha256.
    error ModelRegistryZeroHash();
    /// @dev `artifactId` does not exist (as a parent reference).
    error ModelRegistryUnknownArtifact(uint64 artifactId);
    /// @dev `kind` cannot be registered through this function (it has a dedicated one, or is unknown here).
    error ModelRegistryWrongArtifactKind(ArtifactKind kind);
    /// @dev The federation's Paillier public key is already set (at `artifactId`).
    error ModelRegistryPublicKeyAlreadySet(uint64 federationId, uint64 artifactId);
    /// @dev A round needs the federation's Paillier public key to be set first.
    error ModelRegistryPublicKeyNotSet(uint64 federationId);
    /// @dev The grant of `kind` by `keyOwner` to `account` was revoked at `revokedAt` and can never be used again.
    error ModelRegistryKeyGrantRevoked(
        uint64 federationId, KeyKind kind, address keyOwner, address account, uint48 revokedAt
    );
    /// @dev `account` holds no grant of `kind` by `keyOwner`.
    error ModelRegistryKeyNotGranted(uint64 federationId, KeyKind kind, address keyOwner, address account);
    /// @dev Round `round` of the federation is still live, so no new round can open.
    error ModelRegistryRoundInProgress(uint64 federationId, uint64 round, RoundStatus status);
    /// @dev A round deadline must lie in the future.
    error ModelRegistryDeadlineInPast(uint64 deadline, uint256 timestamp);
    /// @dev Round `round` does not exist in the federation.
    error ModelRegistryUnknownRound(uint64 federationId, uint64 round);
    /// @dev Round `round` is in `status`, but the call needs `expected`.
    error ModelRegistryWrongRoundStatus(uint64 federationId, uint64 round, RoundStatus status, RoundStatus expected);
    /// @dev The submission deadline of the round has passed.
    error ModelRegistryDeadlinePassed(uint64 federationId, uint64 round, uint64 deadline, uint256 timestamp);
    /// @dev `analyst` already submitted an update (with digest `digest`) in this round.
    error ModelRegistryDuplicateUpdate(uint64 federationId, uint64 round, address analyst, bytes32 digest);
    /// @dev The round has `updateCount` updates but needs `minParticipants`.
    error ModelRegistryTooFewUpdates(uint64 federationId, uint64 round, uint32 updateCount, uint32 minParticipants);
    /// @dev The aggregate names `given` updates but the round has `updateCount`.
    error ModelRegistryAggregateUpdateMismatch(uint64 federationId, uint64 round, uint256 given, uint32 updateCount);
    /// @dev The round's aggregate was already posted as `artifactId`.
    error ModelRegistryAggregateAlreadyPosted(uint64 federationId, uint64 round, uint64 artifactId);
    /// @dev The round cannot be finalized before its aggregate is posted.
    error ModelRegistryAggregateMissing(uint64 federationId, uint64 round);
    /// @dev Model version `version` does not exist in the federation.
    error ModelRegistryUnknownModelVersion(uint64 federationId, uint64 version);
    /// @dev Inconsistent DP record: an accountant needs positive epsilon, sigma and C and delta < 1; "no DP" is all zero.
    error ModelRegistryInvalidDpParameters(
        uint64 epsilonMicros, uint64 deltaAtto, uint64 noiseMultiplierMicros, uint64 clipNormMicros
    );
}
