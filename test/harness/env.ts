/**
 * The environment every harness process runs with. It is built from scratch (not inherited), so
 * that no OVS/OVN tool ever falls back to the system-wide defaults under /var/run, /var/log or
 * /etc: every directory variable the tools honour points into the private directory.
 */

/** Search path for the Debian-installed daemons and tools (some live in /usr/sbin). */
export const TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Environment for OVS/OVN processes whose run, log, database, configuration and PKI directories
 * are all `dir`. `OVS_RUNDIR` matters beyond defaults: ovs-vswitchd creates `<bridge>.mgmt` there
 * and ovn-controller looks for it there, so a vswitchd and its ovn-controller must share it.
 */
export function toolEnv(dir: string): Readonly<Record<string, string>> {
  return Object.freeze({
    PATH: TOOL_PATH,
    LC_ALL: 'C',
    HOME: dir,
    OVS_RUNDIR: dir,
    OVS_LOGDIR: dir,
    OVS_DBDIR: dir,
    OVS_SYSCONFDIR: dir,
    OVS_PKIDIR: dir,
    OVN_RUNDIR: dir,
    OVN_LOGDIR: dir,
    OVN_DBDIR: dir,
    OVN_SYSCONFDIR: dir,
  });
}
