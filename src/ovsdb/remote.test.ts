import { describe, expect, it } from 'vitest';
import { RemoteSyntaxError } from './errors.js';
import { parseRemote, parseRemoteList } from './remote.js';

describe('parseRemote', () => {
  it.each([
    [
      'unix:/run/openvswitch/db.sock',
      { kind: 'unix', path: '/run/openvswitch/db.sock', text: 'unix:/run/openvswitch/db.sock' },
    ],
    ['tcp:127.0.0.1:6641', { kind: 'tcp', host: '127.0.0.1', port: 6641, text: 'tcp:127.0.0.1:6641' }],
    ['tcp:127.0.0.1', { kind: 'tcp', host: '127.0.0.1', port: 6640, text: 'tcp:127.0.0.1:6640' }],
    [
      'ssl:ovn-sb.example:6642',
      { kind: 'ssl', host: 'ovn-sb.example', port: 6642, text: 'ssl:ovn-sb.example:6642' },
    ],
    ['tcp:[::1]:6642', { kind: 'tcp', host: '::1', port: 6642, text: 'tcp:[::1]:6642' }],
    ['ssl:[fe80::1]', { kind: 'ssl', host: 'fe80::1', port: 6640, text: 'ssl:[fe80::1]:6640' }],
  ])('parses %s', (text, expected) => {
    expect(parseRemote(text)).toEqual(expected);
  });

  it.each([
    ['punix:/x', /unknown connection method "punix"/],
    ['tcp:', /missing host/],
    ['tcp:1.2.3.4:99999', /port 99999 out of range/],
    ['tcp:1.2.3.4:http', /bad port "http"/],
    ['tcp:::1:6640', /IPv6 addresses must be written in brackets/],
    ['tcp:[::1', /missing "\]"/],
    ['unix:', /empty socket path/],
    ['/var/run/db.sock', /expected unix:PATH/],
  ])('rejects %s naming the remote', (text, why) => {
    expect(() => parseRemote(text)).toThrow(RemoteSyntaxError);
    expect(() => parseRemote(text)).toThrow(why);
    expect(() => parseRemote(text)).toThrow(JSON.stringify(text));
  });
});

describe('parseRemoteList', () => {
  it('splits comma lists, accepts arrays and extracts cid', () => {
    const list = parseRemoteList([
      'tcp:127.0.0.1:1,tcp:127.0.0.1:2',
      'cid:0A1B2C3D-0000-4000-8000-000000000001,ssl:[::1]',
    ]);
    expect(list.endpoints.map((e) => e.text)).toEqual([
      'tcp:127.0.0.1:1',
      'tcp:127.0.0.1:2',
      'ssl:[::1]:6640',
    ]);
    expect(list.cid).toBe('0a1b2c3d-0000-4000-8000-000000000001');
  });

  it('rejects a bad cid, two different cids and a list without endpoints', () => {
    expect(() => parseRemoteList('cid:nope,tcp:1.2.3.4')).toThrow(/cid "nope" is not a UUID/);
    expect(() =>
      parseRemoteList(
        'cid:00000000-0000-4000-8000-000000000001,cid:00000000-0000-4000-8000-000000000002,tcp:h',
      ),
    ).toThrow(/more than one cid/);
    expect(() => parseRemoteList(' , ')).toThrow(/no unix:, tcp: or ssl: remote/);
  });
});
