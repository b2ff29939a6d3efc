/**
 * Waits until `ok()` holds, asking every 50 ms; after `timeoutMs` it fails with what it waited
 * for and `detail()` (e.g. the last lines of the processes involved: a timeout alone does not
 * tell a hang from a crash). Generous by default: a busy 2-core box starts processes slowly.
 */
export async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 60_000, detail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error([`timed out waiting for ${what}`, ...(detail ? [detail()] : [])].join('\n'));
    await new Promise((r) => setTimeout(r, 50));
  }
}
