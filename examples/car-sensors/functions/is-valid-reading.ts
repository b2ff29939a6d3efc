import type { Ctx } from './ctx.js';
import type { SensorReading } from './types.js';

/** Sensors report -1 on a fault and sometimes glitch far out of range: drop those readings. */
export function isValidReading(reading: SensorReading, _ctx: Ctx): boolean {
  return (
    reading.car !== '' &&
    Number.isFinite(reading.kph) &&
    reading.kph >= 0 &&
    reading.kph <= 250 &&
    Number.isFinite(reading.fuel) &&
    reading.fuel >= 0 &&
    reading.fuel <= 100
  );
}
