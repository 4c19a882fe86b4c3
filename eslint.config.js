import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "build/",
      "artifacts/",
      "cache/",
      "types/",
      "coverage/",
      "contracts/generated/",
      "ignition/deployments/",
      "dist/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // Library code never prints: the CLI owns output.
    files: ["trace/**", "attest/**", "worker/**", "prover/**", "verifier/**", "chain/**", "setup/**"],
    rules: { "no-console": "error" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: globals.node },
  },
  {
    // The dashboard's page script runs in the browser.
    files: ["dashboard/static/**/*.js"],
    languageOptions: { globals: globals.browser },
  },
);
