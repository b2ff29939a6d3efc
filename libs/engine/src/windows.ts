/**
 * Window assignment over event time. Pure: which windows a timestamp belongs to, when a window
 * is closed, and whether a record is late. Windows are half-open, `[start, end)`, epoch ms.
 */

export interface WindowBounds {
  start: number;
  end: number;
}

export type WindowAssigner =
  | { kind: 'tumbling'; durationMs: number; offsetMs: number }
  | { kind: 'sliding'; durationMs: number; slideMs: number };

/** The windows containing `t`, in start order. Tumbling: exactly one. Sliding: ceil(duration / slide) or fewer. */
export function windowsOf(t: number, w: WindowAssigner): WindowBounds[] {
  switch (w.kind) {
    case 'tumbling': {
      const offset = mod(w.offsetMs, w.durationMs);
      const start = offset + Math.floor((t - offset) / w.durationMs) * w.durationMs;
      return [{ start, end: start + w.durationMs }];
    }
    case 'sliding': {
      // Windows start at every multiple of `slide`; t is in [start, start + duration).
      const last = Math.floor(t / w.slideMs) * w.slideMs;
      const out: WindowBounds[] = [];
      for (let start = last - Math.ceil(w.durationMs / w.slideMs - 1) * w.slideMs; start <= last; start += w.slideMs) {
        if (t < start + w.durationMs) out.push({ start, end: start + w.durationMs });
      }
      return out;
    }
    default: {
      const never: never = w;
      return never;
    }
  }
}

/** A window is closed once the watermark has reached its end: no record of it can still be on time. */
export function isWindowClosed(window: WindowBounds, watermark: number): boolean {
  return watermark >= window.end;
}

/**
 * A record is late when every window it belongs to is already closed. (With sliding windows
 * a record may still count for its newest windows: then it is not late, and the closed
 * windows simply do not see it.)
 */
export function isLate(t: number, watermark: number, w: WindowAssigner): boolean {
  return windowsOf(t, w).every((win) => isWindowClosed(win, watermark));
}

/** The windows of `t` that are still open at `watermark`. */
export function openWindowsOf(t: number, watermark: number, w: WindowAssigner): WindowBounds[] {
  return windowsOf(t, w).filter((win) => !isWindowClosed(win, watermark));
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
