// Publishes examples/car-sensors/input/car-readings.jsonl over MQTT, QoS 1, one reading per
// message on `cars/<car>`: the sensor feed of examples/connectors/README.md.
// Usage: MQTT_URL=mqtt://127.0.0.1:1883 node examples/connectors/publish-readings.mjs
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';

const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const lines = readFileSync(new URL('../car-sensors/input/car-readings.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean);
const client = await mqtt.connectAsync(url, { clientId: 'car-readings-feed', clean: true });
for (const line of lines) {
  const { value } = JSON.parse(line);
  await client.publishAsync(`cars/${value.car}`, JSON.stringify(value), { qos: 1 });
}
await client.endAsync();
console.error(`published ${lines.length} readings to ${url.replace(/:[^:@/]*@/, ':***@')}`);
