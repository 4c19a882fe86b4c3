// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ComputeCredit
/// @notice An example payment token: 1 credit (1e18 units) buys one H100-equivalent hour at a
/// job price of 1e18. Any plain ERC-20 works with the escrow; this one exists for tests and demos.
contract ComputeCredit is ERC20, AccessControl {
    /// @notice Role that may mint credits.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @param admin Gets the admin and minter roles.
    constructor(address admin) ERC20("Compute Credit", "CCR") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
    }

    /// @notice Mints `amount` credits to `to`. Minter role only.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}
