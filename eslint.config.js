// Lint for the whole repo. The important rule is @nx/enforce-module-boundaries: the
// dependency direction of docs/architecture.md (spec -> plan -> engine/wit -> wasm-host ->
// runtime -> control-plane -> apps; bus/state/telemetry are leaves) is checked here, so a wrong-way import
// fails lint rather than review.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.ssdk/**', '**/.nx/**', '**/fixtures/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@nx/enforce-module-boundaries': ['error', boundaries()],
    },
  },
  {
    // Scripts drive the CLI in-process (golden files, fixtures); nothing imports a script.
    files: ['tools/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', boundaries(['@ssdk/cli'])] },
  },
];


/** The dependency rules (tags in each project.json); `allow` lists imports a block may add. */
function boundaries(allow = []) {
  return {
    enforceBuildableLibDependency: false,
    allow,
    depConstraints: [
      { sourceTag: 'scope:domain', onlyDependOnLibsWithTags: ['scope:domain'] },
      { sourceTag: 'scope:adapter', onlyDependOnLibsWithTags: ['scope:domain', 'scope:adapter'] },
      { sourceTag: 'scope:runtime', onlyDependOnLibsWithTags: ['scope:domain', 'scope:adapter', 'scope:runtime'] },
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
      { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:app'] },
      { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
      // The stack's settings (libs/settings) depend on nothing; any lib may read its rules.
      { sourceTag: 'layer:settings', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'layer:spec', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'layer:plan', onlyDependOnLibsWithTags: ['layer:spec', 'layer:settings'] },
      { sourceTag: 'layer:records', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'layer:nexmark', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'layer:bus', onlyDependOnLibsWithTags: ['layer:records', 'layer:testing', 'layer:settings'] },
      { sourceTag: 'layer:wit', onlyDependOnLibsWithTags: ['layer:spec', 'layer:plan'] },
      { sourceTag: 'layer:wasm-host', onlyDependOnLibsWithTags: ['layer:spec', 'layer:plan', 'layer:records', 'layer:engine', 'layer:functions', 'layer:wit'] },
      { sourceTag: 'layer:functions', onlyDependOnLibsWithTags: ['layer:spec', 'layer:plan', 'layer:records', 'layer:wit'] },
      { sourceTag: 'layer:state', onlyDependOnLibsWithTags: ['layer:records', 'layer:testing', 'layer:settings'] },
      { sourceTag: 'layer:testing', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'layer:telemetry', onlyDependOnLibsWithTags: [] },
      {
        sourceTag: 'layer:runtime',
        onlyDependOnLibsWithTags: ['layer:spec', 'layer:plan', 'layer:records', 'layer:engine', 'layer:bus', 'layer:state', 'layer:functions', 'layer:wit', 'layer:wasm-host', 'layer:testing', 'layer:telemetry', 'layer:settings'],
      },
      {
        sourceTag: 'layer:control-plane',
        onlyDependOnLibsWithTags: ['layer:spec', 'layer:plan', 'layer:records', 'layer:bus', 'layer:state', 'layer:functions', 'layer:wasm-host', 'layer:runtime', 'layer:testing', 'layer:settings'],
      },
      { sourceTag: 'layer:connectors', onlyDependOnLibsWithTags: ['layer:spec', 'layer:records', 'layer:nexmark', 'layer:bus', 'layer:state', 'layer:testing', 'layer:telemetry'] },
      { sourceTag: 'layer:engine', onlyDependOnLibsWithTags: ['layer:spec', 'layer:plan', 'layer:records'] },
    ],
  };
}
