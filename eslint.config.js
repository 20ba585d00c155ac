// Lint: typescript-eslint with type information (projectService: each file is checked with the
// tsconfig that owns it — tsconfig.json for server/workers/tests/tools, client/tsconfig.json for the
// Svelte client) and eslint-plugin-svelte for components. Run by `npm test` (and `npm run lint`).
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '.build/**', 'node_modules/**', '.data/**', 'test-results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  ...svelte.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.svelte'],
      },
    },
  },
  {
    files: ['client/**/*.{ts,svelte}', 'client/**/*.svelte.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
    rules: {
      // It flags every local Set / Map / Date, including throw-away ones used to compute or format a value
      // (`new Date(iso).toLocaleString()`); reactive state lives in `$state` fields of the state classes.
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
  {
    // Migrations are frozen in time and typed `Kysely<any>` on purpose (they must not follow today's schema).
    files: ['migrations/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tests read JSON answers (`res.json()` is `any`) field by field; the no-unsafe family would only add
    // casts there. Everything else (floating promises, unused code, misused promises) still applies.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `res.json() as T` reads better than `res.json<T>()` in a test
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Kysely's expression builder is destructured by design: `({ not, exists }) => not(exists(…))`
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    rules: {
      // Fastify plugins, hooks and handlers are async by contract (a sync one must take a `done` callback
      // instead), as are the mocks that stand in for async functions: an async function without await is
      // normal here, and a floating or misused promise is caught by the rules that matter.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks a deliberately unused binding (destructuring away a field, a required parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    ...tseslint.configs.disableTypeChecked,
  },
);
