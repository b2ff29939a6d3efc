/**
 * @ssdk/nexmark — the Nexmark benchmark's event stream (persons, auctions, bids in the standard
 * 1 : 3 : 46 proportions), generated deterministically: event N is a pure function of the seed
 * and N, so a source can resume from a committed event number and regenerate exactly what it
 * would have produced. Pure: no I/O.
 *
 * @example
 * import { compileNexmarkOptions, nexmarkEvents, nexmarkEventTime } from '@ssdk/nexmark';
 * const options = compileNexmarkOptions({ seed: 7, eventsPerSecond: 100 });
 * for (const event of nexmarkEvents(1000, options)) {
 *   // { person: {...} } | { auction: {...} } | { bid: {...} }, its time is nexmarkEventTime(event)
 * }
 */
export {
  compileNexmarkOptions,
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_PERSON_ID,
  NUM_CATEGORIES,
  nexmarkEvent,
  nexmarkEvents,
  nexmarkEventTime,
  nexmarkKind,
  nexmarkTimestamp,
  type Auction,
  type Bid,
  type CompiledNexmarkOptions,
  type NexmarkEvent,
  type NexmarkOptions,
  type Person,
} from './generator.ts';
