// ESLint flat config: typescript-eslint's `recommended` set (syntactic only, no type information,
// so it stays fast) on the TypeScript sources, plus no-console in core/ (the library never prints:
// it returns values or throws StrataError; cli/ does the printing). Rules the code breaks on purpose
// are turned off here, each with its reason, rather than by disable comments in the code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'web/dist/**', 'test-artifacts/**', '.bench/**', '**/*.js', '**/*.mjs'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed names mark a parameter or binding that is deliberately unused.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // The strict parsers (config values, remote URLs, names) reject control characters by matching them.
      'no-control-regex': 'off',
      // `let x = fallback; try { x = f() } catch { x = fallback }` states the fallback on both paths on purpose.
      'no-useless-assignment': 'off',
      // A returned object of closures refers to its owner as `self` (core/workspace/safe-fs.ts).
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests match the CLI's column-aligned output literally, runs of spaces included.
      'no-regex-spaces': 'off',
      // Tests read untyped JSON answers and browser globals (window.__strataCy).
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
);
