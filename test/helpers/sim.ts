import net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_API_KEY, startSimulator, type Simulator, type SimulatorOptions } from '../../sim/index.js';
import type { FakeClock } from './harness.js';

export { DEFAULT_API_KEY as SIM_API_KEY };
export type { Simulator };

export const V3_PATHS = {
  ping: '/pbxcore/api/v3/system:ping',
  extensions: '/pbxcore/api/v3/sip:getStatuses',
  providers: '/pbxcore/api/v3/sip-providers:getStatuses',
  channels: '/pbxcore/api/v3/pbx-status:getActiveChannels',
};

/** The built-in simulator on the test's clock, without its own life (the test drives time). */
export function startSim(clock: FakeClock, opts: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ now: clock.now, living: false, ...opts });
}

/** Terminates TLS in front of a plain-HTTP simulator, as nginx does on a real PBX. */
export async function tlsFront(targetPort: number, cert: string, key: string): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert, key }, (client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const done = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
