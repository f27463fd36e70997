// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @dev Types, events and errors of the FLEP {ModelRegistry}.
 *
 * Every identifier is a `uint64` counted from 1, so that `0` always means "none":
 * federations and artifacts are numbered registry-wide, rounds, model versions and Paillier key epochs
 * per federation.
 *
 * Round integrity rests on three rules the contract enforces: an update belongs to exactly one
 * (federation, round, analyst) and its content hash to one federation; an aggregate names every update of its
 * round, each either included or excluded with a reason; and only a key holder of the round's key epoch can
 * finalize it, unless it disputed the aggregate.
 */
interface IModelRegistry {
    /**
     * @dev What an artifact's bytes are. Append-only: new kinds go at the end. `FederationConfig`: the
     * federation's training plan (model, encoding parameters, local training), registered by its admin; the
     * parties read the latest one. `ThresholdKey`: a key epoch's shared-key material (threshold, verification
     * keys), child of the epoch's public key. `PartialDecryption`: a custodian's partial decryption of an
     * aggregate with its proof, child of that aggregate.
     */
    enum ArtifactKind {
        Dataset,
        WrappedKey,
        ModelUpdate,
        EncryptedAggregate,
        GlobalModel,
        Metrics,
        PaillierPublicKey,
        FederationConfig,
        ThresholdKey,
        PartialDecryption
    }

    /**
     * @dev Which secret a key grant hands over (always as a blob sealed for the grantee's registered encryption
     * key). `ModelKey`: the AES-256-GCM key global models of a key epoch are encrypted under; granted by a key
     * holder of that epoch to each member. Append-only.
     */
    enum KeyKind {
        PaillierPrivateKey,
        CodecKey,
        ModelKey
    }

    /**
     * @dev The HPKE (RFC 9180) suite of a registered encryption key, all with HKDF-SHA256 and AES-256-GCM.
     * `DhkemX25519`: a 32-byte X25519 public key. `MlKem768X25519`: the hybrid post-quantum KEM, a 1,216-byte
     * public key (ML-KEM-768's 1,184 bytes, then X25519's 32). Append-only.
     */
    enum HpkeSuite {
        DhkemX25519,
        MlKem768X25519
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

    /**
     * @dev Why the aggregator left an update of the round out of its aggregate. `None` is not a reason: it is
     * refused in an exclusion. Append-only.
     * `Unavailable`: the bytes could not be fetched. `ContentMismatch`: fetched bytes differ from the registered
     * CID, sha256 or size. `OverSize`: larger than the federation accepts. `Unparseable`: not an encrypted
     * update. `WrongKey`: made under another Paillier key. `WrongLayout`: another encoding or length.
     * `WrongContext`: its header names another federation, round, key epoch or submitter.
     * `WeightMismatch`: its header's weight differs from the weight registered on chain.
     */
    enum ExclusionReason {
        None,
        Unavailable,
        ContentMismatch,
        OverSize,
        Unparseable,
        WrongKey,
        WrongLayout,
        WrongContext,
        WeightMismatch
    }

    /**
     * @dev Why a key holder refused to decrypt a posted aggregate. Append-only.
     * `ValidUpdateExcluded` and `InvalidUpdateIncluded` name an update of the round; `AggregateMismatch`
     * (the posted bytes are not the sum of the included updates) and `DecryptionRefused` (e.g. a slot sum
     * outside its bound) name the aggregate.
     */
    enum DisputeReason {
        ValidUpdateExcluded,
        InvalidUpdateIncluded,
        AggregateMismatch,
        DecryptionRefused
    }

    /**
     * @dev The content address of an artifact's bytes as the submitter sends it.
     * @param cid IPFS CID of the bytes (at most {ModelRegistry-MAX_CID_LENGTH} characters).
     * @param sha256 sha256 of the bytes; never zero.
     * @param size Length of the bytes; readers refuse a fetch that delivers more or fewer.
     */
    struct ArtifactInput {
        string cid;
        bytes32 sha256;
        uint64 size;
    }

