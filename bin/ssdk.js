#!/usr/bin/env node
// The `ssdk` command. The workspace runs its TypeScript sources directly: on Node 20 through
// tsx's loader (registered here, in-process, so there is no second Node start-up); Node 22.18+
// strips types natively and the same sources run unchanged (they use only erasable syntax).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../apps/cli/src/main.ts');
process.exitCode = await main(process.argv.slice(2));
