// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IModelRegistry} from "./IModelRegistry.sol";

/**
 * @title ThresholdCustody
 * @dev The threshold-custody books of a {ModelRegistry}: which custodians share each key epoch's key, how many
 * of them a round needs, and which have submitted a partial decryption of each round's aggregate.
 *
 * The registry deploys it in its constructor and is its only writer; every check on who may act (the admin,
 * a key holder of the round's epoch) and every event stays in the registry. It is a contract of its own only
 * because the registry's bytecode would otherwise exceed the EIP-170 size limit. Its errors are the registry's.
 */
contract ThresholdCustody {
    /// @dev Most custodians an epoch's key can be shared among: a round records them as a 64-bit set.
    uint256 public constant MAX_CUSTODIANS = 64;

    /// @dev The registry, the only account that may write.
    address public immutable registry;

    mapping(uint64 federationId => mapping(uint32 epoch => IModelRegistry.EpochCustody)) private _custody;
    mapping(uint64 federationId => mapping(uint32 epoch => mapping(address account => uint8 index))) private
        _custodianIndex;
    mapping(uint64 federationId => mapping(uint64 round => uint64 custodianSet)) private _partials;

    /// @dev The caller is not the registry this contract keeps the books of.
    error ThresholdCustodyOnlyRegistry(address caller);

    modifier onlyRegistry() {
        if (msg.sender != registry) revert ThresholdCustodyOnlyRegistry(msg.sender);
        _;
    }

    constructor() {
        registry = msg.sender;
    }

    /**
     * @dev Records that `custodians` share key `epoch` (custodian `i` is `custodians[i - 1]`), any `threshold`
     * of them decrypting, with the shared key's public material in `thresholdKeyArtifact`.
     *
     * Requirements: the epoch has no custody yet; 1 <= `threshold` <= custodians <= {MAX_CUSTODIANS};
     * custodians are distinct and not zero.
     */
    function setCustody(
        uint64 federationId,
        uint32 epoch,
        uint8 threshold,
        address[] calldata custodians,
        uint64 thresholdKeyArtifact
    ) external onlyRegistry {
        IModelRegistry.EpochCustody storage custody = _custody[federationId][epoch];
        if (custody.threshold != 0) revert IModelRegistry.ModelRegistryCustodyAlreadySet(federationId, epoch);
        if (threshold == 0 || threshold > custodians.length || custodians.length > MAX_CUSTODIANS) {
            revert IModelRegistry.ModelRegistryInvalidThreshold(threshold, custodians.length);
        }
        mapping(address => uint8) storage indices = _custodianIndex[federationId][epoch];
        for (uint256 i = 0; i < custodians.length; ++i) {
            address custodian = custodians[i];
            if (custodian == address(0)) revert IModelRegistry.ModelRegistryZeroAddress();
            if (indices[custodian] != 0) revert IModelRegistry.ModelRegistryDuplicateCustodian(custodian);
            // forge-lint: disable-next-line(unsafe-typecast)
            indices[custodian] = uint8(i + 1); // i < MAX_CUSTODIANS = 64
        }
        custody.threshold = threshold;
        custody.custodianCount = uint8(custodians.length);
        custody.thresholdKeyArtifact = thresholdKeyArtifact;
    }

    /**
     * @dev Records that `custodian` submitted its partial decryption of `round` (of key `epoch`) and returns its
     * index.
     *
     * Requirements: `custodian` is a custodian of the epoch and has not submitted for the round yet.
     */
    function recordPartial(uint64 federationId, uint32 epoch, uint64 round, address custodian)
        external
        onlyRegistry
        returns (uint8 index)
    {
        index = _custodianIndex[federationId][epoch][custodian];
        if (index == 0) revert IModelRegistry.ModelRegistryNotCustodian(federationId, epoch, custodian);
        uint64 bit = uint64(1) << (index - 1);
        uint64 submitted = _partials[federationId][round];
        if (submitted & bit != 0) revert IModelRegistry.ModelRegistryDuplicatePartial(federationId, round, custodian);
        _partials[federationId][round] = submitted | bit;
    }

    /**
     * @dev The threshold of key `epoch` (0 = a single key holder's epoch); reverts if `round` has fewer partial
     * decryptions than that.
     */
    function checkFinalizable(uint64 federationId, uint32 epoch, uint64 round) external view returns (uint8 threshold) {
        threshold = _custody[federationId][epoch].threshold;
        if (threshold == 0) return 0;
        uint8 count = partialCount(federationId, round);
        if (count < threshold) revert IModelRegistry.ModelRegistryTooFewPartials(federationId, round, count, threshold);
    }

    /// @dev The custody record of key `epoch` (all zero for a single key holder's epoch).
    function getCustody(uint64 federationId, uint32 epoch) external view returns (IModelRegistry.EpochCustody memory) {
        return _custody[federationId][epoch];
    }

    /// @dev The index of `account` among the custodians of key `epoch` (0 = not a custodian).
    function custodianIndex(uint64 federationId, uint32 epoch, address account) external view returns (uint8) {
        return _custodianIndex[federationId][epoch][account];
    }

    /// @dev The custodians that submitted a partial decryption of `round`: bit `i - 1` is custodian `i`.
    function partialCustodians(uint64 federationId, uint64 round) external view returns (uint64) {
        return _partials[federationId][round];
    }

    /// @dev How many custodians submitted a partial decryption of `round`.
    function partialCount(uint64 federationId, uint64 round) public view returns (uint8 count) {
        for (uint64 set = _partials[federationId][round]; set != 0; set &= set - 1) {
            ++count;
        }
    }
}
