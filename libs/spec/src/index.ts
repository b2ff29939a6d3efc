/**
 * @ssdk/spec — reads a services file (any of its three shapes) into one typed model.
 *
 * The seed schematic (`operations`), the Stateful Services preview (apiVersion 0.1–0.3) and
 * Stateful DataFlow (`dataflow.yaml`, 0.4–0.6) all become one `Dataflow`; every problem of the
 * file comes back at once as a `Diagnostic` with its `file:line:col`, a stable code and a hint.
 *
 * @example
 * ```ts
 * import { formatDiagnostic, loadServicesFile } from '@ssdk/spec';
 *
 * const { dataflow, diagnostics } = await loadServicesFile('examples/word-count/services.yaml');
 * for (const d of diagnostics) console.error(formatDiagnostic(d));
 * // examples/word-count/services.yaml:12:5: error: unknown key `sourcse` in service `word-counter`
 * //   hint: did you mean `sources`?
 * if (!diagnostics.some((d) => d.severity === 'error')) {
 *   console.log(Object.keys(dataflow.services));
 * }
 * ```
 */
export * from './model.ts';
export { parseServicesFile, parseOrThrow, SUPPORTED_API_VERSIONS, parsePackageFile, looksLikePackageFile, PACKAGE_API_VERSIONS, type PackageParseResult } from './parse.ts';
export { loadPackageFile, PACKAGE_FILE } from './packages.ts';
export { packageId } from './dialects/package.ts';
export { loadServicesFile } from './load.ts';
export { formatDiagnostic, hasErrors, SpecError } from './diagnostics.ts';
export { parseDuration } from './durations.ts';
export { camelCase, kebabCase, pascalCase, snakeCase } from './names.ts';
export { closest, editDistance } from './suggest.ts';
export { typeToString } from './type-format.ts';
export { allSteps } from './steps-walk.ts';
export * from './connectors/model.ts';
export { parseConnectorFile, readConnectorBody, CONNECTOR_API_VERSIONS, type ConnectorParseResult } from './connectors/parse.ts';
export { loadConnectorFile, looksLikeConnectorFile } from './connectors/load.ts';
export { SECRET_NAME, secretNames, describeSecretText } from './connectors/secret-text.ts';
export { parseCron, type CronSchedule } from './cron.ts';
export { inlineConnectors } from './connectors/inline.ts';
