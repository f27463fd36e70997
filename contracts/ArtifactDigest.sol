// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IModelRegistry} from "./IModelRegistry.sol";

/**
 * @dev The digest a {ModelRegistry} stores for an artifact, over everything its registration event carries:
 * keccak256 of the ABI encoding of
 * `(kind, federationId, round, submitter, keccak256(cid), sha256, size, keccak256(abi.encodePacked(parents)))`.
 * Off-chain readers recompute it from the event and compare it with {ModelRegistry-artifactDigest}.
 */
library ArtifactDigest {
    function compute(
        IModelRegistry.ArtifactKind kind,
        uint64 federationId,
        uint64 round,
        address submitter,
        string memory cid,
        bytes32 contentSha256,
        uint64 size,
        uint64[] memory parents
    ) internal pure returns (bytes32) {
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
}