    /**
     * @dev Differential-privacy parameters of a finalized round, fixed-point so that they hash exactly.
     * "No DP" is the all-zero record with an empty accountant.
     * @param epsilonMicros epsilon * 1e6.
     * @param deltaAtto delta * 1e18.
     * @param noiseMultiplierMicros sigma (noise multiplier) * 1e6.
     * @param clipNormMicros per-sample clipping norm C * 1e6.
     * @param accountant privacy accountant, e.g. "rdp" or "prv"; empty = no DP.
     */
    struct DpParameters {
        uint64 epsilonMicros;
        uint64 deltaAtto;
        uint64 noiseMultiplierMicros;
        uint64 clipNormMicros;
        string accountant;
    }

    /**
     * @dev A federation's stored record.
     * @param paillierPublicKeyArtifact Public key artifact of the current key epoch (0 before the first).
     * @param minParticipants Fewest updates a round's aggregate may include.
     * @param codecKeyPolicy Who grants codec keys.
     * @param roundCount Rounds opened so far (the latest round's number).
     * @param modelVersionCount Model versions finalized so far (the latest version's number).
     * @param keyEpoch The current Paillier key epoch (0 before the first key is set).
     */
    struct Federation {
        uint64 paillierPublicKeyArtifact;
        uint32 minParticipants;
        CodecKeyPolicy codecKeyPolicy;
        uint64 roundCount;
        uint64 modelVersionCount;
        uint32 keyEpoch;
    }

    /**
     * @dev One Paillier key epoch of a federation.
     * @param publicKeyArtifact The epoch's public key artifact.
     * @param startedAt Block time the epoch started.
     * @param revokedAt Block time a key holder of the epoch was revoked (0 = never); a revoked epoch opens no
     * round and finalizes none.
     * @param encodingDigest Digest of the packed-Paillier encoding parameters every update of the epoch must
     * carry in its header (clip bound, value bits, max clients, max weight).
     */
    struct KeyEpoch {
        uint64 publicKeyArtifact;
        uint48 startedAt;
        uint48 revokedAt;
        bytes32 encodingDigest;
    }

    /**
     * @dev A training round's stored record.
     * @param status Where the round is in its life cycle.
     * @param deadline Last block time at which updates are accepted.
     * @param updateCount Updates submitted.
     * @param keyEpoch Paillier key epoch fixed when the round opened.
     * @param includedCount Updates the posted aggregate includes (the rest were excluded with a reason).
     * @param disputed Whether a key holder disputed the posted aggregate (then only an abort ends the round).
     * @param aggregateArtifact The posted encrypted aggregate (0 = none yet).
     * @param modelVersion The model version the round finalized (0 = none).
     * @param weightsTotal Sum of the registered FedAvg weights of the included updates.
     * @param aggregateSha256 sha256 of the posted aggregate.
     */
    struct Round {
        RoundStatus status;
        uint64 deadline;
        uint32 updateCount;
        uint32 keyEpoch;
        uint32 includedCount;
        bool disputed;
        uint64 aggregateArtifact;
        uint64 modelVersion;
        uint64 weightsTotal;
        bytes32 aggregateSha256;
    }

    /**
     * @dev A key epoch under threshold custody (all zero for a single key holder's epoch).
     * @param threshold How many custodians' partial decryptions a round of the epoch needs to be finalized.
     * @param custodianCount How many custodians share the epoch's key.
     * @param thresholdKeyArtifact The epoch's {ArtifactKind-ThresholdKey} artifact.
     */
    struct EpochCustody {
        uint8 threshold;
        uint8 custodianCount;
        uint64 thresholdKeyArtifact;
    }

    /**
     * @dev A model update, filed under its federation and content hash.
     * @param artifactId The update's artifact id.
     * @param round The only round it belongs to.
     * @param weight Its declared FedAvg weight (sample count), at most the samples of its granted datasets.
     */
    struct UpdateRecord {
        uint64 artifactId;
        uint64 round;
        uint64 weight;
    }

