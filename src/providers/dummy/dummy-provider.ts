/**
 * The dummy provider (DESIGN §3.7): behaves exactly like OVN's built-in dummy VIF plug provider,
 * so OVN's own plugging scenarios can be replayed against the agent. It plugs any logical port
 * as an OVS internal interface named after the port.
 */
import type { PlugAnswer, PlugProvider, PlugRequest, ProviderInventory } from '../../plug/index.js';

export const DUMMY_PROVIDER_TYPE = 'dummy';
/** The one interface option the dummy provider sets and maintains. */
export const DUMMY_OPTION_KEY = 'vif-plug-dummy-option';
export const DUMMY_OPTION_VALUE = 'value';
/** Linux interface names hold at most 15 bytes (IFNAMSIZ - 1); upstream cuts the port name there. */
export const MAX_INTERFACE_NAME_BYTES = 15;

/** UTF-8 length of one code point. */
function utf8Bytes(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/**
 * The logical port name cut to 15 bytes of UTF-8. For ASCII names (all upstream tests) this is
 * upstream's cut; a multi-byte character is never split, so the name stays valid UTF-8.
 */
export function dummyInterfaceName(logicalPort: string): string {
  let bytes = 0;
  let end = 0;
  for (const char of logicalPort) {
    bytes += utf8Bytes(char.codePointAt(0) ?? 0);
    if (bytes > MAX_INTERFACE_NAME_BYTES) return logicalPort.slice(0, end);
    end += char.length;
  }
  return logicalPort;
}

export class DummyProvider implements PlugProvider {
  readonly type = DUMMY_PROVIDER_TYPE;

  /** Nothing to refresh: never reports a change. */
  run(): boolean {
    return false;
  }

  maintainedIfaceOptions(): readonly string[] {
    return [DUMMY_OPTION_KEY];
  }

  /** Always ready, for `create` and `remove` alike (upstream's dummy never refuses). */
  prepare(request: PlugRequest): PlugAnswer {
    return {
      kind: 'ready',
      name:
        request.operation === 'remove' && request.existing
          ? request.existing.name
          : dummyInterfaceName(request.logicalPort),
      type: 'internal',
      options: { [DUMMY_OPTION_KEY]: DUMMY_OPTION_VALUE },
    };
  }

  inventory(): ProviderInventory {
    return {
      items: [],
      notes: ['can plug any logical port: an OVS internal interface named after the port (cut to 15 bytes)'],
    };
  }
}
