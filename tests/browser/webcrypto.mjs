// WebCrypto (Node's crypto.webcrypto, the same API the app uses in the browser) for meshpeers'
// interop tests.
//
//   node webcrypto.mjs decrypt <store.json>      decrypts every encryptedSecret with the JWK in
//                                                mesh:encryption:key; prints {peerId: secret}
//   node webcrypto.mjs pbkdf2-store <in.json> <out.json> <passphrase>
//                                                encrypts each peer's "sharedSecret" under
//                                                PBKDF2(passphrase, "mesh-p2p-salt", 100000),
//                                                as the guide describes, and writes a flat store
//                                                without a key record
import { readFileSync, writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';

const subtle = webcrypto.subtle;
const [cmd, a, b, c] = process.argv.slice(2);
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));

if (cmd === 'decrypt') {
  const store = JSON.parse(readFileSync(a, 'utf8'));
  const key = await subtle.importKey('jwk', JSON.parse(store['mesh:encryption:key']),
    { name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  const out = {};
  for (const [k, v] of Object.entries(store)) {
    if (!k.startsWith('mesh:peer:')) continue;
    const peer = JSON.parse(v);
    if (!peer.encryptedSecret) continue;
    const data = unb64(peer.encryptedSecret);
    const plain = await subtle.decrypt({ name: 'AES-GCM', iv: data.slice(0, 12) }, key, data.slice(12));
    out[peer.peerId] = new TextDecoder().decode(plain);
  }
  process.stdout.write(JSON.stringify(out));
} else if (cmd === 'pbkdf2-store') {
  const store = JSON.parse(readFileSync(a, 'utf8'));
  const base = await subtle.importKey('raw', new TextEncoder().encode(c), 'PBKDF2', false, ['deriveKey']);
  const key = await subtle.deriveKey(
    { name: 'PBKDF2', salt: new TextEncoder().encode('mesh-p2p-salt'), iterations: 100000, hash: 'SHA-256' },
    base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  for (const [k, v] of Object.entries(store)) {
    if (!k.startsWith('mesh:peer:')) continue;
    const peer = JSON.parse(v);
    if (!peer.sharedSecret) continue;
    const iv = webcrypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv }, key,
      new TextEncoder().encode(peer.sharedSecret)));
    const combined = new Uint8Array(12 + ct.length);
    combined.set(iv);
    combined.set(ct, 12);
    peer.encryptedSecret = b64(combined);
    delete peer.sharedSecret;
    store[k] = JSON.stringify(peer);
  }
  delete store['mesh:encryption:key'];
  writeFileSync(b, JSON.stringify(store, null, 2));
} else {
  throw new Error(`unknown command ${cmd}`);
}
