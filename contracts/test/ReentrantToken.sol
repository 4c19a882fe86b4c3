// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test token that calls back into a target contract whenever the target sends it,
/// to check that the escrow's payouts cannot be re-entered.
contract ReentrantToken is ERC20 {
    address public callbackTarget;
    bytes public callbackData;

    constructor() ERC20("Reentrant Token", "REENTER") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice On every transfer out of `target_`, call it with `data` and bubble up a revert.
    function arm(address target_, bytes calldata data) external {
        callbackTarget = target_;
        callbackData = data;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && from == callbackTarget) {
            (bool ok, bytes memory reason) = callbackTarget.call(callbackData);
            if (!ok) {
                assembly {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
    }
}
