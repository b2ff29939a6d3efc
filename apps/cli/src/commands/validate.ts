import { readFile } from 'node:fs/promises';
import { loadConnectorFile, loadPackageFile, looksLikeConnectorFile, looksLikePackageFile, packageId } from '@ssdk/spec';
import type { CommandSpec, ParsedCommand } from '../args.ts';
import { checkFunctionCode } from '@ssdk/functions';
import { checkServicesFile } from '@ssdk/plan';
import { countBySeverity, plural, printDiagnostics, printErrorSummary } from '../diagnostics.ts';
import { EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import { paint, type CliIo } from '../io.ts';

export const validateSpec: CommandSpec = {
  name: 'validate',
  summary: 'Check services files (structure, types along every chain, topics, states and windows) and connector files.',
  usage: 'ssdk validate FILE...',
  options: {
    quiet: { type: 'boolean', short: 'q', description: 'print nothing when a file is valid' },
  },
  minPositionals: 1,
  examples: [
    'ssdk validate examples/word-count/services.yaml',
    'ssdk validate examples/*/services.yaml',
    'ssdk validate dataflow.yaml || echo "fix the errors above"',
    'ssdk validate connectors/mqtt-sensors.yaml',
  ],
};

/**
 * Every file is checked even when an earlier one fails, and every problem of a file is
 * printed; the exit code is 2 when any file has an error.
 */
export async function runValidate(cmd: ParsedCommand, io: CliIo): Promise<number> {
  let failed = 0;
  for (const file of cmd.positionals) {
    if (await isConnectorFile(file)) {
      if (!(await validateConnector(file, cmd, io))) failed++;
      continue;
    }
    if (await isPackageFile(file)) {
      if (!(await validatePackage(file, cmd, io))) failed++;
      continue;
    }
    const { dataflow, diagnostics, codeWaiting, codeCut } = await checkServicesFile(file, { checkCode: checkFunctionCode });
    printDiagnostics(io, diagnostics);
    const { errors, warnings } = countBySeverity(diagnostics);
    if (errors > 0) {
      failed++;
      printErrorSummary(io, file, diagnostics, { codeWaiting, codeCut });
      continue;
    }
    if (cmd.values['quiet']) continue;
    const services = Object.values(dataflow.services);
    const steps = services.reduce((n, s) => n + countSteps(s), 0);
    const states = services.reduce((n, s) => n + s.states.filter((st) => st.kind === 'owned').length, 0);
    const { meta } = dataflow;
    io.out(
      `${file}: ${paint(io, 'green', 'valid')} — ${meta.namespace}/${meta.name}@${meta.version} ` +
        `(${dialectName(dataflow.dialect)} ${dataflow.apiVersion}): ${plural(services.length, 'service')}, ` +
        `${plural(steps, 'step')}, ${plural(Object.keys(dataflow.topics).length, 'topic')}, ${plural(states, 'state')}` +
        `${warnings ? `, ${plural(warnings, 'warning')}` : ''}\n`,
    );
  }
  return failed > 0 ? EXIT_USER_ERROR : EXIT_OK;
}

/** Connector files (Fluvio's `connector.yaml`) are told apart by their `meta.type`. */
async function isConnectorFile(file: string): Promise<boolean> {
  try {
    return looksLikeConnectorFile(await readFile(file, 'utf8'));
  } catch {
    return false;
  }
}

/** Packages (`sdf-package.yaml`) have functions, types or states and no services. */
async function isPackageFile(file: string): Promise<boolean> {
  try {
    return looksLikePackageFile(await readFile(file, 'utf8'));
  } catch {
    return false;
  }
}

async function validatePackage(file: string, cmd: ParsedCommand, io: CliIo): Promise<boolean> {
  const { pkg, diagnostics } = await loadPackageFile(file);
  printDiagnostics(io, diagnostics);
  const { errors, warnings } = countBySeverity(diagnostics);
  const tail = warnings ? `, ${plural(warnings, 'warning')}` : '';
  if (errors > 0) {
    io.err(`${file}: ${paint(io, 'red', plural(errors, 'error'))}${tail}\n`);
    return false;
  }
  if (!cmd.values['quiet']) {
    const count = (o: object, what: string) => plural(Object.keys(o).length, what);
    io.out(
      `${file}: ${paint(io, 'green', 'valid')} — package ${packageId(pkg)} (apiVersion ${pkg.apiVersion}): ` +
        `${count(pkg.functions, 'function')}, ${count(pkg.types, 'type')}, ${count(pkg.states, 'state')}${tail}\n`,
    );
  }
  return true;
}

async function validateConnector(file: string, cmd: ParsedCommand, io: CliIo): Promise<boolean> {
  const { connector, diagnostics } = await loadConnectorFile(file);
  printDiagnostics(io, diagnostics);
  const { errors, warnings } = countBySeverity(diagnostics);
  if (errors > 0 || connector === undefined) {
    io.err(`${file}: ${paint(io, 'red', plural(Math.max(errors, 1), 'error'))}${warnings ? `, ${plural(warnings, 'warning')}` : ''}\n`);
    return false;
  }
  if (!cmd.values['quiet']) {
    const direction = connector.type.endsWith('-source') ? `into topic \`${connector.topic}\`` : `from topic \`${connector.topic}\``;
    io.out(`${file}: ${paint(io, 'green', 'valid')} — connector ${connector.name} (${connector.type}, apiVersion ${connector.apiVersion}) ${direction}${warnings ? `, ${plural(warnings, 'warning')}` : ''}\n`);
  }
  return true;
}

function dialectName(d: string): string {
  return d === 'seed' ? 'seed schematic' : d === 'preview' ? 'Stateful Services preview' : 'Stateful DataFlow';
}

type Service = Awaited<ReturnType<typeof checkServicesFile>>['dataflow']['services'][string];
function countSteps(s: Service): number {
  const partition = (p: Service['partition']) => (p ? (p.assignKey ? 1 : 0) + p.transforms.length + (p.updateState ? 1 : 0) : 0);
  const w = s.window;
  const windowSteps = w ? (w.assignTimestamp ? 1 : 0) + w.transforms.length + partition(w.partition) + (w.flush ? 1 : 0) : 0;
  return (
    s.sources.reduce((n, src) => n + src.transforms.length, 0) +
    s.transforms.length +
    partition(s.partition) +
    windowSteps +
    s.sinks.reduce((n, sink) => n + sink.transforms.length, 0)
  );
}
