/**
 * `ovn-controller` for one chassis, attached to a {@link Vswitchd} node (it shares that node's
 * directory, hence its OVS_RUNDIR and `<bridge>.mgmt`) and to an OVN Southbound database.
 * Ready means its Chassis row exists in the SB.
 */
import { join } from 'node:path';
import { runCommand } from './exec.js';
import { canConnectUnix } from './net.js';
import type { Pki } from './pki.js';
import { defaultRegistry, type ProcessRegistry, type Stoppable, SupervisedProcess } from './process.js';
import type { Vswitchd } from './vswitchd.js';

/** What ovn-controller needs from the central side. */
export interface SouthboundEndpoint {
  /** Remote(s) ovn-controller connects to (`external_ids:ovn-remote`). */
  readonly sbRemote: string;
  /** `ovn-sbctl` runner used to wait for the Chassis row. */
  sbctl(...args: string[]): Promise<string>;
}

export interface OvnControllerOptions {
  readonly ovs: Vswitchd;
  readonly central: SouthboundEndpoint;
  /** `external_ids:system-id`, i.e. the Chassis name; default `hv1`. */
  readonly chassis?: string;
  /**
   * `external_ids:ovn-encap-ip`; default `127.0.0.1`. Must differ between chassis of one SB:
   * the Encap table is unique on (type, ip). The dummy datapath never sends to it.
   */
  readonly encapIp?: string;
  /** SB remote to use instead of `central.sbRemote` (e.g. its TCP remote). */
  readonly sbRemote?: string;
  /** Client certificate and CA, for an `ssl:` SB remote. */
  readonly pki?: Pki;
  /** Start with `--enable-dummy-vif-plug` (OVN's built-in plugging with its dummy provider). */
  readonly enableDummyVifPlug?: boolean;
  readonly registry?: ProcessRegistry;
}

export interface OvnController extends Stoppable {
  readonly chassis: string;
  readonly encapIp: string;
  readonly process: SupervisedProcess;
  /** Control socket of the running process (its name contains the pid, so it changes on restart). */
  readonly ctlPath: string;
  readonly logPath: string;
  /** `ovn-appctl -t <ctl> ...args`. */
  appctl(...args: string[]): Promise<string>;
  /** Restarts ovn-controller on the same chassis and waits for its Chassis row again. */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  kill9(): Promise<void>;
}

/** Configures the node's Open_vSwitch record for OVN and starts ovn-controller on it. */
export async function startOvnController(options: OvnControllerOptions): Promise<OvnController> {
  const { ovs, central } = options;
  const chassis = options.chassis ?? 'hv1';
  const encapIp = options.encapIp ?? '127.0.0.1';
  const registry = options.registry ?? defaultRegistry();
  const sbRemote = options.sbRemote ?? central.sbRemote;
  await ovs.vsctl(
    '--no-wait',
    'set',
    'Open_vSwitch',
    '.',
    `external_ids:system-id=${chassis}`,
    `external_ids:hostname=${chassis}`,
    `external_ids:ovn-remote="${sbRemote}"`,
    'external_ids:ovn-encap-type=geneve',
    `external_ids:ovn-encap-ip=${encapIp}`,
    `external_ids:ovn-bridge=${ovs.bridge}`,
  );
  // ovn-controller 23.03 has no --unixctl; it always serves <OVN_RUNDIR>/ovn-controller.<pid>.ctl.
  const ctlPathOf = (pid: number): string => join(ovs.dir, `ovn-controller.${pid}.ctl`);
  const logPath = join(ovs.dir, 'ovn-controller.log');
  const controller: SupervisedProcess = new SupervisedProcess(
    {
      name: 'ovn-controller',
      command: 'ovn-controller',
      args: [
        ovs.dbRemote,
        `--pidfile=${join(ovs.dir, 'ovn-controller.pid')}`,
        `--log-file=${logPath}`,
        '-vconsole:err',
        ...(options.enableDummyVifPlug ? ['--enable-dummy-vif-plug'] : []),
        ...(options.pki
          ? [
              `--private-key=${options.pki.clientKey}`,
              `--certificate=${options.pki.clientCert}`,
              `--ca-cert=${options.pki.caCert}`,
            ]
          : []),
      ],
      dir: ovs.dir,
      env: ovs.env,
      logFiles: [logPath],
      ready: (): Promise<boolean> => canConnectUnix(ctlPathOf(controller.pid)),
    },
    registry,
  );
  const waitForChassis = async (): Promise<void> => {
    try {
      await central.sbctl('wait-until', 'Chassis', chassis);
    } catch (error) {
      throw new Error(`ovn-controller ${chassis} did not register its Chassis\n${controller.logTail()}`, {
        cause: error,
      });
    }
  };
  await controller.start();
  try {
    await waitForChassis();
  } catch (error) {
    await controller.stop();
    throw error;
  }
  return {
    chassis,
    encapIp,
    process: controller,
    get ctlPath() {
      return ctlPathOf(controller.pid);
    },
    logPath,
    appctl: async (...args) =>
      (
        await runCommand('ovn-appctl', ['--timeout=10', '-t', ctlPathOf(controller.pid), ...args], {
          env: ovs.env,
        })
      ).stdout,
    async restart() {
      await controller.restart();
      await waitForChassis();
    },
    pause: () => controller.pause(),
    resume: () => controller.resume(),
    kill9: () => controller.kill9(),
    stop: () => controller.stop(),
  };
}
