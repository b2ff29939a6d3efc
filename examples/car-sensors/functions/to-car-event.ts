import type { Ctx } from './ctx.js';
import type { CarEvent, SensorReading } from './types.js';

const KPH_TO_MPH = 0.621371;

/** Converts km/h to whole mph and flags speeding (over `speeding-mph`, default 70). */
export function toCarEvent(reading: SensorReading, ctx: Ctx): CarEvent {
  const limit = Number(ctx.param('speeding-mph') ?? '70');
  const mph = Math.round(reading.kph * KPH_TO_MPH);
  return {
    car: reading.car,
    time: reading.time,
    mph,
    fuel: reading.fuel,
    speeding: mph > limit,
  };
}
