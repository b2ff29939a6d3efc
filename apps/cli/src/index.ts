/**
 * @ssdk/cli — the `ssdk` command as a function, for the bin and for scripts that drive it
 * in-process (tests, tools).
 *
 * @example
 * import { main, bufferIo } from '@ssdk/cli';
 * const io = bufferIo();
 * const code = await main(['validate', 'examples/word-count/services.yaml'], io);
 */
export { main } from './main.ts';
export { bufferIo, processIo, type CliIo } from './io.ts';
