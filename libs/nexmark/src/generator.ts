/**
 * The Nexmark event model and a deterministic generator of it.
 *
 * The model and proportions are the standard ones (the Nexmark benchmark as Beam, Flink and
 * Arroyo generate it): out of every 50 events, 1 person, 3 auctions and 46 bids; person and
 * auction ids start at 1000, categories at 10; sellers and bidders are mostly "hot" people, bids
 * mostly go to "hot" auctions; prices are log-uniform between $1 and $1,000,000 (in cents); an
 * auction expires within about twice the time it takes to open 100 more auctions.
 *
 * Unlike the reference generators, every event is a pure function of (seed, event number): its
 * random choices come from a generator seeded with both. So event N is the same whether it is
 * generated first, after a restart, or by the third of four parallel sources — which is what a
 * replayable source with committed offsets needs.
 */

/** A person registering on the auction site. */
export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  /** epoch ms */
  dateTime: number;
  extra: string;
}

/** An auction opened by a seller. */
export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  /** epoch ms */
  dateTime: number;
  /** epoch ms */
  expires: number;
  seller: number;
  category: number;
  extra: string;
}

/** A bid on an auction. */
export interface Bid {
  auction: number;
  bidder: number;
  /** cents */
  price: number;
  channel: string;
  url: string;
  /** epoch ms */
  dateTime: number;
  extra: string;
}

/** One Nexmark event, externally tagged as the services file's `enum` type writes it. */
export type NexmarkEvent = { person: Person } | { auction: Auction } | { bid: Bid };

export interface NexmarkOptions {
  /** Seed of every random choice. @default 0 */
  seed?: number;
  /** Event-time rate: events per second of event time (the first event is at `baseTime`). @default 10000 */
  eventsPerSecond?: number;
  /** Event time of event 0, epoch ms. @default 1735689600000 (2025-01-01T00:00:00Z) */
  baseTime?: number;
}

export interface CompiledNexmarkOptions {
  seed: number;
  eventsPerSecond: number;
  baseTime: number;
}

export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;

const PERSON_PROPORTION = 1;
const AUCTION_PROPORTION = 3;
const BID_PROPORTION = 46;
const TOTAL_PROPORTION = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;

const NUM_IN_FLIGHT_AUCTIONS = 100;
const NUM_ACTIVE_PEOPLE = 1000;
const HOT_AUCTION_RATIO = 2;
const HOT_SELLERS_RATIO = 4;
const HOT_BIDDERS_RATIO = 4;
const HOT_GROUP = 100;
const ID_LEAD = 10;
const AVG_PERSON_BYTES = 200;
const AVG_AUCTION_BYTES = 500;
const AVG_BID_BYTES = 100;

const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const US_CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const CHANNELS = 10_000;

export function compileNexmarkOptions(options: NexmarkOptions = {}): CompiledNexmarkOptions {
  const seed = options.seed ?? 0;
  const eventsPerSecond = options.eventsPerSecond ?? 10_000;
  const baseTime = options.baseTime ?? Date.UTC(2025, 0, 1);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`nexmark seed must be an integer, got ${seed}`);
  if (!(eventsPerSecond > 0) || !Number.isFinite(eventsPerSecond)) {
    throw new RangeError(`nexmark events per second must be a positive number, got ${eventsPerSecond}`);
  }
  if (!Number.isSafeInteger(baseTime)) throw new RangeError(`nexmark base time must be epoch ms, got ${baseTime}`);
  return { seed, eventsPerSecond, baseTime };
}

/** Event time of event `n`, epoch ms. */
export function nexmarkTimestamp(n: number, options: CompiledNexmarkOptions): number {
  return options.baseTime + Math.floor((n * 1000) / options.eventsPerSecond);
}

/** Which kind event `n` is, from the 1 : 3 : 46 proportions alone. */
export function nexmarkKind(n: number): 'person' | 'auction' | 'bid' {
  const offset = n % TOTAL_PROPORTION;
  return offset < PERSON_PROPORTION ? 'person' : offset < PERSON_PROPORTION + AUCTION_PROPORTION ? 'auction' : 'bid';
}

