// Writes ../legacy_padding.json and ../legacy.json with node, using Session
// desktop's padding expression (ts/session/crypto/BufferPadding.ts,
// addAttachmentPadding) evaluated by V8 as desktop evaluates it, and
// WebCrypto's AES-CBC, HMAC-SHA256 and SHA-256 as desktop calls them.
// Run: node legacy_vectors.mjs (from this directory).
import { writeFileSync } from 'node:fs';
import { webcrypto as crypto } from 'node:crypto';

const CAP = 10 * 1000 * 1000;
function padded(len) {
  let p = Math.max(541, Math.floor(Math.pow(1.05, Math.ceil(Math.log(len) / Math.log(1.05)))));
  if (p > CAP && len <= CAP) p = CAP;
  return p;
}

// Every size where the padded size changes, and the size before it, up to
// just past the cap; then a few sizes beyond it.
const edges = [[0, padded(0)]];
let prev = padded(0);
for (let n = 1; n <= CAP + 1000; n++) {
  const p = padded(n);
  if (p !== prev) {
    edges.push([n - 1, prev], [n, p]);
    prev = p;
  }
}
for (const n of [CAP + 1, 10500000, 12000000, 25000000, 50000000, 104857600]) edges.push([n, padded(n)]);
writeFileSync('../legacy_padding.json', JSON.stringify({
  source: 'node ' + process.version + ' evaluating desktop addAttachmentPadding: max(541, floor(1.05^ceil(log(n)/log(1.05)))), capped at 10000000 when n is',
  sizes: edges,
}) + '\n');

const hex = (b) => Buffer.from(b).toString('hex');
const key = new Uint8Array(64).map((_, i) => (i * 11 + 1) & 255);
const iv = new Uint8Array(16).map((_, i) => (i * 5 + 200) & 255);
const aes = await crypto.subtle.importKey('raw', key.slice(0, 32), { name: 'AES-CBC' }, false, ['encrypt']);
const hm = await crypto.subtle.importKey('raw', key.slice(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
const vectors = [];
for (const n of [0, 1, 15, 16, 540, 541, 542, 1000, 4053, 4054, 32767, 32768, 32769, 100000]) {
  const data = new Uint8Array(n).map((_, i) => (i * 7) & 255);
  const pad = new Uint8Array(padded(n));
  pad.set(data);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv }, aes, pad));
  const ivct = new Uint8Array(16 + ct.length);
  ivct.set(iv);
  ivct.set(ct, 16);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', hm, ivct));
  const blob = new Uint8Array(ivct.length + 32);
  blob.set(ivct);
  blob.set(mac, ivct.length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', blob));
  const v = { plaintext_len: n, blob_len: blob.length, digest: hex(digest) };
  if (blob.length <= 2048) v.blob = hex(blob);
  vectors.push(v);
}
writeFileSync('../legacy.json', JSON.stringify({
  source: 'node ' + process.version + ' WebCrypto, desktop attachment encryption; plaintext byte i is 7i mod 256',
  key: hex(key), iv: hex(iv), vectors,
}, null, 1) + '\n');
