// An independent wallet for the registry's holder tests (tests/integration/issue_22_holders.rs),
// built only from outside libraries: @openid4vc/openid4vci and @openid4vc/openid4vp (the
// OpenID4VC protocol clients) and the OpenWallet Foundation's @sd-jwt/sd-jwt-vc (SD-JWT VC
// verification and presentation). Its own code is only glue: keys (Node's Ed25519), HTTP, a
// did:key decoder, and a JSON file as the wallet's store.
//
//   node wallet.mjs receive WALLET_FILE OFFER_URI TX_CODE
//       receives the offered credential (pre-authorized code, key proof), verifies it with
//       @sd-jwt/sd-jwt-vc and stores it; prints {claims, credential}
//   node wallet.mjs verify - SD_JWT
//       verifies an SD-JWT VC with @sd-jwt/sd-jwt-vc alone (issuer signature from its kid's
//       did:key, every disclosure's digest); prints its claims, or fails
//   node wallet.mjs present WALLET_FILE REQUEST_URI [--aud AUD] [--extra CLAIM] [--no-submit]
//       resolves the signed request (by reference), discloses only the claims its DCQL
//       query asks for, binds them to its nonce and audience and posts them (direct_post);
//       prints {status, body, vpToken, state, disclosed}
import crypto from "node:crypto";
import fs from "node:fs";
import { Openid4vciClient } from "@openid4vc/openid4vci";
import { Openid4vpClient } from "@openid4vc/openid4vp";
import { setGlobalConfig, clientAuthenticationNone } from "@openid4vc/oauth2";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest, generateSalt } from "@sd-jwt/crypto-nodejs";

// The tests run the node on http://127.0.0.1.
setGlobalConfig({ allowInsecureUrls: true });

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");

// did:key of an Ed25519 key: base58btc of 0xed 0x01 ‖ key.
function didKeyJwk(did) {
  const id = did.split("#")[0];
  if (!id.startsWith("did:key:z")) throw new Error(`not a did:key: ${did}`);
  const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  let n = 0n;
  for (const c of id.slice("did:key:z".length)) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error("bad base58");
    n = n * 58n + BigInt(v);
  }
  const bytes = [];
  while (n > 0n) { bytes.unshift(Number(n % 256n)); n /= 256n; }
  if (bytes[0] !== 0xed || bytes[1] !== 0x01 || bytes.length !== 34) throw new Error("not an Ed25519 did:key");
  return { kty: "OKP", crv: "Ed25519", x: b64u(bytes.slice(2)) };
}

const publicKeyOf = (jwk) => crypto.createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: "jwk" });

function signCompact(header, payload, privateJwk) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const key = crypto.createPrivateKey({ key: privateJwk, format: "jwk" });
  return `${input}.${b64u(crypto.sign(null, Buffer.from(input), key))}`;
}

function verifyCompact(compact, publicJwk) {
  const [h, p, s] = compact.split(".");
  return crypto.verify(null, Buffer.from(`${h}.${p}`), publicKeyOf(publicJwk), Buffer.from(s, "base64url"));
}

function callbacks(holderJwk) {
  return {
    fetch,
    hash: (data, alg) => {
      if (alg !== "sha-256") throw new Error(`hash ${alg}`);
      return new Uint8Array(crypto.createHash("sha256").update(data).digest());
    },
    generateRandom: (bytes) => new Uint8Array(crypto.randomBytes(bytes)),
    clientAuthentication: clientAuthenticationNone({ clientId: "talent-wallet" }),
    signJwt: async (signer, { header, payload }) => {
      const publicJwk = { kty: "OKP", crv: "Ed25519", x: holderJwk.x };
      return { jwt: signCompact(header, payload, holderJwk), signerJwk: publicJwk };
    },
    verifyJwt: async (signer, { compact }) => {
      let jwk;
      if (signer.method === "did") jwk = didKeyJwk(signer.didUrl);
      else if (signer.method === "jwk") jwk = signer.publicJwk;
      else return { verified: false };
      return { verified: verifyCompact(compact, jwk), signerJwk: jwk };
    },
  };
}