/** Event `n` (0-based) of the stream the options describe. */
export function nexmarkEvent(n: number, options: CompiledNexmarkOptions): NexmarkEvent {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`nexmark event number must be a non-negative integer, got ${n}`);
  const random = new Random(options.seed, n);
  const dateTime = nexmarkTimestamp(n, options);
  switch (nexmarkKind(n)) {
    case 'person':
      return { person: nextPerson(n, random, dateTime) };
    case 'auction':
      return { auction: nextAuction(n, random, dateTime, options) };
    case 'bid':
      return { bid: nextBid(n, random, dateTime) };
  }
}

/** Events `first` .. `first + count - 1`. */
export function* nexmarkEvents(count: number, options: CompiledNexmarkOptions, first = 0): Generator<NexmarkEvent> {
  for (let n = first; n < first + count; n++) yield nexmarkEvent(n, options);
}

/** The event time of an event (its `dateTime`). */
export function nexmarkEventTime(event: NexmarkEvent): number {
  return 'bid' in event ? event.bid.dateTime : 'auction' in event ? event.auction.dateTime : event.person.dateTime;
}

// --- people ----------------------------------------------------------------------------------

function lastBase0PersonId(n: number): number {
  const epoch = Math.floor(n / TOTAL_PROPORTION);
  let offset = n % TOTAL_PROPORTION;
  if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
  return epoch * PERSON_PROPORTION + offset;
}

/** A random person among the active ones, plus a few not yet registered (ids "from the future"). */
function nextBase0PersonId(n: number, random: Random): number {
  const people = lastBase0PersonId(n) + 1;
  const active = Math.min(people, NUM_ACTIVE_PEOPLE);
  return people - active + random.int(active + ID_LEAD);
}

