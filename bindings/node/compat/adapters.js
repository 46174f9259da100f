'use strict';
// The stores of verikit/compat. An adapter names where verikit keeps credentials: MemoryAdapter
// the embedded store, RedisAdapter the Redis server a node-redis client is configured for
// (verikit opens its own connections there with the client's settings, and runs its own atomic
// scripts). Each adapter also keeps the package's small key-value methods (get, set, del,
// increment) for code that calls them directly; OTPManager does not use them.
const crypto = require('node:crypto');
const verikit = require('../index.js');

const ENGINE = Symbol('verikit.compat.engine');
const IS_REDIS = Symbol('verikit.compat.redis');
const ENGINES_FIELD = Symbol('verikit.compat.engines');
const PREFIX = Symbol('verikit.compat.keyPrefix');

// One verikit Manager per distinct configuration (policies and keys): OTPManagers with the same
// configuration on one adapter share an engine, so a MemoryAdapter shared by two OTPManagers is
// one store for both.
class Engines {
  constructor(base) {
    this.base = base;
    this.byConfig = new Map();
    this.failures = new Map();  // configuration -> { error, wait, until } of its last failed attempt
  }

  // A Promise of the Manager for this configuration, made with Manager.open (on Redis the
  // connection and start-up checks run off the event loop), once: concurrent calls share the
  // opening. While Redis is unreachable, a failed attempt is remembered: calls in the next second
  // (doubling to 30 s while attempts keep failing) reject with its error at once, instead of each
  // opening connections again.
  get(options) {
    const all = { ...this.base, ...options };
    const id = crypto.createHash('sha256').update(JSON.stringify(all, (k, v) =>
      (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('base64') : v))).digest('hex');
    const known = this.byConfig.get(id);
    if (known) return known;
    const failed = this.failures.get(id);
    if (failed && Date.now() < failed.until) return Promise.reject(failed.error);
    const opening = verikit.Manager.open(all).then((manager) => {
      // (closed meanwhile: the Manager is closed too, and the call that waited for it rejects
      // with "the engine is closed")
      if (this.byConfig.get(id) !== opening) manager.close();
      else this.failures.delete(id);
      return manager;
    }, (e) => {
      if (this.byConfig.get(id) === opening) this.byConfig.delete(id);
      const wait = Math.min(failed ? failed.wait * 2 : 1000, 30000);
      this.failures.set(id, { error: e, wait, until: Date.now() + wait });
      throw e;
    });
    this.byConfig.set(id, opening);
    return opening;
  }

  close() {
    for (const opening of this.byConfig.values()) opening.then((manager) => manager.close(), () => {});
    this.byConfig.clear();
  }
}

/** The embedded store (in-process: credentials live as long as the process). */
class MemoryAdapter {
  constructor() {
    this.storage = new Map();
    this[ENGINES_FIELD] = new Engines({ url: 'memory://' });
  }

  // The store is this process's memory: it hashes with an ephemeral random key of its own
  // engine, whatever hashing secret an OTPManager names (no other process can read it).
  [ENGINE](options) {
    const { key, keyId, previousKeys, indexKey, ...rest } = options;
    return this[ENGINES_FIELD].get(rest);
  }

  /** Releases the engines of this adapter (verikit extension). */
  close() { this[ENGINES_FIELD].close(); }

  async get(key) {
    const record = this.storage.get(key);
    if (!record) return null;
    if (record.expiresAt <= Date.now()) {
      this.storage.delete(key);
      return null;
    }
    return record.value;
  }

