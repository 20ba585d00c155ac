import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { clusterNodes, createRedis } from '../../server/adapters/redis/redis.ts';
import { clusterSafePrefix, isClusterUrl } from '../../server/config.ts';

/**
 * An intruder's review of the Redis Cluster configuration (issue 16, part 7): `clusterNodes` / `createRedis` in
 * server/adapters/redis/redis.ts and `clusterSafePrefix` / `isClusterUrl` in server/config.ts. Pure functions, plus
 * the options a Cluster client is built with (a node on 127.0.0.1:1, never reached: the client is closed at once).
 */

const CLUSTER = 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001';

/** The hash tag Redis Cluster hashes a key by: the text between the first `{` and the first `}` after it, if not empty. */
function hashTag(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return null;
  return key.slice(open + 1, close);
}

/** What a Cluster client was built with: its nodes' connection options. */
function clusterOptions(url: string): { username?: string; password?: string; tls?: unknown } {
  const c = createRedis(url) as unknown as { options: { redisOptions: { username?: string; password?: string; tls?: unknown } }; disconnect(): void };
  const o = c.options.redisOptions;
  c.disconnect();
  return o;
}

/** How ioredis itself reads the same URL for a single Redis (the `+cluster` left out). */
function singleOptions(url: string): { username?: string; password?: string; host?: string; port?: number } {
  const r = new Redis(url.replace('+cluster', ''), { lazyConnect: true });
  const { username, password, host, port } = r.options;
  r.disconnect();
  return { ...(username ? { username } : {}), ...(password ? { password } : {}), host, port };
}

describe('Redis Cluster URLs', () => {
  it('reads the nodes of a cluster URL, with credentials, database path and query left out', () => {
    expect(clusterNodes(CLUSTER)).toEqual([{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }]);
    expect(clusterNodes('rediss+cluster://u:p@h1:7000,h2/0?x=1')).toEqual([{ host: 'h1', port: 7000 }, { host: 'h2', port: 6379 }]);
    expect(clusterNodes('redis://127.0.0.1:6379')).toBeNull();
  });

  it('an IPv6 node is its address, without the brackets of the URL', () => {
    expect(clusterNodes('redis+cluster://[::1]:7000,[fe80::1]:7001')).toEqual([{ host: '::1', port: 7000 }, { host: 'fe80::1', port: 7001 }]);
  });

  it('a node list with spaces (REDIS_CLUSTER_NODES="h1:7000, h2:7001") gives host names without spaces', () => {
    const nodes = clusterNodes('redis+cluster://h1:7000, h2:7001') ?? [];
    expect(nodes.map((n) => n.host)).toEqual(['h1', 'h2']);
  });

  it('a node without a valid port is refused, never port 0 or NaN', () => {
    for (const u of ['redis+cluster://h1:,h2:7001', 'redis+cluster://h1:x', 'redis+cluster://h1:99999', 'redis+cluster://h1:7000,']) {
      let nodes: { host: string; port: number }[];
      try {
        nodes = clusterNodes(u) ?? [];
      } catch {
        continue; // refused: fine
      }
      for (const n of nodes) {
        expect(n.host, u).not.toBe('');
        expect(Number.isInteger(n.port) && n.port > 0 && n.port < 65_536, `${u}: ${JSON.stringify(n)}`).toBe(true);
      }
    }
  });

  it('isClusterUrl and clusterNodes agree: a URL is a cluster for both or for neither', () => {
    for (const u of [CLUSTER, 'rediss+cluster://h:1', 'redis://h:1', 'redis+cluster://', 'redis+cluster:///0', 'rediss+cluster://u:p@/']) {
      expect(isClusterUrl(u), u).toBe(clusterNodes(u) !== null);
    }
  });

  it('credentials are read as ioredis reads them for a single Redis (a colon or an @ in the password, percent-encoding)', () => {
    for (const u of [
      'redis+cluster://user:secret@127.0.0.1:1',
      'redis+cluster://:secret@127.0.0.1:1',
      'redis+cluster://user:pa:ss@127.0.0.1:1',
      'redis+cluster://us%40er:p%40ss%3Aw@127.0.0.1:1',
      'redis+cluster://user:p@ss@127.0.0.1:1',
    ]) {
      const single = singleOptions(u);
      const cluster = clusterOptions(u);
      expect({ username: cluster.username, password: cluster.password }, u).toEqual({ username: single.username, password: single.password });
      expect(clusterNodes(u), u).toEqual([{ host: single.host, port: Number(single.port) }]);
    }
  });

  it('rediss+cluster:// turns TLS on for every node; redis+cluster:// does not', () => {
    expect(clusterOptions('rediss+cluster://127.0.0.1:1').tls).toBeDefined();
    expect(clusterOptions('redis+cluster://127.0.0.1:1').tls).toBeUndefined();
  });
});

describe('the key prefix on a cluster', () => {
  const keysOf = (prefix: string) => [`${prefix}rl:api:x`, `${prefix}{live}:socket.io`, `${prefix}bull:holds:1`, `${prefix}bull:holds:wait`];

  it('a single Redis keeps its prefix; a cluster gets one hash tag for every key', () => {
    expect(clusterSafePrefix('redis://h:1', 'cx:')).toBe('cx:');
    expect(clusterSafePrefix(CLUSTER, 'cx:')).toBe('{cx}:');
    expect(clusterSafePrefix(CLUSTER, '{app}:')).toBe('{app}:');
  });

  it('whatever the prefix (empty, braces already, odd braces), every key of the app hashes by one non-empty tag', () => {
    for (const prefix of ['', ':', 'cx', 'cx:', '{cx}:', '{cx}', 'a{b}c:', '{}:', '{}{cx}:', 'a{}b{c}:', 'x}{y}:', '{a{b}:', '{cx:', 'cx}:']) {
      const p = clusterSafePrefix(CLUSTER, prefix);
      const tags = keysOf(p).map(hashTag);
      expect(tags[0], `prefix ${JSON.stringify(prefix)} → ${JSON.stringify(p)}`).not.toBeNull();
      expect(new Set(tags).size, `prefix ${JSON.stringify(prefix)} → ${JSON.stringify(p)}: tags ${JSON.stringify(tags)}`).toBe(1);
    }
  });

  it('two different prefixes stay apart on a shared cluster (an empty prefix is not the default one)', () => {
    expect(clusterSafePrefix(CLUSTER, '')).not.toBe(clusterSafePrefix(CLUSTER, 'cx:'));
  });
});
