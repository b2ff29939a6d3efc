/** The services file's types, as `ssdk generate` would write them (PascalCase names). */

/** `sensor-reading`: one reading as the car sends it. */
export interface SensorReading {
  car: string;
  /** When the reading was taken, epoch ms. */
  time: number;
  kph: number;
  /** Tank level, percent. */
  fuel: number;
}

/** `car-event`: a validated reading in mph, flagged when over the speed limit. */
export interface CarEvent {
  car: string;
  time: number;
  mph: number;
  fuel: number;
  speeding: boolean;
}