  async set(key, value, ttlSeconds) {
    this.storage.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async del(key) { this.storage.delete(key); }

  async increment(key, ttlSeconds) {
    const current = await this.get(key);
    if (current === null) {
      await this.set(key, '1', ttlSeconds);
      return 1;
    }
    const next = Number(current) + 1;
    this.storage.get(key).value = String(next);
    return next;
  }
}
function notSupported(what) {
  return new TypeError(`RedisAdapter: the client's ${what} cannot be passed to verikit's own connection; ` +
    'name the server with new RedisAdapter(client, { url }) (README: Migrating from redis-otp-manager)');
}

/**
 * A verikit Redis URL from a node-redis v4/v5 client's options (url, socket.host/port/path/tls,
 * username, password, database, socket.connectTimeout).
 */
function urlFromClient(client) {
  const o = client?.options;
  if (!o || typeof o !== 'object') {
    throw new TypeError('RedisAdapter needs a node-redis v4/v5 client (createClient(...)): verikit opens its own ' +
      "connection with the client's settings, and this client has none; or name the server with " +
      'new RedisAdapter(client, { url })');
  }
  if (!o.url && !o.socket && ['host', 'port', 'db'].some((k) => o[k] !== undefined)) {
    // (not node-redis's shape: its host and port are under socket; reading on would connect to
    // localhost:6379 with this client's password)
    throw new TypeError('RedisAdapter reads node-redis v4/v5 options (url, socket.host, socket.port, database); ' +
      'this client has host/port/db at the top level: name the server with new RedisAdapter(client, { url })');
  }
  const socket = o.socket ?? {};
  for (const field of ['ca', 'cert', 'key', 'pfx']) if (socket[field] !== undefined) throw notSupported(`socket.${field}`);
  const parsed = o.url ? new URL(o.url) : null;
  const username = o.username ?? (parsed?.username ? decodeURIComponent(parsed.username) : '');
  const password = o.password ?? (parsed?.password ? decodeURIComponent(parsed.password) : '');
  const database = o.database ?? (parsed && parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0);
  const query = [];
  if (socket.connectTimeout !== undefined) query.push(`connect_timeout_ms=${Number(socket.connectTimeout)}`);
  if (socket.path) {
    if (username || password) throw notSupported('credentials over a Unix socket');
    if (database) query.push(`db=${database}`);
    return `unix://${socket.path}${query.length ? `?${query.join('&')}` : ''}`;
  }
  const tls = Boolean(socket.tls) || parsed?.protocol === 'rediss:';
  if (tls && socket.servername) query.push(`tls_server_name=${encodeURIComponent(socket.servername)}`);
  const host = socket.host ?? (parsed?.hostname || 'localhost');
  const port = socket.port ?? (parsed?.port ? Number(parsed.port) : 6379);
  const auth = username || password
    ? `${encodeURIComponent(username)}${password ? `:${encodeURIComponent(password)}` : ''}@` : '';
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${tls ? 'rediss' : 'redis'}://${auth}${hostPart}:${port}${database ? `/${database}` : ''}` +
    `${query.length ? `?${query.join('&')}` : ''}`;
}

/**
 * The Redis server a node-redis v4/v5 client is configured for. verikit keeps its own
 * connection (opened on first use); the client is used only by the key-value methods.
 * options (verikit extension): url (overrides the client's settings), keyPrefix (default 'vk').
 */
class RedisAdapter {
  constructor(client, options = {}) {
    if (!client || typeof client !== 'object') throw new TypeError('RedisAdapter needs a node-redis client');
    this.client = client;
    this.url = options.url ?? urlFromClient(client);
    this[IS_REDIS] = true;
    this[PREFIX] = options.keyPrefix ?? 'vk';
    this[ENGINES_FIELD] = new Engines({ url: this.url, keyPrefix: this[PREFIX] });
  }

  [ENGINE](options) { return this[ENGINES_FIELD].get(options); }

  /** Releases verikit's connections of this adapter (verikit extension; the client is yours). */
  close() { this[ENGINES_FIELD].close(); }

  async get(key) { return this.client.get(key); }

  async set(key, value, ttlSeconds) { await this.client.set(key, value, { EX: ttlSeconds }); }

  async del(key) { await this.client.del(key); }

  async increment(key, ttlSeconds) {
    const next = await this.client.incr(key);
    if (next === 1) await this.client.expire(key, ttlSeconds);
    return next;
  }
}

module.exports = { MemoryAdapter, RedisAdapter, ENGINE, IS_REDIS, PREFIX, urlFromClient };