// The SD-JWT VC library, verifying the issuer's signature with the key its kid names.
function sdJwtVc(holderJwk, issuerJwk) {
  return new SDJwtVcInstance({
    hasher: digest,
    hashAlg: "sha-256",
    saltGenerator: generateSalt,
    signAlg: "EdDSA",
    verifier: (data, sig) =>
      issuerJwk ? crypto.verify(null, Buffer.from(data), publicKeyOf(issuerJwk), Buffer.from(sig, "base64url")) : false,
    kbSignAlg: "EdDSA",
    kbSigner: (data) => b64u(crypto.sign(null, Buffer.from(data), crypto.createPrivateKey({ key: holderJwk, format: "jwk" }))),
  });
}

function issuerJwkOf(sdJwt) {
  const header = JSON.parse(Buffer.from(sdJwt.split(".")[0], "base64url"));
  return didKeyJwk(header.kid);
}

async function receive(walletFile, offerUri, txCode) {
  const { privateKey } = crypto.generateKeyPairSync("ed25519");
  const holderJwk = privateKey.export({ format: "jwk" });
  const client = new Openid4vciClient({ callbacks: callbacks(holderJwk) });
  const offer = await client.resolveCredentialOffer(offerUri);
  const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer, issuerMetadata, txCode,
  });
  const configurationId = offer.credential_configuration_ids[0];
  const { c_nonce } = await client.requestNonce({ issuerMetadata });
  const proof = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    nonce: c_nonce,
    signer: { method: "jwk", alg: "EdDSA", publicJwk: { kty: "OKP", crv: "Ed25519", x: holderJwk.x } },
  });
  const { credentialResponse } = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proofs: { jwt: [proof.jwt] },
  });
  const credential = credentialResponse.credentials[0].credential;
  // The library's own verification: issuer signature, disclosures' digests, vct.
  const verified = await sdJwtVc(holderJwk, issuerJwkOf(credential)).verify(credential);
  fs.writeFileSync(walletFile, JSON.stringify({ holderJwk, credential }));
  return { claims: verified.payload, credential, accessToken: accessTokenResponse.access_token };
}

async function present(walletFile, requestUri, options) {
  const { holderJwk, credential } = JSON.parse(fs.readFileSync(walletFile, "utf8"));
  const cb = callbacks(holderJwk);
  const client = new Openid4vpClient({ callbacks: cb });
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: requestUri });
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: parsed.params,
  });
  const request = resolved.authorizationRequestPayload;
  const query = resolved.dcql.query.credentials[0];
  // Disclose exactly the claims the query names (paths under credentialSubject).
  const frame = { credentialSubject: {} };
  for (const claim of query.claims ?? []) frame.credentialSubject[claim.path[1]] = true;
  // A careless wallet that discloses more than asked (the tests' --extra NAME).
  for (const name of options.extra) frame.credentialSubject[name] = true;
  const presentation = await sdJwtVc(holderJwk, issuerJwkOf(credential)).present(credential, frame, {
    kb: {
      payload: {
        aud: options.aud ?? request.client_id,
        nonce: request.nonce,
        iat: Math.floor(Date.now() / 1000),
      },
    },
  });
  const vpToken = { [query.id]: [presentation] };
  const disclosed = Object.keys(frame.credentialSubject);
  if (options.noSubmit) return { vpToken: JSON.stringify(vpToken), state: request.state, disclosed };
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: vpToken },
  });
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload,
  });
  const body = await submitted.response.text();
  return {
    status: submitted.response.status,
    body: body ? JSON.parse(body) : null,
    vpToken: JSON.stringify(vpToken),
    state: request.state,
    disclosed,
  };
}

const [command, walletFile, ...rest] = process.argv.slice(2);
const flag = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
try {
  let out;
  if (command === "receive") out = await receive(walletFile, rest[0], rest[1]);
  else if (command === "verify") {
    const { privateKey } = crypto.generateKeyPairSync("ed25519");
    const verified = await sdJwtVc(privateKey.export({ format: "jwk" }), issuerJwkOf(rest[0])).verify(rest[0]);
    out = { claims: verified.payload };
  } else if (command === "present")
    out = await present(walletFile, rest[0], {
      aud: flag("--aud"),
      noSubmit: rest.includes("--no-submit"),
      extra: flag("--extra") ? [flag("--extra")] : [],
    });
  else throw new Error(`unknown command ${command}`);
  process.stdout.write(JSON.stringify(out));
} catch (error) {
  process.stderr.write(`wallet: ${error?.stack ?? error}\n${JSON.stringify(error?.errorResponse ?? error?.response ?? "")}\n`);
  process.exit(1);
}
