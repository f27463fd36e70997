// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IModelRegistry} from "../../contracts/IModelRegistry.sol";
import {ModelRegistry} from "../../contracts/ModelRegistry.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";

/**
 * @dev Gas budgets per action, measured as a transaction would pay them: 21,000 intrinsic + calldata
 * (EIP-2028 prices) + execution with cold storage. The Python integration tests check the same budgets
 * against real receipts on Anvil.
 */
contract GasBudgetTest is RegistryFixture, IModelRegistry {
    uint256 internal constant UPDATE_BUDGET = 80_000;
    uint256 internal constant GRANT_BUDGET = 80_000;
    uint256 internal constant FINALIZE_BUDGET = 150_000;
    /// @dev A CIDv0 as real artifacts have, so calldata and event sizes are realistic.
    string internal constant REAL_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";

    function _txGas(address from, bytes memory callData) internal returns (uint256) {
        uint256 calldataGas;
        for (uint256 i = 0; i < callData.length; ++i) calldataGas += callData[i] == 0 ? 4 : 16;
        // Cold storage as in a fresh transaction; the called account itself is warm in a real transaction.
        vm.cool(address(registry));
        require(address(registry).code.length != 0, "registry deployed");
        vm.prank(from);
        uint256 before = gasleft();
        (bool ok, bytes memory err) = address(registry).call(callData);
        uint256 execution = before - gasleft();
        if (!ok) {
            assembly {
                revert(add(err, 32), mload(err))
            }
        }
        return 21_000 + calldataGas + execution;
    }

    function _real(string memory tag) internal pure returns (ArtifactInput memory) {
        return ArtifactInput(REAL_CID, keccak256(bytes(tag)), 5_000_000);
    }

    function test_GasSubmitUpdateWithinBudget() public {
        uint64 round = _openRound();
        _submit(round, analyst2, "first");
        uint64[] memory parents = new uint64[](1);
        parents[0] = 1;
        uint256 used = _txGas(
            analyst, abi.encodeCall(ModelRegistry.submitUpdate, (fed, round, _real("update"), parents))
        );
        emit log_named_uint("submitUpdate gas", used);
        assertLe(used, UPDATE_BUDGET, "submitUpdate gas");
    }

    function test_GasGrantKeyWithinBudget() public {
        uint256 used = _txGas(
            owner,
            abi.encodeCall(ModelRegistry.grantKey, (fed, KeyKind.CodecKey, analyst, REAL_CID, keccak256("wrapped")))
        );
        emit log_named_uint("grantKey gas", used);
        assertLe(used, GRANT_BUDGET, "grantKey gas");
    }

    function test_GasGrantFederationRoleWithinBudget() public {
        bytes32 role = registry.ANALYST_ROLE();
        uint256 used = _txGas(admin, abi.encodeCall(ModelRegistry.grantFederationRole, (fed, role, stranger)));
        emit log_named_uint("grantFederationRole gas", used);
        assertLe(used, GRANT_BUDGET, "grantFederationRole gas");
    }

    function test_GasFinalizeRoundWithinBudget() public {
        _finalize(_postedRound(), 0);
        uint64 round = _postedRound();
        uint256 used = _txGas(
            keyHolder,
            abi.encodeCall(
                ModelRegistry.finalizeRound, (fed, round, 1, _real("model"), _real("metrics"), _dp())
            )
        );
        emit log_named_uint("finalizeRound gas", used);
        assertLe(used, FINALIZE_BUDGET, "finalizeRound gas");
    }
}
