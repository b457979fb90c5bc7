/**
 * A main process for the room host tests that can be killed: it starts one host with one warmed
 * room, prints the host's pid once the room is initialized, and waits.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { RoomHosts } from '../../../src/agent/room-host/hosts.js';

const hosts = new RoomHosts({
  hostFile: fileURLToPath(new URL('../../../src/agent/room-host/host-main.ts', import.meta.url)),
  agentFile: fileURLToPath(new URL('./agent.ts', import.meta.url)),
  roomsPerProcess: 2,
  roomsPerProcessLife: 2,
  logger: pino({ level: 'silent' }),
});
const channel = hosts.open();
channel.on('message', (message: { case?: string }) => {
  if (message.case === 'initializeResponse') process.stdout.write(`${channel.pid}\n`);
});
channel.send({ case: 'initializeRequest', value: { loggerOptions: { pretty: false, level: 'fatal' } } });
setInterval(() => undefined, 1000);