    /**
     * @dev A registered dataset.
     * @param owner The data owner that registered it.
     * @param sampleCount How many training samples it holds (bounds the weights of updates trained on it).
     */
    struct Dataset {
        address owner;
        uint32 sampleCount;
    }

    /**
     * @dev A model version's stored record.
     * @param round The round that produced it.
     * @param parentVersion The version it was trained from (0 = from scratch).
     * @param globalModelArtifact The (encrypted) global model.
     * @param metricsArtifact The evaluation report.
     */
    struct ModelVersion {
        uint64 round;
        uint64 parentVersion;
        uint64 globalModelArtifact;
        uint64 metricsArtifact;
    }

    /**
     * @dev A key grant's stored record.
     * @param grantor Who granted it last.
     * @param grantedAt Block time of the last (re-)grant.
     * @param revokedAt Block time of the revocation (0 = live); a revocation is forever.
     * @param wrappedKeySha256 sha256 of the wrapped blob on IPFS.
     * @param keyEpoch For a Paillier private key: the key epoch it hands over (0 for codec keys).
     */
    struct KeyGrant {
        address grantor;
        uint48 grantedAt;
        uint48 revokedAt;
        bytes32 wrappedKeySha256;
        uint32 keyEpoch;
    }

    /**
     * @dev An account's registered HPKE public key, which grants to it are sealed for.
     * @param suite The HPKE suite.
     * @param registeredAt Block time of the (latest) registration; 0 = none.
     * @param publicKeySha256 sha256 of the public key bytes (the bytes are in {EncryptionKeyRegistered}).
     */
    struct EncryptionKey {
        HpkeSuite suite;
        uint48 registeredAt;
        bytes32 publicKeySha256;
    }

    /**
     * @dev An update the aggregator left out of its aggregate.
     * @param updateSha256 The content hash the update is registered under.
     * @param reason Why (never `None`).
     */
    struct Exclusion {
        bytes32 updateSha256;
        ExclusionReason reason;
    }

    // ------------------------------------------------------------------ events

    /// @dev Emitted when `creator` creates federation `federationId` administered by `admin`.
    event FederationCreated(
        uint64 indexed federationId,
        address indexed admin,
        address indexed creator,
        uint32 minParticipants,
        CodecKeyPolicy codecKeyPolicy
    );

    /// @dev Emitted when `account` is granted the per-federation base `role` by `sender`.
    event FederationRoleGranted(
        uint64 indexed federationId, bytes32 indexed role, address indexed account, address sender
    );

    /// @dev Emitted when the per-federation base `role` is revoked from `account` by `sender`.
    event FederationRoleRevoked(
        uint64 indexed federationId, bytes32 indexed role, address indexed account, address sender
    );

    /**
     * @dev Emitted when artifact `artifactId` is registered, after its digest is stored. `round` is 0 for
     * artifacts outside rounds; `parents` are the artifacts it was derived from. Model updates emit
     * {UpdateSubmitted} instead.
     */
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

    /// @dev Emitted when `owner` registers dataset `artifactId` holding `sampleCount` samples.
    event DatasetRegistered(
        uint64 indexed federationId, uint64 indexed artifactId, address indexed owner, uint32 sampleCount
    );

    /**
     * @dev Emitted when `admin` starts Paillier key epoch `epoch` with public key artifact `publicKeyArtifact`
     * and encoding parameters digest `encodingDigest`. Rounds opened from now on use this epoch.
     */
    event KeyEpochStarted(
        uint64 indexed federationId,
        uint32 indexed epoch,
        uint64 indexed publicKeyArtifact,
        bytes32 encodingDigest,
        address admin
    );

    /**
     * @dev Emitted when `admin` puts key epoch `epoch` under threshold custody: any `threshold` of `custodians`
     * (custodian `i` is `custodians[i - 1]`) decrypt its rounds, with the shared key's public material in
     * artifact `thresholdKeyArtifact`.
     */
    event EpochCustodySet(
        uint64 indexed federationId,
        uint32 indexed epoch,
        uint64 indexed thresholdKeyArtifact,
        uint8 threshold,
        address[] custodians,
        address admin
    );

