// Signs and verifies eddsa-rdfc-2022 credentials with Digital Bazaar's cryptosuite
// (jsonld-signatures, @digitalbazaar/data-integrity), the implementation the W3C test suites
// run, for the cross-check of integrity/tests/rdfc_crosscheck.rs:
//   node interop.mjs sign KEYPAIR.json URL=FILE...   unsigned credential on stdin -> signed
//   node interop.mjs verify KEYPAIR.json URL=FILE... signed credential on stdin -> {"verified": ...}
// KEYPAIR.json holds publicKeyMultibase and privateKeyMultibase (a 32-byte Ed25519 seed);
// the key is the did:key of its public key. Contexts come only from the URL=FILE arguments.
import fs from 'node:fs';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import jsigs from 'jsonld-signatures';

const [mode, keyPairFile, ...contextArguments] = process.argv.slice(2);
const contexts = new Map(contextArguments.map(argument => {
  const at = argument.indexOf('=');
  return [argument.slice(0, at), JSON.parse(fs.readFileSync(argument.slice(at + 1), 'utf8'))];
}));

// base58btc, for the 64-byte secret key the library takes (seed ‖ public key).
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const decode58 = text => {
  let n = 0n;
  for(const c of text) {
    n = n * 58n + BigInt(ALPHABET.indexOf(c));
  }
  const bytes = [];
  for(; n > 0n; n >>= 8n) {
    bytes.unshift(Number(n & 255n));
  }
  for(const c of text) {
    if(c !== '1') {
      break;
    }
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
};
const encode58 = bytes => {
  let n = 0n;
  for(const byte of bytes) {
    n = (n << 8n) + BigInt(byte);
  }
  let text = '';
  for(; n > 0n; n /= 58n) {
    text = ALPHABET[Number(n % 58n)] + text;
  }
  for(const byte of bytes) {
    if(byte !== 0) {
      break;
    }
    text = '1' + text;
  }
  return text;
};

const pair = JSON.parse(fs.readFileSync(keyPairFile, 'utf8'));
const seed = decode58(pair.privateKeyMultibase.slice(1)).slice(2);
const publicKey = decode58(pair.publicKeyMultibase.slice(1)).slice(2);
const controller = `did:key:${pair.publicKeyMultibase}`;
const keyPair = await Ed25519Multikey.from({
  '@context': 'https://w3id.org/security/multikey/v1',
  type: 'Multikey',
  controller,
  id: `${controller}#${pair.publicKeyMultibase}`,
  publicKeyMultibase: pair.publicKeyMultibase,
  secretKeyMultibase: 'z' + encode58(Uint8Array.from([0x80, 0x26, ...seed, ...publicKey]))
});
const verificationMethod = await keyPair.export({publicKey: true, includeContext: true});
const documents = new Map([
  [verificationMethod.id, verificationMethod],
  [controller, {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: controller,
    verificationMethod: [verificationMethod],
    assertionMethod: [verificationMethod.id]
  }]
]);
const documentLoader = async url => {
  const document = contexts.get(url) ?? documents.get(url);
  if(!document) {
    throw new Error(`${url} is not in the local document cache`);
  }
  return {contextUrl: null, documentUrl: url, document};
};

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const purpose = new jsigs.purposes.AssertionProofPurpose();
if(mode === 'sign') {
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(), cryptosuite, date: '2026-12-07T00:00:00Z'
  });
  process.stdout.write(JSON.stringify(
    await jsigs.sign(input, {suite, purpose, documentLoader})));
} else {
  const suite = new DataIntegrityProof({cryptosuite});
  const result = await jsigs.verify(input, {suite, purpose, documentLoader});
  process.stdout.write(JSON.stringify({
    verified: result.verified,
    error: result.error ? String(result.error.errors?.[0]?.message ?? result.error.message) : undefined
  }));
}
