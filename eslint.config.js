import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'var/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits loses its failure: await it, or `void` one that cannot reject
      // (it catches and logs inside, or has a `.catch` that logs).
      '@typescript-eslint/no-floating-promises': 'error',
      // A promise where a callback's result is ignored (an event handler, a timer) is the same loss.
      '@typescript-eslint/no-misused-promises': 'error',
      // Awaiting what is not a promise, or throwing or rejecting with what is not an Error, hides a mistake.
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error'] }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Command-line entry points print their one JSON report to stdout by design.
    files: ['simulators/**/main.ts', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
);