    /// @dev Emitted when custodian `index` (`custodian`) submits partial decryption `artifactId` of `round`'s aggregate.
    event PartialDecryptionSubmitted(
        uint64 indexed federationId, uint64 indexed round, address indexed custodian, uint8 index, uint64 artifactId
    );

    /// @dev Emitted when key epoch `epoch` is retired for good because its key holder `keyHolder` was revoked.
    event KeyEpochRevoked(uint64 indexed federationId, uint32 indexed epoch, address indexed keyHolder, address revoker);

    /**
     * @dev Emitted when `account` registers (or replaces) its HPKE public key `publicKey` of `suite`, after it
     * is stored; grants made from now on are sealed for it.
     */
    event EncryptionKeyRegistered(address indexed account, HpkeSuite suite, bytes publicKey, bytes32 publicKeySha256);

    /// @dev Emitted when `account` is granted the key of `kind` owned by `keyOwner` (0 = the federation).
    event KeyGranted(
        uint64 indexed federationId,
        address indexed account,
        address indexed keyOwner,
        KeyKind kind,
        address grantor,
        string wrappedKeyCid,
        bytes32 wrappedKeySha256,
        uint32 keyEpoch
    );

    /// @dev Emitted when the grant of `kind` owned by `keyOwner` is revoked from `account`, forever.
    event KeyRevoked(
        uint64 indexed federationId, address indexed account, address indexed keyOwner, KeyKind kind, address revoker
    );

    /// @dev Emitted when `opener` opens `round`, accepting updates until `deadline` under key epoch `keyEpoch`.
    event RoundOpened(
        uint64 indexed federationId, uint64 indexed round, address indexed opener, uint64 deadline, uint32 keyEpoch
    );

    /**
     * @dev Emitted when `analyst` submits model update `artifactId` to `round` with FedAvg weight `weight`, after
     * it is filed. A model update's only event: it carries what {ArtifactRegistered} carries for other kinds, and
     * its digest is {ArtifactDigest-compute} with kind `ModelUpdate` and submitter `analyst`.
     */
    event UpdateSubmitted(
        uint64 indexed artifactId,
        uint64 indexed federationId,
        uint64 indexed round,
        address analyst,
        string cid,
        bytes32 sha256,
        uint64 size,
        uint64 weight,
        uint64[] parents
    );

    /// @dev Emitted when `aggregator` closes submissions of `round`, which then holds `updateCount` updates.
    event RoundClosed(uint64 indexed federationId, uint64 indexed round, address indexed aggregator, uint32 updateCount);

    /**
     * @dev Emitted when `aggregator` posts aggregate `artifactId` of `round`: the sum of `includedCount`
     * updates with total weight `weightsTotal`; the other `excludedCount` are each named by {UpdateExcluded}.
     */
    event AggregatePosted(
        uint64 indexed federationId,
        uint64 indexed round,
        address indexed aggregator,
        uint64 artifactId,
        bytes32 sha256,
        uint32 includedCount,
        uint32 excludedCount,
        uint64 weightsTotal
    );

    /// @dev Emitted, after {AggregatePosted}, for each update of `round` the aggregate leaves out, with why.
    event UpdateExcluded(
        uint64 indexed federationId,
        uint64 indexed round,
        uint64 indexed updateArtifactId,
        bytes32 updateSha256,
        ExclusionReason reason
    );

    /**
     * @dev Emitted when `keyHolder` refuses to decrypt the aggregate of `round`, naming `subjectArtifactId`
     * (an update or the aggregate itself) and why. The round can then only be aborted.
     */
    event AggregateDisputed(
        uint64 indexed federationId,
        uint64 indexed round,
        address indexed keyHolder,
        uint64 subjectArtifactId,
        DisputeReason reason,
        string detail
    );

