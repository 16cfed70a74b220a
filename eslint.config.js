// Lint with type-aware rules: floating and misused promises are the bugs
// that matter most in a server full of sockets and timers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { boundaries } from './eslint.boundaries.js';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tap/**', 'bench/results/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    ignores: ['**/vite.config.ts'],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.test.json', './protocol/tsconfig.json', './hub/tsconfig.json', './device-sim/tsconfig.json', './demo/tsconfig.json', './bench/tsconfig.json', './conformance/tsconfig.json', './engines/tsconfig.json', './dashboard/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // tap queues subtests itself: `t.test(...)` need not be awaited.
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
    },
  },
  {
    files: ['dashboard/src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  ...boundaries,
);
