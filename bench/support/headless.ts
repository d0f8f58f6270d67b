/**
 * OVN central plus a bare local OVS DB (no ovs-vswitchd) registered as chassis hv1: enough for the
 * agent to plug ports (they stay `Plugged`, never `Bound`), and cheap enough for 10,000 of them.
 */
import {
  startOvnCentral,
  startOvsdbServer,
  VSWITCH_SCHEMA,
  type OvnCentral,
  type OvsdbServer,
} from '../../test/harness/index.js';
import { Probe } from './probe.js';

export interface HeadlessChassis {
  readonly central: OvnCentral;
  readonly ovsDb: OvsdbServer;
  readonly ovsRemote: string;
  readonly probe: Probe;
  stop(): Promise<void>;
}

export async function startHeadlessChassis(name: string): Promise<HeadlessChassis> {
  const central = await startOvnCentral();
  const ovsDb = await startOvsdbServer({ schema: VSWITCH_SCHEMA, name, remotes: ['punix'] });
  const probe = new Probe(central);
  const stop = async (): Promise<void> => {
    await probe.close();
    await ovsDb.stop();
    await central.stop();
  };
  try {
    await central.sbctl('chassis-add', 'hv1', 'geneve', '127.0.0.1');
    await initBareOvsDb(ovsDb, 'hv1', central.sbRemote);
    await probe.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { central, ovsDb, ovsRemote: ovsDb.unixRemote ?? ovsDb.remote, probe, stop };
}

/** The Open_vSwitch row and br-int an agent needs in an OVS DB that no ovs-vswitchd serves. */
export async function initBareOvsDb(ovsDb: OvsdbServer, chassis: string, sbRemote: string): Promise<void> {
  await ovsDb.transact([
    { op: 'insert', table: 'Bridge', row: { name: 'br-int' }, 'uuid-name': 'br' },
    {
      op: 'insert',
      table: 'Open_vSwitch',
      row: {
        bridges: ['named-uuid', 'br'],
        external_ids: [
          'map',
          [
            ['system-id', chassis],
            ['ovn-remote', sbRemote],
            ['ovn-bridge', 'br-int'],
          ],
        ],
      },
    },
  ]);
}