function nextPerson(n: number, random: Random, dateTime: number): Person {
  const id = lastBase0PersonId(n) + FIRST_PERSON_ID;
  const name = `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
  const emailAddress = `${random.string(7)}@${random.string(5)}.com`;
  const creditCard = [0, 1, 2, 3].map(() => String(random.int(10_000)).padStart(4, '0')).join(' ');
  const city = random.pick(US_CITIES);
  const state = random.pick(US_STATES);
  const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
  return { id, name, emailAddress, creditCard, city, state, dateTime, extra: random.extra(size, AVG_PERSON_BYTES) };
}

// --- auctions --------------------------------------------------------------------------------

function lastBase0AuctionId(n: number): number {
  let epoch = Math.floor(n / TOTAL_PROPORTION);
  let offset = n % TOTAL_PROPORTION;
  if (offset < PERSON_PROPORTION) {
    epoch--;
    offset = AUCTION_PROPORTION - 1;
  } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) {
    offset = AUCTION_PROPORTION - 1;
  } else {
    offset -= PERSON_PROPORTION;
  }
  return epoch * AUCTION_PROPORTION + offset;
}

/** A random auction among those likely still open, plus a few not yet opened. */
function nextBase0AuctionId(n: number, random: Random): number {
  const max = lastBase0AuctionId(n);
  const min = Math.max(max - NUM_IN_FLIGHT_AUCTIONS, 0);
  return min + random.int(max - min + 1 + ID_LEAD);
}

function nextAuction(n: number, random: Random, dateTime: number, options: CompiledNexmarkOptions): Auction {
  const id = lastBase0AuctionId(n) + FIRST_AUCTION_ID;
  const seller =
    FIRST_PERSON_ID +
    (random.int(HOT_SELLERS_RATIO) > 0 ? Math.floor(lastBase0PersonId(n) / HOT_GROUP) * HOT_GROUP : nextBase0PersonId(n, random));
  const category = FIRST_CATEGORY_ID + random.int(NUM_CATEGORIES);
  const initialBid = random.price();
  // Open for about twice the time it takes to open NUM_IN_FLIGHT_AUCTIONS more auctions.
  const eventsAhead = Math.floor((NUM_IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION) / AUCTION_PROPORTION);
  const horizon = nexmarkTimestamp(n + eventsAhead, options) - dateTime;
  const expires = dateTime + 1 + random.int(Math.max(horizon * 2, 1));
  const itemName = random.string(20);
  const description = random.string(100);
  const reserve = initialBid + random.price();
  const size = 8 + itemName.length + description.length + 40;
  return { id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra: random.extra(size, AVG_AUCTION_BYTES) };
}

// --- bids ------------------------------------------------------------------------------------

function nextBid(n: number, random: Random, dateTime: number): Bid {
  const auction =
    FIRST_AUCTION_ID +
    (random.int(HOT_AUCTION_RATIO) > 0 ? Math.floor(lastBase0AuctionId(n) / HOT_GROUP) * HOT_GROUP : nextBase0AuctionId(n, random));
  // The second person of a hot group, so hot bidders and hot sellers differ.
  const bidder =
    FIRST_PERSON_ID +
    (random.int(HOT_BIDDERS_RATIO) > 0 ? Math.floor(lastBase0PersonId(n) / HOT_GROUP) * HOT_GROUP + 1 : nextBase0PersonId(n, random));
  const price = random.price();
  let channel: string;
  let url: string;
  if (random.int(2) > 0) {
    const i = random.int(HOT_CHANNELS.length);
    channel = HOT_CHANNELS[i]!;
    url = channelUrl(i);
  } else {
    const i = random.int(CHANNELS);
    channel = `channel-${i}`;
    url = channelUrl(HOT_CHANNELS.length + i);
  }
  return { auction, bidder, price, channel, url, dateTime, extra: random.extra(32, AVG_BID_BYTES) };
}

/** A fixed URL per channel (hot channels first): a pure function of the channel, like the reference's cache. */
function channelUrl(channel: number): string {
  const r = new Random(0x6e65786d, channel);
  const base = `https://www.nexmark.com/${r.string(5, '_')}/${r.string(5, '_')}/${r.string(5, '_')}/item.htm?query=1`;
  return channel >= HOT_CHANNELS.length && r.int(10) > 0 ? `${base}&channel_id=${channel - HOT_CHANNELS.length}` : base;
}

// --- randomness ------------------------------------------------------------------------------

/** 64 KiB of lowercase letters that `extra` fields are cut from (made once, seeded). */
let reusableExtra: string | undefined;
function extraSource(): string {
  if (reusableExtra === undefined) {
    const r = new Random(0x657874, 0);
    const chars: string[] = [];
    for (let i = 0; i < 65_536; i++) chars.push(String.fromCharCode(97 + r.int(26)));
    reusableExtra = chars.join('');
  }
  return reusableExtra;
}

/**
 * A small, fast PRNG (mulberry32) whose state is mixed from the seed and the event number
 * (splitmix-style), so nearby event numbers give unrelated streams.
 */
class Random {
  private state: number;

  constructor(seed: number, n: number) {
    let h = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n | 0, 0xc2b2ae35) ^ Math.floor(n / 4294967296);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    this.state = (h ^ (h >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, bound). */
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Log-uniform between 100 and 100,000,000 cents ($1 .. $1,000,000). */
  price(): number {
    return Math.round(Math.pow(10, this.next() * 6) * 100);
  }

  /** 3 .. maxLength-1 lowercase letters, about one in 13 replaced by `special`, trimmed. */
  string(maxLength: number, special = ' '): string {
    let len = 3 + this.int(maxLength - 3);
    let s = '';
    while (len-- > 0) s += this.int(13) === 0 ? special : String.fromCharCode(97 + this.int(26));
    return s.trim();
  }

  /** Padding that brings an event to about `average` bytes (±20%). */
  extra(size: number, average: number): string {
    if (size > average) return '';
    const desired = average - size;
    const delta = Math.round(desired * 0.2);
    const length = desired - delta + this.int(2 * delta);
    const source = extraSource();
    const at = this.int(source.length - length);
    return source.slice(at, at + length);
  }
}
