// An in-memory Database plugin for ltijs 5.x (instead of MongoDB), implementing the interface
// ltijs calls on its `database.plugin`: setup, Close, Get, Insert, Replace, Modify, Delete,
// Encrypt, Decrypt — with the same semantics as ltijs' own Utils/Database.js (mongoose):
//   * queries are equality on top-level fields (all ltijs uses), answered through hash indexes
//     built on first use (like Mongo's indexes), so lookups do not slow down as data grows;
//   * Get returns `false` when nothing matches, else copies of the documents;
//   * with an ENCRYPTIONKEY, documents are stored as {...index, iv, data} with AES-256-CBC
//     exactly like the Mongo plugin, and decrypted on Get.
// Not emulated: Mongo TTL expiry (nonces 10 s, states 600 s); nothing here expires.
'use strict';

const crypto = require('crypto');

class Collection {
  constructor() {
    this.docs = new Set();
    this.indexes = new Map(); // "field1,field2" -> Map(valueKey -> Set(doc))
  }

  static sig(query) {
    return Object.keys(query).sort().join(',');
  }

  static valueKey(fields, doc) {
    return JSON.stringify(fields.map((f) => (doc[f] === undefined ? null : doc[f])));
  }

  index(sig) {
    let idx = this.indexes.get(sig);
    if (!idx) {
      idx = new Map();
      const fields = sig.split(',');
      for (const d of this.docs) Collection.put(idx, Collection.valueKey(fields, d), d);
      this.indexes.set(sig, idx);
    }
    return idx;
  }

  static put(idx, key, doc) {
    let s = idx.get(key);
    if (!s) idx.set(key, (s = new Set()));
    s.add(doc);
  }

  find(query) {
    if (!query || Object.keys(query).length === 0) return [...this.docs];
    const sig = Collection.sig(query);
    const s = this.index(sig).get(Collection.valueKey(sig.split(','), query));
    return s ? [...s] : [];
  }

  add(doc) {
    this.docs.add(doc);
    for (const [sig, idx] of this.indexes) Collection.put(idx, Collection.valueKey(sig.split(','), doc), doc);
  }

  remove(doc) {
    this.docs.delete(doc);
    for (const [sig, idx] of this.indexes) {
      const key = Collection.valueKey(sig.split(','), doc);
      const s = idx.get(key);
      if (s) {
        s.delete(doc);
        if (s.size === 0) idx.delete(key);
      }
    }
  }
}

class MemoryDatabase {
  constructor() {
    this.collections = new Map();
    this.deployed = false;
  }

  col(name) {
    let c = this.collections.get(name);
    if (!c) this.collections.set(name, (c = new Collection()));
    return c;
  }

  async setup() {
    this.deployed = true;
    return true;
  }

  async Close() {
    this.deployed = false;
    return true;
  }

  check() {
    if (!this.deployed) throw new Error('PROVIDER_NOT_DEPLOYED');
  }

  async Get(ENCRYPTIONKEY, collection, query) {
    this.check();
    if (!collection) throw new Error('MISSING_COLLECTION');
    const found = this.col(collection).find(query).map((d) => structuredClone(d));
    if (ENCRYPTIONKEY) {
      for (let i = 0; i < found.length; i++) {
        found[i] = JSON.parse(await this.Decrypt(found[i].data, found[i].iv, ENCRYPTIONKEY));
      }
    }
    return found.length === 0 ? false : found;
  }

  async prepare(ENCRYPTIONKEY, item, index) {
    if (!ENCRYPTIONKEY) return structuredClone(item);
    const enc = await this.Encrypt(JSON.stringify(item), ENCRYPTIONKEY);
    return { ...index, iv: enc.iv, data: enc.data };
  }

  async Insert(ENCRYPTIONKEY, collection, item, index) {
    this.check();
    if (!collection || !item || (ENCRYPTIONKEY && !index)) throw new Error('MISSING_PARAMS');
    this.col(collection).add(await this.prepare(ENCRYPTIONKEY, item, index));
    return true;
  }

  // Mongo replaceOne(query, doc, {upsert: true}): replaces the first match, or inserts.
  async Replace(ENCRYPTIONKEY, collection, query, item, index) {
    this.check();
    if (!collection || !item || (ENCRYPTIONKEY && !index)) throw new Error('MISSING_PARAMS');
    const c = this.col(collection);
    const doc = await this.prepare(ENCRYPTIONKEY, item, index);
    const [old] = c.find(query);
    if (old) c.remove(old);
    c.add(doc);
    return true;
  }

  // Mongo updateOne(query, modification): sets the given fields on the first match.
  async Modify(ENCRYPTIONKEY, collection, query, modification) {
    this.check();
    if (!collection || !query || !modification) throw new Error('MISSING_PARAMS');
    const c = this.col(collection);
    const [old] = c.find(query);
    if (!old) return true;
    let updated;
    if (ENCRYPTIONKEY) {
      const plain = JSON.parse(await this.Decrypt(old.data, old.iv, ENCRYPTIONKEY));
      plain[Object.keys(modification)[0]] = Object.values(modification)[0];
      updated = { ...old, ...(await this.Encrypt(JSON.stringify(plain), ENCRYPTIONKEY)) };
    } else {
      updated = { ...old, ...structuredClone(modification) };
    }
    c.remove(old);
    c.add(updated);
    return true;
  }

  async Delete(collection, query) {
    this.check();
    if (!collection || !query) throw new Error('MISSING_PARAMS');
    const c = this.col(collection);
    for (const d of c.find(query)) c.remove(d);
    return true;
  }

  async Encrypt(data, secret) {
    const key = crypto.createHash('sha256').update(secret).digest().subarray(0, 32);
    const iv = crypto.randomBytes(16);
    const cipher = crypto.createCipheriv('aes-256-cbc', key, iv);
    const encrypted = Buffer.concat([cipher.update(data), cipher.final()]);
    return { iv: iv.toString('hex'), data: encrypted.toString('hex') };
  }

  async Decrypt(data, iv, secret) {
    const key = crypto.createHash('sha256').update(secret).digest().subarray(0, 32);
    const decipher = crypto.createDecipheriv('aes-256-cbc', key, Buffer.from(iv, 'hex'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'hex')), decipher.final()]).toString();
  }
}

module.exports = { MemoryDatabase };
