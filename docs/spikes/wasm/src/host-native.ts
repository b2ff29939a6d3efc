// Native (trusted, in V8) mode: the host installs its functions on globalThis before calling.
export function hostLog(level: number, msg: string) { (globalThis as any).__ssdkHost.log(level, msg); }
export function hostLookup(state: string, key: Uint8Array) { return (globalThis as any).__ssdkHost.lookup(state, key); }