    /// @dev Emitted when `keyHolder` finalizes `round` as model `version` (trained from `parentVersion`).
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

    /// @dev Emitted when `admin` aborts a live `round` for good.
    event RoundAborted(uint64 indexed federationId, uint64 indexed round, address indexed admin, string reason);

    // ------------------------------------------------------------------ errors

    /// @dev `account` lacks the per-federation `role` needed for the call.
    error ModelRegistryUnauthorizedAccount(uint64 federationId, address account, bytes32 role);
    /// @dev No federation `federationId` exists.
    error ModelRegistryUnknownFederation(uint64 federationId);
    /// @dev `role` is neither a per-federation base role nor, for {AccessControl-grantRole}, a registry-wide role
    /// or a role of an existing federation.
    error ModelRegistryUnknownRole(bytes32 role);
    /// @dev The zero address was given where an account is needed.
    error ModelRegistryZeroAddress();
    /// @dev A federation needs at least one participant per round.
    error ModelRegistryInvalidMinParticipants(uint32 minParticipants);
    /// @dev An artifact was given without a CID.
    error ModelRegistryEmptyCid();
    /// @dev An artifact's CID is longer than any real CID.
    error ModelRegistryCidTooLong(uint256 length, uint256 maxLength);
    /// @dev An artifact, wrapped key or encoding digest was given as all-zero bytes.
    error ModelRegistryZeroHash();
    /// @dev `artifactId` does not exist (as a parent reference).
    error ModelRegistryUnknownArtifact(uint64 artifactId);
    /// @dev Parent `parent` belongs to federation `parentFederationId`, not to `federationId`.
    error ModelRegistryForeignParent(uint64 federationId, uint64 parent, uint64 parentFederationId);
    /// @dev Parent `parent` is a model update; only its round's aggregate derives from an update.
    error ModelRegistryUpdateAsParent(uint64 parent);
    /// @dev The parents of an update must be strictly ascending (each dataset counted once); `parent` is not.
    error ModelRegistryUnsortedParents(uint64 parent);
    /// @dev `kind` cannot be registered through this function (it has a dedicated one, or is unknown here).
    error ModelRegistryWrongArtifactKind(ArtifactKind kind);
    /// @dev A dataset must hold at least one sample.
    error ModelRegistryEmptyDataset();
    /// @dev Key epoch `epoch` of the federation was revoked (its key holder was) and cannot be used again.
    error ModelRegistryKeyEpochRevoked(uint64 federationId, uint32 epoch);
    /// @dev A round needs the federation's Paillier public key to be set first.
    error ModelRegistryPublicKeyNotSet(uint64 federationId);
    /// @dev The grant of `kind` by `keyOwner` to `account` was revoked at `revokedAt` and can never be used again.
    error ModelRegistryKeyGrantRevoked(
        uint64 federationId, KeyKind kind, address keyOwner, address account, uint48 revokedAt
    );
    /// @dev An encryption key of `suite` must be `expectedLength` bytes, not `length`.
    error ModelRegistryInvalidEncryptionKey(HpkeSuite suite, uint256 length, uint256 expectedLength);
    /// @dev `account` holds no grant of `kind` by `keyOwner`.
    error ModelRegistryKeyNotGranted(uint64 federationId, KeyKind kind, address keyOwner, address account);
    /// @dev `account` holds the Paillier key of epoch `grantEpoch`, but the round uses epoch `roundEpoch`.
    error ModelRegistryWrongKeyEpoch(uint64 federationId, address account, uint32 grantEpoch, uint32 roundEpoch);
    /// @dev Round `round` of the federation is still live, so no new round can open and the key cannot rotate.
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
    /// @dev An update with content hash `sha256` is already registered in the federation as `artifactId`
    /// (a copy of another analyst's update or a replay of an earlier one).
    error ModelRegistryDuplicateUpdateContent(uint64 federationId, bytes32 sha256, uint64 artifactId);
    /// @dev `analyst` declared FedAvg weight `weight`, but its granted dataset parents hold `grantedSamples`.
    error ModelRegistryInvalidWeight(uint64 federationId, address analyst, uint64 weight, uint64 grantedSamples);
    /// @dev `analyst` names dataset `datasetId` as a parent without a live grant of its codec key.
    error ModelRegistryDatasetNotGranted(uint64 federationId, uint64 datasetId, address analyst);
    /// @dev The round has `updateCount` updates (or the aggregate includes that many) but needs `minParticipants`.
    error ModelRegistryTooFewUpdates(uint64 federationId, uint64 round, uint32 updateCount, uint32 minParticipants);
    /// @dev The aggregate names `given` updates (included + excluded) but the round has `updateCount`.
    error ModelRegistryAggregateUpdateMismatch(uint64 federationId, uint64 round, uint256 given, uint32 updateCount);
    /// @dev `sha256` is not an update of round `round`: it is update `artifactId` of round `updateRound`, or no
    /// update of the federation at all (`artifactId` 0).
    error ModelRegistryUpdateNotInRound(
        uint64 federationId, uint64 round, bytes32 sha256, uint64 artifactId, uint64 updateRound
    );
    /// @dev Update hashes of an aggregate must be strictly ascending and each named once; `sha256` is not.
    error ModelRegistryUnsortedUpdates(uint64 federationId, uint64 round, bytes32 sha256);
    /// @dev An exclusion of update `sha256` gives no reason.
    error ModelRegistryMissingExclusionReason(bytes32 sha256);
    /// @dev The round's aggregate was already posted as `artifactId`.
    error ModelRegistryAggregateAlreadyPosted(uint64 federationId, uint64 round, uint64 artifactId);
    /// @dev The round cannot be finalized or disputed before its aggregate is posted.
    error ModelRegistryAggregateMissing(uint64 federationId, uint64 round);
    /// @dev A key holder disputed the round's aggregate; only an abort ends the round.
    error ModelRegistryAggregateDisputed(uint64 federationId, uint64 round);
    /// @dev A dispute of kind `reason` must name the round's aggregate (sha256 `expected`), not `given`.
    error ModelRegistryDisputeSubjectMismatch(uint64 federationId, uint64 round, bytes32 given, bytes32 expected);
    /// @dev A free-text reason of `length` bytes exceeds `maxLength`.
    error ModelRegistryReasonTooLong(uint256 length, uint256 maxLength);
    /// @dev Model version `version` does not exist in the federation.
    error ModelRegistryUnknownModelVersion(uint64 federationId, uint64 version);
    /// @dev A threshold of `threshold` of `custodianCount` custodians: it needs
    /// 1 <= threshold <= custodianCount <= {ThresholdCustody-MAX_CUSTODIANS}.
    error ModelRegistryInvalidThreshold(uint8 threshold, uint256 custodianCount);
    /// @dev Key epoch `epoch` is already under threshold custody; a new dealing needs a new epoch.
    error ModelRegistryCustodyAlreadySet(uint64 federationId, uint32 epoch);
    /// @dev `account` is named twice among the custodians of one epoch.
    error ModelRegistryDuplicateCustodian(address account);
    /// @dev `account` is not a custodian of key epoch `epoch` (or the epoch is not under threshold custody).
    error ModelRegistryNotCustodian(uint64 federationId, uint32 epoch, address account);
    /// @dev `custodian` already submitted a partial decryption of the aggregate of `round`.
    error ModelRegistryDuplicatePartial(uint64 federationId, uint64 round, address custodian);
    /// @dev The round has `partialCount` partial decryptions but its key epoch needs `threshold`.
    error ModelRegistryTooFewPartials(uint64 federationId, uint64 round, uint8 partialCount, uint8 threshold);
    /// @dev Inconsistent DP record: an accountant needs positive epsilon, sigma and C and delta < 1; "no DP" is all zero.
    error ModelRegistryInvalidDpParameters(
        uint64 epsilonMicros, uint64 deltaAtto, uint64 noiseMultiplierMicros, uint64 clipNormMicros
    );
}
