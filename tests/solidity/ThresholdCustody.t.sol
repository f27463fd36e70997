// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ArtifactDigest} from "../../contracts/ArtifactDigest.sol";
import {IModelRegistry} from "../../contracts/IModelRegistry.sol";
import {ThresholdCustody} from "../../contracts/ThresholdCustody.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";

/**
 * @dev Unit tests of threshold custody: {ModelRegistry-setEpochCustody}, {ModelRegistry-submitPartialDecryption},
 * finalization under a threshold, and the {ThresholdCustody} books. One happy path per function and one test per
 * refusal. Besides the fixture's `keyHolder` (a key holder of epoch 1, never a custodian), custodians `c1`, `c2`
 * and `c3` each hold a share of the epoch's key as their Paillier private key grant.
 */
contract ThresholdCustodyTest is RegistryFixture, IModelRegistry {
    ThresholdCustody internal custody;

    address internal c1 = vm.addr(0xC1);
    address internal c2 = vm.addr(0xC2);
    address internal c3 = vm.addr(0xC3);
    address internal c4 = vm.addr(0xC4);

    /// @dev The fixture's epoch 1 public key.
    uint64 internal constant PUBLIC_KEY_1 = 1;

    function setUp() public override {
        super.setUp();
        custody = registry.custody();
    }

    // ------------------------------------------------------------------ helpers

    function _three() internal view returns (address[] memory list) {
        list = new address[](3);
        (list[0], list[1], list[2]) = (c1, c2, c3);
    }

    function _list(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    function _pair(address a, address b) internal pure returns (address[] memory list) {
        list = new address[](2);
        (list[0], list[1]) = (a, b);
    }

    /// @dev The admin grants `who` its share of the current epoch's key (a Paillier private key grant).
    function _grantShare(address who) internal {
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, who, "QmSealedShare", keccak256(abi.encode("share", who)));
    }

    function _setCustody(uint8 threshold, address[] memory custodians, string memory tag) internal returns (uint64) {
        vm.prank(admin);
        return registry.setEpochCustody(fed, threshold, custodians, _artifact(tag));
    }

    /// @dev Grants every custodian its share, then puts the current epoch under `threshold`-of-`custodians` custody.
    function _deal(uint8 threshold, address[] memory custodians) internal returns (uint64 thresholdKey) {
        for (uint256 i = 0; i < custodians.length; ++i) _grantShare(custodians[i]);
        thresholdKey = _setCustody(threshold, custodians, "tk");
    }

    /// @dev Epoch 1 under 2-of-{c1, c2, c3} custody.
    function _dealTwoOfThree() internal returns (uint64) {
        return _deal(2, _three());
    }

    function _partialOf(address who, uint64 round) internal pure returns (ArtifactInput memory) {
        return _artifact(string.concat("partial ", _str(uint160(who)), "@", _str(round)));
    }

    function _submitPartial(address who, uint64 round) internal returns (uint64) {
        ArtifactInput memory p = _partialOf(who, round);
        vm.prank(who);
        return registry.submitPartialDecryption(fed, round, p);
    }

    function _finalizeBy(address who, uint64 round) internal returns (uint64) {
        vm.prank(who);
        return registry.finalizeRound(fed, round, 0, _artifact("model"), _artifact("metrics"), _dp());
    }

    function _rotate(string memory tag) internal returns (uint32 epoch) {
        vm.prank(admin);
        epoch = registry.startKeyEpoch(fed, _artifact(tag), keccak256(bytes(tag)));
    }

    function _revokeShare(address who) internal {
        vm.prank(admin);
        registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), who);
    }

    function _expectTooFew(uint64 round, uint8 count, uint8 threshold) internal {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryTooFewPartials.selector, fed, round, count, threshold));
    }

    // ------------------------------------------------------------------ deployment

    function test_RegistryDeploysItsCustody() public view {
        assertTrue(address(custody) != address(0), "custody deployed");
        assertTrue(address(custody).code.length != 0, "custody has code");
        assertEq(custody.registry(), address(registry), "its only writer is the registry");
        assertEq(custody.MAX_CUSTODIANS(), 64, "max custodians");
        EpochCustody memory e = custody.getCustody(fed, 1);
        assertEq(e.threshold, 0, "fixture epoch has a single key holder");
        assertEq(e.custodianCount, 0, "no custodians");
        assertEq(e.thresholdKeyArtifact, 0, "no threshold key");
    }

    function test_RevertWhen_SetCustodyNotByRegistry() public {
        address[] memory custodians = _three();
        vm.expectRevert(abi.encodeWithSelector(ThresholdCustody.ThresholdCustodyOnlyRegistry.selector, admin));
        vm.prank(admin);
        custody.setCustody(fed, 1, 2, custodians, 1);
    }

    function test_RevertWhen_RecordPartialNotByRegistry() public {
        _dealTwoOfThree();
        vm.expectRevert(abi.encodeWithSelector(ThresholdCustody.ThresholdCustodyOnlyRegistry.selector, c1));
        vm.prank(c1);
        custody.recordPartial(fed, 1, 1, c1);
    }

    function test_RevertWhen_OperatorCallsCustodyDirectly() public {
        vm.expectRevert(abi.encodeWithSelector(ThresholdCustody.ThresholdCustodyOnlyRegistry.selector, operator));
        vm.prank(operator);
        custody.recordPartial(fed, 1, 1, operator);
    }

    // ------------------------------------------------------------------ setEpochCustody

    function test_SetEpochCustody() public {
        address[] memory custodians = _three();
        for (uint256 i = 0; i < custodians.length; ++i) _grantShare(custodians[i]);
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit ArtifactRegistered(
            expectedId, fed, 0, ArtifactKind.ThresholdKey, admin, CID, keccak256("tk"), 1234, _one(PUBLIC_KEY_1)
        );
        vm.expectEmit(true, true, true, true, address(registry));
        emit EpochCustodySet(fed, 1, expectedId, 2, custodians, admin);
        vm.prank(admin);
        uint64 id = registry.setEpochCustody(fed, 2, custodians, _artifact("tk"));

        assertEq(id, expectedId, "threshold key id");
        assertEq(registry.artifactCount(), expectedId, "one artifact");
        assertEq(
            registry.artifactDigest(id),
            ArtifactDigest.compute(
                ArtifactKind.ThresholdKey, fed, 0, admin, CID, keccak256("tk"), 1234, _one(PUBLIC_KEY_1)
            ),
            "kind ThresholdKey, child of the epoch's public key"
        );
        EpochCustody memory e = custody.getCustody(fed, 1);
        assertEq(e.threshold, 2, "threshold");
        assertEq(e.custodianCount, 3, "custodian count");
        assertEq(e.thresholdKeyArtifact, id, "threshold key artifact");
        assertEq(custody.custodianIndex(fed, 1, c1), 1, "c1 is custodian 1");
        assertEq(custody.custodianIndex(fed, 1, c2), 2, "c2 is custodian 2");
        assertEq(custody.custodianIndex(fed, 1, c3), 3, "c3 is custodian 3");
        assertEq(custody.custodianIndex(fed, 1, stranger), 0, "stranger");
        assertEq(custody.custodianIndex(fed, 1, keyHolder), 0, "a key holder is not a custodian by itself");
        assertEq(custody.custodianIndex(fed, 2, c1), 0, "custody is per epoch");
        assertEq(custody.custodianIndex(fed + 1, 1, c1), 0, "custody is per federation");
        assertEq(registry.getKeyEpoch(fed, 1).revokedAt, 0, "epoch stays live");
    }

    function test_SetEpochCustodyBeforeSharesAreGranted() public {
        // The grants are separate calls; the custody record does not need them yet.
        uint64 id = _setCustody(1, _list(c1), "tk");
        assertEq(custody.getCustody(fed, 1).thresholdKeyArtifact, id, "recorded");
        assertTrue(!registry.isKeyHolder(fed, c1), "not a key holder until its share is granted");
    }

    function test_SetEpochCustodyOneOfOne() public {
        _deal(1, _list(c1));
        EpochCustody memory e = custody.getCustody(fed, 1);
        assertEq(e.threshold, 1, "threshold");
        assertEq(e.custodianCount, 1, "count");
    }

    function test_SetEpochCustodySixtyFourCustodians() public {
        address[] memory custodians = new address[](64);
        for (uint256 i = 0; i < 64; ++i) custodians[i] = vm.addr(0x5000 + i);
        _setCustody(64, custodians, "tk");
        assertEq(custody.getCustody(fed, 1).custodianCount, 64, "count");
        assertEq(custody.custodianIndex(fed, 1, custodians[63]), 64, "last index");
    }

    function test_SetEpochCustodyAfterAFinalizedRound() public {
        _finalizeBy(keyHolder, _postedRound());
        _dealTwoOfThree();
        assertEq(custody.getCustody(fed, 1).threshold, 2, "custody once the round is over");
    }

    function test_SetEpochCustodyAfterAnAbortedRound() public {
        uint64 round = _openRound();
        vm.prank(admin);
        registry.abortRound(fed, round, "deal");
        _dealTwoOfThree();
        assertEq(custody.getCustody(fed, 1).threshold, 2, "custody once the round is over");
    }

    function test_RevertWhen_SetEpochCustodyByNonAdmin() public {
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        address[] memory custodians = _three();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, keyHolder, role));
        vm.prank(keyHolder);
        registry.setEpochCustody(fed, 2, custodians, _artifact("tk"));
    }

    function test_RevertWhen_SetEpochCustodyByAdminOfAnotherFederation() public {
        vm.prank(operator);
        registry.createFederation(stranger, 1, CodecKeyPolicy.PerDataOwner);
        bytes32 role = registry.FEDERATION_ADMIN_ROLE();
        address[] memory custodians = _three();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnauthorizedAccount.selector, fed, stranger, role));
        vm.prank(stranger);
        registry.setEpochCustody(fed, 2, custodians, _artifact("tk"));
    }

    function test_RevertWhen_SetEpochCustodyInUnknownFederation() public {
        address[] memory custodians = _three();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownFederation.selector, uint64(5)));
        vm.prank(admin);
        registry.setEpochCustody(5, 2, custodians, _artifact("tk"));
    }

    function test_RevertWhen_SetEpochCustodyWithoutEpoch() public {
        vm.prank(operator);
        uint64 other = registry.createFederation(admin, 1, CodecKeyPolicy.PerDataOwner);
        address[] memory custodians = _three();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryPublicKeyNotSet.selector, other));
        vm.prank(admin);
        registry.setEpochCustody(other, 2, custodians, _artifact("tk"));
    }

    function test_RevertGiven_EpochRevoked_SetEpochCustody() public {
        vm.prank(admin);
        registry.revokeKey(fed, KeyKind.PaillierPrivateKey, address(0), keyHolder);
        address[] memory custodians = _three();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryKeyEpochRevoked.selector, fed, uint32(1)));
        vm.prank(admin);
        registry.setEpochCustody(fed, 2, custodians, _artifact("tk"));
    }

    function test_RevertWhen_SetEpochCustodyTwice() public {
        _dealTwoOfThree();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryCustodyAlreadySet.selector, fed, uint32(1)));
        _setCustody(1, _list(c4), "tk again");
    }

    function test_RevertWhen_SetEpochCustodyTwiceWithSameDealing() public {
        _dealTwoOfThree();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryCustodyAlreadySet.selector, fed, uint32(1)));
        _setCustody(2, _three(), "tk");
    }

    function test_RevertGiven_RoundOpen_SetEpochCustody() public {
        uint64 round = _openRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryRoundInProgress.selector, fed, round, RoundStatus.Open));
        _setCustody(2, _three(), "tk");
    }

    function test_RevertGiven_RoundAggregating_SetEpochCustody() public {
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryRoundInProgress.selector, fed, round, RoundStatus.Aggregating)
        );
        _setCustody(2, _three(), "tk");
    }

    function test_RevertWhen_SetEpochCustodyWithZeroThreshold() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidThreshold.selector, uint8(0), uint256(3)));
        _setCustody(0, _three(), "tk");
    }

    function test_RevertWhen_SetEpochCustodyWithThresholdAboveCustodians() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidThreshold.selector, uint8(4), uint256(3)));
        _setCustody(4, _three(), "tk");
    }

    function test_RevertWhen_SetEpochCustodyWithoutCustodians() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidThreshold.selector, uint8(1), uint256(0)));
        _setCustody(1, new address[](0), "tk");
    }

    function test_RevertWhen_SetEpochCustodyWithTooManyCustodians() public {
        address[] memory custodians = new address[](65);
        for (uint256 i = 0; i < 65; ++i) custodians[i] = vm.addr(0x5000 + i);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidThreshold.selector, uint8(1), uint256(65)));
        _setCustody(1, custodians, "tk");
    }

    function test_RevertWhen_SetEpochCustodyWithMoreCustodiansThanAUint8() public {
        // 256 custodians would wrap a uint8 count to 0: refused by the length bound, not truncated.
        address[] memory custodians = new address[](256);
        for (uint256 i = 0; i < 256; ++i) custodians[i] = vm.addr(0x5000 + i);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryInvalidThreshold.selector, uint8(255), uint256(256)));
        _setCustody(255, custodians, "tk");
    }

    function test_RevertWhen_SetEpochCustodyWithZeroAddressCustodian() public {
        address[] memory custodians = _three();
        custodians[1] = address(0);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroAddress.selector));
        _setCustody(2, custodians, "tk");
    }

    function test_RevertWhen_SetEpochCustodyWithDuplicateCustodian() public {
        address[] memory custodians = _three();
        custodians[2] = c1;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDuplicateCustodian.selector, c1));
        _setCustody(2, custodians, "tk");
    }

    function test_RevertWhen_SetEpochCustodyWithEmptyCid() public {
        address[] memory custodians = _three();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryEmptyCid.selector));
        vm.prank(admin);
        registry.setEpochCustody(fed, 2, custodians, ArtifactInput("", SHA, 1));
    }

    function test_RevertWhen_SetEpochCustodyWithZeroHash() public {
        address[] memory custodians = _three();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(admin);
        registry.setEpochCustody(fed, 2, custodians, ArtifactInput(CID, bytes32(0), 1));
    }

    function test_RevertWhen_RegisterThresholdArtifactsThroughRegisterArtifact() public {
        ArtifactKind[2] memory kinds = [ArtifactKind.ThresholdKey, ArtifactKind.PartialDecryption];
        for (uint256 i = 0; i < kinds.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(ModelRegistryWrongArtifactKind.selector, kinds[i]));
            vm.prank(admin);
            registry.registerArtifact(fed, kinds[i], _artifact("x"), _noParents());
        }
    }

    function test_RefusedSetEpochCustodyLeavesNothing() public {
        uint64 before = registry.artifactCount();
        address[] memory custodians = _three();
        custodians[2] = c1;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDuplicateCustodian.selector, c1));
        _setCustody(2, custodians, "tk");
        assertEq(registry.artifactCount(), before, "no artifact registered");
        assertEq(custody.custodianIndex(fed, 1, c1), 0, "no index recorded");
        assertEq(custody.getCustody(fed, 1).threshold, 0, "no custody");
        // And the epoch can still be dealt correctly.
        _dealTwoOfThree();
    }

    // ------------------------------------------------------------------ new epochs

    function test_NewEpochHasNoCustody() public {
        uint64 tk1 = _dealTwoOfThree();
        _finalizeAtThreshold();
        assertEq(_rotate("pk2"), 2, "epoch 2");
        EpochCustody memory e2 = custody.getCustody(fed, 2);
        assertEq(e2.threshold, 0, "no threshold");
        assertEq(e2.custodianCount, 0, "no custodians");
        assertEq(e2.thresholdKeyArtifact, 0, "no threshold key");
        assertEq(custody.custodianIndex(fed, 2, c1), 0, "c1 is no custodian of epoch 2");
        EpochCustody memory e1 = custody.getCustody(fed, 1);
        assertEq(e1.threshold, 2, "epoch 1 custody kept");
        assertEq(e1.thresholdKeyArtifact, tk1, "epoch 1 threshold key kept");
        assertEq(custody.custodianIndex(fed, 1, c1), 1, "epoch 1 index kept");

        // A single key holder's epoch again: the re-granted holder finalizes without partials.
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmPk2", keccak256("pk2 blob"));
        uint64 round = _postedRound();
        assertEq(custody.checkFinalizable(fed, 2, round), 0, "no threshold");
        _finalizeBy(keyHolder, round);
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Finalized, "finalized");
    }

    function test_NewEpochCanBeReDealt() public {
        _dealTwoOfThree();
        _finalizeAtThreshold();
        _rotate("pk2");
        uint64 pk2 = registry.getFederation(fed).paillierPublicKeyArtifact;
        // c1 leaves, c4 joins; c3 is dealt the first share this time.
        address[] memory custodians = new address[](3);
        (custodians[0], custodians[1], custodians[2]) = (c3, c2, c4);
        for (uint256 i = 0; i < custodians.length; ++i) _grantShare(custodians[i]);
        uint64 expectedId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit EpochCustodySet(fed, 2, expectedId, 3, custodians, admin);
        uint64 tk2 = _setCustody(3, custodians, "tk2");
        assertEq(
            registry.artifactDigest(tk2),
            ArtifactDigest.compute(ArtifactKind.ThresholdKey, fed, 0, admin, CID, keccak256("tk2"), 1234, _one(pk2)),
            "child of the new epoch's public key"
        );
        EpochCustody memory e2 = custody.getCustody(fed, 2);
        assertEq(e2.threshold, 3, "new threshold");
        assertEq(e2.custodianCount, 3, "new count");
        assertEq(e2.thresholdKeyArtifact, tk2, "new threshold key");
        assertEq(custody.custodianIndex(fed, 2, c3), 1, "c3 is custodian 1 now");
        assertEq(custody.custodianIndex(fed, 2, c2), 2, "c2 still 2");
        assertEq(custody.custodianIndex(fed, 2, c4), 3, "c4 is 3");
        assertEq(custody.custodianIndex(fed, 2, c1), 0, "c1 left");
        assertEq(custody.custodianIndex(fed, 1, c3), 3, "epoch 1 indices untouched");

        uint64 round = _postedRound();
        _submitPartial(c3, round);
        _submitPartial(c4, round);
        assertEq(custody.partialCustodians(fed, round), 0x5, "bits of indices 1 and 3");
        _expectTooFew(round, 2, 3);
        _finalizeBy(c2, round);
        _submitPartial(c2, round);
        _finalizeBy(c2, round);
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Finalized, "finalized at 3 of 3");
    }

    /// @dev Epoch 1 under 2-of-3 custody: a posted round finalized by c1 after c1 and c2 submitted.
    function _finalizeAtThreshold() internal returns (uint64 round) {
        round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c2, round);
        _finalizeBy(c1, round);
    }

    // ------------------------------------------------------------------ submitPartialDecryption

    function test_SubmitPartialDecryption() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        uint64 aggregateId = registry.getRound(fed, round).aggregateArtifact;
        uint64 expectedId = registry.artifactCount() + 1;
        ArtifactInput memory p = _partialOf(c2, round);
        vm.expectEmit(true, true, true, true, address(registry));
        emit ArtifactRegistered(
            expectedId, fed, round, ArtifactKind.PartialDecryption, c2, CID, p.sha256, 1234, _one(aggregateId)
        );
        vm.expectEmit(true, true, true, true, address(registry));
        emit PartialDecryptionSubmitted(fed, round, c2, 2, expectedId);
        vm.prank(c2);
        uint64 id = registry.submitPartialDecryption(fed, round, p);

        assertEq(id, expectedId, "artifact id");
        assertEq(
            registry.artifactDigest(id),
            ArtifactDigest.compute(ArtifactKind.PartialDecryption, fed, round, c2, CID, p.sha256, 1234, _one(aggregateId)),
            "kind PartialDecryption, child of the aggregate, filed under the round"
        );
        assertEq(custody.partialCount(fed, round), 1, "one partial");
        assertEq(custody.partialCustodians(fed, round), 0x2, "bit of custodian 2");
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Aggregating, "still aggregating");

        _submitPartial(c3, round);
        assertEq(custody.partialCount(fed, round), 2, "two partials");
        assertEq(custody.partialCustodians(fed, round), 0x6, "bits of custodians 2 and 3");
        _submitPartial(c1, round);
        assertEq(custody.partialCount(fed, round), 3, "all three (above the threshold is accepted)");
        assertEq(custody.partialCustodians(fed, round), 0x7, "all bits");
        assertEq(custody.partialCount(fed, round + 1), 0, "per round");
    }

    function test_PartialDecryptionCanBeAParent() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        uint64 id = _submitPartial(c1, round);
        vm.prank(admin);
        uint64 metrics = registry.registerArtifact(fed, ArtifactKind.Metrics, _artifact("check"), _one(id));
        assertEq(metrics, id + 1, "a partial decryption is an artifact of the federation");
    }

    function test_RevertWhen_SubmitPartialByNonKeyHolder() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), stranger)
        );
        _submitPartial(stranger, round);
    }

    function test_RevertWhen_SubmitPartialByCustodianWithoutShare() public {
        // c3 is named a custodian but its share was never granted.
        _grantShare(c1);
        _grantShare(c2);
        _setCustody(2, _three(), "tk");
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), c3)
        );
        _submitPartial(c3, round);
    }

    function test_RevertWhen_SubmitPartialByKeyHolderNotCustodian() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryNotCustodian.selector, fed, uint32(1), keyHolder));
        _submitPartial(keyHolder, round);
    }

    function test_RevertWhen_SubmitPartialInSingleKeyHolderEpoch() public {
        uint64 round = _postedRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryNotCustodian.selector, fed, uint32(1), keyHolder));
        _submitPartial(keyHolder, round);
    }

    function test_RevertWhen_SubmitPartialTwice() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDuplicatePartial.selector, fed, round, c1));
        _submitPartial(c1, round);
    }

    function test_RevertWhen_SubmitPartialTwiceWithOtherContent() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDuplicatePartial.selector, fed, round, c1));
        vm.prank(c1);
        registry.submitPartialDecryption(fed, round, _artifact("another partial"));
        assertEq(custody.partialCount(fed, round), 1, "still one");
    }

    function test_RevertGiven_RoundOpen_SubmitPartial() public {
        _dealTwoOfThree();
        uint64 round = _openRound();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Open, RoundStatus.Aggregating
            )
        );
        _submitPartial(c1, round);
    }

    function test_RevertGiven_RoundFinalized_SubmitPartial() public {
        _dealTwoOfThree();
        uint64 round = _finalizeAtThreshold();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Finalized, RoundStatus.Aggregating
            )
        );
        _submitPartial(c3, round);
    }

    function test_RevertGiven_RoundAborted_SubmitPartial() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        vm.prank(admin);
        registry.abortRound(fed, round, "stop");
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryWrongRoundStatus.selector, fed, round, RoundStatus.Aborted, RoundStatus.Aggregating
            )
        );
        _submitPartial(c1, round);
    }

    function test_RevertWhen_SubmitPartialToUnknownRound() public {
        _dealTwoOfThree();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryUnknownRound.selector, fed, uint64(7)));
        _submitPartial(c1, 7);
    }

    function test_RevertGiven_NoAggregate_SubmitPartial() public {
        _dealTwoOfThree();
        (uint64 round,) = _aggregatingRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryAggregateMissing.selector, fed, round));
        _submitPartial(c1, round);
    }

    function test_RevertGiven_Disputed_SubmitPartial() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        vm.prank(c1);
        registry.disputeAggregate(fed, round, keccak256("agg"), DisputeReason.AggregateMismatch, "bad sum");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryAggregateDisputed.selector, fed, round));
        _submitPartial(c2, round);
    }

    function test_RevertWhen_SubmitPartialWithEmptyCid() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryEmptyCid.selector));
        vm.prank(c1);
        registry.submitPartialDecryption(fed, round, ArtifactInput("", SHA, 1));
    }

    function test_RevertWhen_SubmitPartialWithZeroHash() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryZeroHash.selector));
        vm.prank(c1);
        registry.submitPartialDecryption(fed, round, ArtifactInput(CID, bytes32(0), 1));
    }

    function test_RevertWhen_SubmitPartialByRevokedCustodian() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        vm.warp(block.timestamp + 7);
        _revokeShare(c1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyGrantRevoked.selector,
                fed,
                KeyKind.PaillierPrivateKey,
                address(0),
                c1,
                uint48(block.timestamp)
            )
        );
        _submitPartial(c1, round);
    }

    function test_RevertGiven_EpochRevoked_SubmitPartialByOtherCustodian() public {
        // Revoking one custodian's share retires the whole epoch (see {ModelRegistry-revokeKey}).
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c2, round);
        _revokeShare(c1);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryKeyEpochRevoked.selector, fed, uint32(1)));
        _submitPartial(c3, round);
    }

    function test_RevertGiven_EpochRevokedByNonCustodian_SubmitPartial() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _revokeShare(keyHolder);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryKeyEpochRevoked.selector, fed, uint32(1)));
        _submitPartial(c1, round);
    }

    function test_RevertGiven_OldEpochCustodian_SubmitPartial() public {
        _dealTwoOfThree();
        _finalizeAtThreshold();
        _rotate("pk2");
        vm.prank(admin);
        registry.grantKey(fed, KeyKind.PaillierPrivateKey, keyHolder, "QmPk2", keccak256("pk2 blob"));
        uint64 round = _postedRound();
        // c1 still holds its share of epoch 1 only.
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryWrongKeyEpoch.selector, fed, c1, uint32(1), uint32(2)));
        _submitPartial(c1, round);
    }

    function test_RevertGiven_OldEpochCustodianRegrantedButNotDealt_SubmitPartial() public {
        _dealTwoOfThree();
        _finalizeAtThreshold();
        _rotate("pk2");
        // Epoch 2: c1 holds the new epoch's key, but only c2 and c4 are its custodians.
        _grantShare(c1);
        _deal(1, _pair(c2, c4));
        uint64 round = _postedRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryNotCustodian.selector, fed, uint32(2), c1));
        _submitPartial(c1, round);
    }

    function test_RevertGiven_OldEpochCustodianInUndealtNewEpoch_SubmitPartial() public {
        _dealTwoOfThree();
        _finalizeAtThreshold();
        _rotate("pk2");
        _grantShare(c1);
        uint64 round = _postedRound();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryNotCustodian.selector, fed, uint32(2), c1));
        _submitPartial(c1, round);
    }

    // ------------------------------------------------------------------ finalizeRound under a threshold

    function test_RevertGiven_TooFewPartials_Finalize() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _expectTooFew(round, 0, 2);
        _finalizeBy(c1, round);
        _submitPartial(c1, round);
        _expectTooFew(round, 1, 2);
        _finalizeBy(c1, round);
    }

    function test_RevertGiven_TooFewPartials_FinalizeByAdmin() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c3, round);
        _expectTooFew(round, 1, 2);
        _finalizeBy(admin, round);
    }

    function test_RevertGiven_TooFewPartials_FinalizeByKeyHolderNotCustodian() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c3, round);
        _expectTooFew(round, 1, 2);
        _finalizeBy(keyHolder, round);
    }

    function test_RevertWhen_DuplicatePartialDoesNotCountTowardsThreshold() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryDuplicatePartial.selector, fed, round, c1));
        _submitPartial(c1, round);
        _expectTooFew(round, 1, 2);
        _finalizeBy(c1, round);
    }

    function test_FinalizeAtThresholdByCustodian() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        uint64 aggregateId = registry.getRound(fed, round).aggregateArtifact;
        _submitPartial(c1, round);
        _submitPartial(c3, round);
        assertEq(custody.checkFinalizable(fed, 1, round), 2, "finalizable, threshold 2");
        uint64 modelId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundFinalized(fed, round, 1, c3, 0, modelId, modelId + 1, _dp());
        uint64 version = _finalizeBy(c3, round);
        assertEq(version, 1, "first version");
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Finalized, "finalized");
        assertEq(
            registry.artifactDigest(modelId),
            ArtifactDigest.compute(ArtifactKind.GlobalModel, fed, round, c3, CID, keccak256("model"), 1234, _one(aggregateId)),
            "model's parent is the aggregate"
        );
    }

    function test_FinalizeAtThresholdByCustodianWhoDidNotSubmit() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c3, round);
        assertEq(_finalizeBy(c2, round), 1, "any key holder of the epoch combines the partials");
    }

    function test_FinalizeAtThresholdByAdmin() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c2, round);
        _submitPartial(c3, round);
        assertTrue(!registry.isKeyHolder(fed, admin), "the admin holds no key");
        uint64 modelId = registry.artifactCount() + 1;
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundFinalized(fed, round, 1, admin, 0, modelId, modelId + 1, _dp());
        assertEq(_finalizeBy(admin, round), 1, "the admin finalizes under custody");
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Finalized, "finalized");
    }

    function test_FinalizeAtThresholdByKeyHolderNotCustodian() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c2, round);
        assertEq(_finalizeBy(keyHolder, round), 1, "a key holder of the epoch may finalize");
    }

    function test_FinalizeAboveThreshold() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c2, round);
        _submitPartial(c3, round);
        assertEq(_finalizeBy(c2, round), 1, "finalized with all partials");
    }

    function test_RevertWhen_FinalizeAtThresholdByStranger() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c2, round);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), stranger)
        );
        _finalizeBy(stranger, round);
    }

    function test_RevertWhen_FinalizeAtThresholdByAggregator() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c2, round);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), aggregator
            )
        );
        _finalizeBy(aggregator, round);
    }

    function test_RevertWhen_FinalizeAtThresholdByAdminOfAnotherFederation() public {
        vm.prank(operator);
        registry.createFederation(stranger, 1, CodecKeyPolicy.PerDataOwner);
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c2, round);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), stranger)
        );
        _finalizeBy(stranger, round);
    }

    function test_RevertGiven_EpochRevoked_FinalizeAtThresholdByAdmin() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c2, round);
        _revokeShare(c3);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryKeyEpochRevoked.selector, fed, uint32(1)));
        _finalizeBy(admin, round);
    }

    function test_RevertGiven_EpochRevoked_FinalizeAtThresholdByCustodian() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c2, round);
        _revokeShare(c3);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryKeyEpochRevoked.selector, fed, uint32(1)));
        _finalizeBy(c1, round);
    }

    function test_RevertGiven_Disputed_FinalizeByAdmin() public {
        _dealTwoOfThree();
        uint64 round = _postedRound();
        _submitPartial(c1, round);
        _submitPartial(c2, round);
        vm.prank(c3);
        registry.disputeAggregate(fed, round, keccak256("agg"), DisputeReason.DecryptionRefused, "");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistryAggregateDisputed.selector, fed, round));
        _finalizeBy(admin, round);
    }

    function test_PartialsArePerRound() public {
        _dealTwoOfThree();
        uint64 first = _finalizeAtThreshold();
        uint64 round = _postedRound();
        assertEq(custody.partialCount(fed, first), 2, "first round's partials kept");
        assertEq(custody.partialCount(fed, round), 0, "the next round starts from none");
        _submitPartial(c1, round);
        _expectTooFew(round, 1, 2);
        _finalizeBy(c1, round);
    }

    // ------------------------------------------------------------------ single key holder (regression)

    function test_SingleKeyHolderFinalizesWithoutPartials() public {
        uint64 round = _postedRound();
        assertEq(custody.checkFinalizable(fed, 1, round), 0, "no threshold");
        assertEq(_finalizeBy(keyHolder, round), 1, "finalized as before");
        assertEq(custody.partialCount(fed, round), 0, "no partials");
    }

    function test_RevertWhen_AdminFinalizesSingleKeyHolderEpoch() public {
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), admin)
        );
        _finalizeBy(admin, round);
    }

    function test_RevertWhen_StrangerFinalizesSingleKeyHolderEpoch() public {
        uint64 round = _postedRound();
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistryKeyNotGranted.selector, fed, KeyKind.PaillierPrivateKey, address(0), stranger)
        );
        _finalizeBy(stranger, round);
    }

    function test_CustodyOfOneFederationLeavesAnotherAlone() public {
        vm.prank(operator);
        uint64 other = registry.createFederation(admin, 1, CodecKeyPolicy.PerDataOwner);
        vm.prank(admin);
        registry.startKeyEpoch(other, _artifact("pk other"), ENCODING);
        _dealTwoOfThree();
        assertEq(custody.getCustody(other, 1).threshold, 0, "other federation's epoch 1 untouched");
        assertEq(custody.custodianIndex(other, 1, c1), 0, "no index there");
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev A permutation of 0..n-1 drawn from `seed` (Fisher-Yates).
    function _permutation(uint256 n, uint256 seed) internal pure returns (uint256[] memory p) {
        p = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) p[i] = i;
        for (uint256 i = n; i > 1; --i) {
            uint256 j = uint256(keccak256(abi.encode(seed, i))) % i;
            (p[i - 1], p[j]) = (p[j], p[i - 1]);
        }
    }

    /// @dev Up to 64 grants and 64 partials a run (~10 s for the default 1,000 runs): the CI profile's 10,000
    /// would add minutes for little more coverage of a 64 x 64 space.
    /// forge-config: ci.fuzz.runs = 1000
    function testFuzz_ThresholdNeedsExactlyTDistinctPartials(uint8 nSeed, uint8 tSeed, uint256 orderSeed, uint256 pickSeed)
        public
    {
        uint256 n = bound(nSeed, 1, 64);
        uint8 t = uint8(bound(tSeed, 1, n));
        // Custodians in a random order: custodian i is custodians[i - 1], whatever its address.
        uint256[] memory order = _permutation(n, orderSeed);
        address[] memory custodians = new address[](n);
        for (uint256 i = 0; i < n; ++i) custodians[i] = vm.addr(0x5000 + order[i]);
        _deal(t, custodians);
        EpochCustody memory e = custody.getCustody(fed, 1);
        assertEq(e.threshold, t, "threshold");
        assertEq(e.custodianCount, n, "count");
        for (uint256 i = 0; i < n; ++i) {
            assertEq(custody.custodianIndex(fed, 1, custodians[i]), i + 1, "index is position + 1");
        }

        uint64 round = _postedRound();
        // t distinct custodians, in a random order, submit; the threshold is not reached before the last one.
        uint256[] memory picks = _permutation(n, pickSeed);
        uint64 expectedSet = 0;
        for (uint8 k = 0; k < t; ++k) {
            address who = custodians[picks[k]];
            uint8 index = uint8(picks[k] + 1);
            _expectTooFew(round, k, t);
            _finalizeBy(who, round);
            uint64 expectedId = registry.artifactCount() + 1;
            vm.expectEmit(true, true, true, true, address(registry));
            emit PartialDecryptionSubmitted(fed, round, who, index, expectedId);
            _submitPartial(who, round);
            expectedSet |= uint64(1) << (index - 1);
            assertEq(custody.partialCustodians(fed, round), expectedSet, "bit of the custodian's index");
            assertEq(custody.partialCount(fed, round), k + 1, "count");
            if (k + 1 < t) {
                // A second partial from the same custodian is refused and does not count.
                vm.expectRevert(abi.encodeWithSelector(ModelRegistryDuplicatePartial.selector, fed, round, who));
                _submitPartial(who, round);
            }
        }
        assertEq(custody.checkFinalizable(fed, 1, round), t, "finalizable at t");
        // Any custodian may combine, also one who did not submit (when there is one).
        address finalizer = custodians[picks[n - 1]];
        assertEq(_finalizeBy(finalizer, round), 1, "finalized at exactly t partials");
        assertTrue(registry.getRound(fed, round).status == RoundStatus.Finalized, "finalized");
    }

    /// @dev The admin path has the same threshold: t - 1 partials refuse it, t let it finalize.
    function testFuzz_AdminNeedsThresholdToo(uint8 nSeed, uint8 tSeed) public {
        uint256 n = bound(nSeed, 1, 8);
        uint8 t = uint8(bound(tSeed, 1, n));
        address[] memory custodians = new address[](n);
        for (uint256 i = 0; i < n; ++i) custodians[i] = vm.addr(0x6000 + i);
        _deal(t, custodians);
        uint64 round = _postedRound();
        for (uint256 k = 0; k + 1 < t; ++k) _submitPartial(custodians[n - 1 - k], round);
        _expectTooFew(round, t - 1, t);
        _finalizeBy(admin, round);
        _submitPartial(custodians[n - t], round);
        assertEq(_finalizeBy(admin, round), 1, "admin finalizes at t");
    }
}
