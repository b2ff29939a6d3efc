import { describe, expect, it } from 'vitest';
import { ignoresFirstArgument } from './first-argument.ts';

// Functions as esbuild writes a step's (and as users write them): their text is what is read.
/* eslint-disable @typescript-eslint/no-unused-vars */
describe('engine - a function that cannot read its first argument', () => {
  it('engine - one that never names its first parameter cannot read it', () => {
    function countBid(bid: unknown, ctx: { n: number }): void {
      ctx.n++;
    }
    expect(ignoresFirstArgument(countBid)).toBe(true);
    expect(ignoresFirstArgument((_r: unknown, ctx: { n: number }) => ctx.n)).toBe(true);
    expect(ignoresFirstArgument(async function (bidder: unknown) {})).toBe(true);
    // A longer name that starts with the parameter's is another name.
    expect(ignoresFirstArgument((bid: unknown, ctx: { bidder: number }) => ctx.bidder)).toBe(true);
  });

  it('engine - a mention anywhere, arguments, eval, an escaped name or a parameter it cannot take apart may read it', () => {
    expect(ignoresFirstArgument((bid: { n: number }) => bid.n)).toBe(false);
    expect(ignoresFirstArgument((bid: unknown, ctx: { n: unknown } = { n: bid }) => ctx.n)).toBe(false);
    // eslint-disable-next-line prefer-rest-params
    expect(ignoresFirstArgument(function (bid: unknown) { return arguments[0]; })).toBe(false);
    expect(ignoresFirstArgument(new Function('bid', 'return eval("b" + "id")') as (bid: unknown) => unknown)).toBe(false);
    expect(ignoresFirstArgument(new Function('bid', 'return \\u0062id') as (bid: unknown) => unknown)).toBe(false);
    // In a string or a comment too: it does not read it, but this does not tell.
    expect(ignoresFirstArgument(new Function('bid', '/* bid */ return 1') as (bid: unknown) => unknown)).toBe(false);
    expect(ignoresFirstArgument(({ n }: { n: number }) => n)).toBe(false);
    expect(ignoresFirstArgument((...all: unknown[]) => all.length)).toBe(false);
    expect(ignoresFirstArgument(((a: unknown) => a).bind(null))).toBe(false);
    expect(ignoresFirstArgument(() => 1)).toBe(false);
  });
});
