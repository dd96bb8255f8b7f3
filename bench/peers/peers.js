#!/usr/bin/env node
// Node peers of idfed's sign/verify benchmark: how fast other SAML stacks sign and verify the same
// typical AWS response (a Response with one Assertion signed with RSA-SHA256, SHA-256 digest,
// exclusive c14n, two Role values, about 4 KB). The Node half of bench/peers/peers.py, same rules:
//
// Measured in this process, after require(), with keys and certificates loaded once outside the loop:
//   sign      from the response with its ds:Signature removed (the unsigned document, as text):
//             parse it, put an enveloped signature on the saml:Assertion (right after its
//             saml:Issuer, Reference URI="#<Assertion ID>", the X.509 certificate in KeyInfo) and
//             serialize the whole document: what an IdP must produce.
//   verify    from the signed response (the base64-decoded SAMLResponse): parse, verify the
//             Assertion's signature with the configured certificate (never the one in KeyInfo)
//             and return the verified element.
//   validate  a library's whole SP-side check of the base64 SAMLResponse (signature, issuer,
//             times, audience...), with a clock tolerance that covers the fixture's age.
//
// Before timing, each row is checked once: a signer's output must pass `xmlsec1 --verify` with only
// the certificate trusted, and must carry its signature where SAML wants it; a verifier must accept
// the response and reject a copy with one Role value changed. A row that fails is reported with an
// "error" and not timed. Each op runs for a short warm-up, then for SECONDS of wall time.
//
// Usage: node peers.js --key KEY.pem --cert CERT.pem --response RESPONSE.b64 [--seconds 3]
// Prints one JSON object: {"node": VERSION, "peers": [{"peer", "op", "mean_us", "per_second",
// "iterations", "note"} or {"peer", "op", "error", "note"}, ...]}. Exit status 1 if a row failed.
'use strict';
const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { DOMParser } = require('@xmldom/xmldom');

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
// One Role value of the fixture, and what the tampered copy says instead.
const ROLE = 'arn:aws:iam::111122223333:role/Okta_Role,';
const TAMPERED_ROLE = 'arn:aws:iam::111122223333:role/Okta_Evil,';
const AWS_ACS = 'https://signin.aws.amazon.com/saml';
const AWS_AUDIENCE = 'urn:amazon:webservices';
// XPaths (xml-crypto and xpath take local-name() tests) to the Response's one Assertion and its Issuer.
const ASSERTION_XPATH = "/*[local-name(.)='Response']/*[local-name(.)='Assertion']";
const ISSUER_XPATH = `${ASSERTION_XPATH}/*[local-name(.)='Issuer']`;

class PeerError extends Error {}

// ------------------------------------------------------------------ fixture

function parseXml(text) {
  const errors = [];
  const onError = (level, msg) => { if (level !== 'warning') errors.push(msg); };
  const doc = new DOMParser({ onError }).parseFromString(text, 'text/xml');
  if (errors.length) throw new PeerError(`not well-formed XML: ${errors[0]}`);
  return doc;
}

function children(el, ns, localName) {
  const out = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && n.namespaceURI === ns && n.localName === localName) out.push(n);
  }
  return out;
}

function onlyChild(el, ns, localName) {
  const found = children(el, ns, localName);
  if (found.length !== 1) throw new PeerError(`expected one ${localName} in ${el.localName}, found ${found.length}`);
  return found[0];
}

function nextElement(node) {
  let n = node.nextSibling;
  while (n && n.nodeType !== 1) n = n.nextSibling;
  return n;
}

// The key, the certificate and the documents every peer works on.
function loadFixture(args) {
  const keyPem = fs.readFileSync(args.key, 'utf8');
  const certPem = fs.readFileSync(args.cert, 'utf8');
  const signedB64 = fs.readFileSync(args.response, 'ascii').replace(/\s+/g, '');
  const signed = Buffer.from(signedB64, 'base64').toString('utf8');
  if (!signed.includes(ROLE)) throw new Error(`the response carries no ${ROLE} value`);
  const tampered = signed.replace(ROLE, TAMPERED_ROLE);
  const doc = parseXml(signed);
  const assertion = onlyChild(doc.documentElement, SAML, 'Assertion');
  const signature = onlyChild(assertion, DS, 'Signature');
  assertion.removeChild(signature);
  return {
    keyPem,
    certPem,
    certPath: args.cert,
    signed,
    signedB64,
    tampered,
    tamperedB64: Buffer.from(tampered, 'utf8').toString('base64'),
    unsigned: doc.toString(),
    assertionId: assertion.getAttribute('ID'),
    issuer: onlyChild(doc.documentElement, SAML, 'Issuer').textContent,
    issueInstantMs: Date.parse(assertion.getAttribute('IssueInstant')),
  };
}

// A verifier reads the XML text; a validator reads the POSTed base64.
function inputFor(fx, op, tampered = false) {
  if (op === 'validate') return tampered ? fx.tamperedB64 : fx.signedB64;
  return tampered ? fx.tampered : fx.signed;
}

// A clock tolerance that keeps the fixture inside its validity window however old it is: the
// library still runs its time checks, they just pass (as they would for a fresh response).
function clockSkewMs(fx) {
  return Math.abs(Date.now() - fx.issueInstantMs) + 60000;
}

// ------------------------------------------------------------------ checks

// out (a signed document) must carry one enveloped signature as SAML wants it, and xmlsec1,
// trusting only the certificate, must say it verifies.
function checkSigned(fx, out) {
  const doc = parseXml(out);
  const assertion = onlyChild(doc.documentElement, SAML, 'Assertion');
  const sig = nextElement(onlyChild(assertion, SAML, 'Issuer'));
  if (!sig || sig.namespaceURI !== DS || sig.localName !== 'Signature') {
    throw new PeerError("ds:Signature is not the element right after the Assertion's Issuer");
  }
  const refs = children(onlyChild(sig, DS, 'SignedInfo'), DS, 'Reference');
  const uris = refs.map((r) => r.getAttribute('URI'));
  if (uris.length !== 1 || uris[0] !== `#${fx.assertionId}`) {
    throw new PeerError(`Reference URIs are ${JSON.stringify(uris)}, not the Assertion's ID`);
  }
  if (doc.getElementsByTagNameNS(DS, 'Signature').length !== 1) {
    throw new PeerError('signed output carries more than one ds:Signature');
  }
  xmlsec1Verify(fx.certPath, out);
}

function xmlsec1Verify(certPath, documentText) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-js-'));
  const file = path.join(dir, 'signed.xml');
  try {
    fs.writeFileSync(file, documentText);
    const r = childProcess.spawnSync('xmlsec1', ['--verify', '--enabled-key-data', 'rsa',
      '--pubkey-cert-pem', certPath, '--id-attr:ID', `${SAML}:Assertion`, file], { encoding: 'utf8' });
    const lines = `${r.stdout || ''}${r.stderr || ''}`.trim().split('\n');
    if (r.status !== 0 || !lines.includes('OK')) {
      throw new PeerError(`xmlsec1 rejects the signed output: ${r.error || lines[lines.length - 1]}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// verify must accept the response (returning the Assertion, or a library's result object) and
// reject the tampered copy (throw, or return a false value).
async function checkVerifier(fx, op, verify) {
  let result;
  try {
    result = await verify(inputFor(fx, op));
  } catch (e) {
    throw new PeerError(`rejects the valid response: ${e.message}`);
  }
  if (!result) throw new PeerError('rejects the valid response');
  if (result.nodeType === 1 && (result.namespaceURI !== SAML || result.localName !== 'Assertion'
      || result.getAttribute('ID') !== fx.assertionId)) {
    throw new PeerError(`returned ${result.localName}, not the signed Assertion`);
  }
  let tampered;
  try {
    tampered = await verify(inputFor(fx, op, true));
  } catch (e) {
    return;
  }
  if (tampered) throw new PeerError('accepts a response whose Role value was changed after signing');
}

// ------------------------------------------------------------------ timing

// Call fn() until `seconds` of wall time have passed. Async ops are awaited one at a time.
async function runFor(fn, seconds, isAsync) {
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let n = 0;
  let now;
  for (;;) {
    if (isAsync) await fn(); else fn();
    n += 1;
    now = process.hrtime.bigint();
    if (now >= end) return { n, elapsed: Number(now - start) / 1e9 };
  }
}

async function measure(fn, seconds, isAsync) {
  await runFor(fn, Math.min(0.5, Math.max(0.1, seconds / 10)), isAsync); // warm-up: JIT, caches
  const { n, elapsed } = await runFor(fn, seconds, isAsync);
  return {
    mean_us: Math.round((elapsed / n) * 1e7) / 10,
    per_second: Math.round((n / elapsed) * 10) / 10,
    iterations: n,
  };
}

// ------------------------------------------------------------------ xml-crypto

function version(pkg) {
  return require(`${pkg}/package.json`).version;
}

// SignedXml with the reference on the Assertion (enveloped + exc-c14n, PrefixList "xs"), the
// signature placed after the Assertion's Issuer, the certificate published in KeyInfo.
// computeSignature parses the text itself; getSignedXml serializes the signed document.
function xmlCryptoSign(fx) {
  const { SignedXml } = require('xml-crypto');
  const privateKey = crypto.createPrivateKey(fx.keyPem);
  return () => {
    const sig = new SignedXml({
      privateKey,
      publicCert: fx.certPem,
      signatureAlgorithm: RSA_SHA256,
      canonicalizationAlgorithm: EXC_C14N,
    });
    sig.addReference({
      xpath: ASSERTION_XPATH,
      transforms: [ENVELOPED, EXC_C14N],
      digestAlgorithm: SHA256,
      inclusiveNamespacesPrefixList: ['xs'],
    });
    sig.computeSignature(fx.unsigned, { prefix: 'ds', location: { reference: ISSUER_XPATH, action: 'after' } });
    return sig.getSignedXml();
  };
}

// The flow xml-crypto's README prescribes: parse, pick the Assertion's own ds:Signature, verify
// with publicCert (getCertFromKeyInfo returning null, so KeyInfo is never used), then trust only
// getSignedReferences(): its one reference is parsed and must be the Assertion with that ID.
function xmlCryptoVerify(fx) {
  const { SignedXml } = require('xml-crypto');
  const publicCert = crypto.createPublicKey(fx.certPem);
  return (xml) => {
    const doc = parseXml(xml);
    const assertion = onlyChild(doc.documentElement, SAML, 'Assertion');
    const sig = new SignedXml({ publicCert, getCertFromKeyInfo: () => null });
    sig.loadSignature(onlyChild(assertion, DS, 'Signature'));
    if (!sig.checkSignature(xml)) return false;
    const signed = sig.getSignedReferences();
    if (signed.length !== 1) throw new PeerError(`${signed.length} signed references`);
    const el = parseXml(signed[0]).documentElement;
    if (el.namespaceURI !== SAML || el.localName !== 'Assertion' || el.getAttribute('ID') !== assertion.getAttribute('ID')) {
      throw new PeerError('the signed reference is not the Assertion');
    }
    return el;
  };
}

// ------------------------------------------------------------------ node-saml

// SAML.validatePostResponseAsync as AWS's sign-in endpoint would run it: the certificate as
// idpCert, assertions must be signed (the Response itself is not), issuer and audience checked.
function nodeSamlValidate(fx) {
  const { SAML } = require('@node-saml/node-saml');
  const saml = new SAML({
    idpCert: fx.certPem,
    idpIssuer: fx.issuer,
    issuer: AWS_AUDIENCE,
    audience: AWS_AUDIENCE,
    callbackUrl: AWS_ACS,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: 'never',
    acceptedClockSkewMs: clockSkewMs(fx),
  });
  return async (b64) => {
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: b64 });
    return profile;
  };
}

// ------------------------------------------------------------------ samlify

// ServiceProvider.parseLoginResponse with an IdentityProvider built from the entity ID and the
// certificate (samlify makes its metadata); samlify verifies with the KeyInfo certificate only
// after checking it is the one in that metadata. Its schema validator is pluggable: a no-op here.
function samlifyValidate(fx) {
  const samlify = require('samlify');
  samlify.setSchemaValidator({ validate: () => Promise.resolve('not validated') });
  const idp = samlify.IdentityProvider({
    entityID: fx.issuer,
    signingCert: fx.certPem,
    singleSignOnService: [{ Binding: POST_BINDING, Location: 'https://idp.invalid/sso' }],
    singleLogoutService: [{ Binding: POST_BINDING, Location: 'https://idp.invalid/slo' }],
  });
  const skew = clockSkewMs(fx);
  const sp = samlify.ServiceProvider({
    entityID: AWS_AUDIENCE,
    assertionConsumerService: [{ Binding: POST_BINDING, Location: AWS_ACS }],
    wantAssertionsSigned: true,
    clockDrifts: [-skew, skew],
  });
  return async (b64) => {
    const { extract } = await sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: b64 } });
    return extract;
  };
}

// ------------------------------------------------------------------ the rows

const ROWS = [
  {
    name: () => `xml-crypto ${version('xml-crypto')}`,
    op: 'sign',
    setup: xmlCryptoSign,
    note: 'new SignedXml, addReference (exc-c14n PrefixList="xs"), computeSignature(text) with '
      + 'location after Issuer, getSignedXml',
  },
  {
    name: () => `xml-crypto ${version('xml-crypto')}`,
    op: 'verify',
    setup: xmlCryptoVerify,
    note: 'parse, loadSignature(Assertion/Signature), checkSignature(text) with publicCert (it parses '
      + 'again), parse getSignedReferences()[0] and check it is the Assertion',
  },
  {
    name: () => `node-saml ${version('@node-saml/node-saml')} (xml-crypto ${version('xml-crypto')})`,
    op: 'validate',
    setup: nodeSamlValidate,
    async: true,
    note: 'SAML.validatePostResponseAsync, idpCert = the certificate, wantAssertionsSigned, audience '
      + 'and idpIssuer checked, acceptedClockSkewMs covering the fixture age',
  },
  {
    name: () => `samlify ${version('samlify')} (xml-crypto ${version('xml-crypto')})`,
    op: 'validate',
    setup: samlifyValidate,
    async: true,
    note: 'ServiceProvider.parseLoginResponse(idp, "post"), IdP built from entity ID + certificate; '
      + 'schema validator a no-op (samlify takes a pluggable one); clockDrifts covering the fixture age',
  },
];

async function runRow(fx, row, seconds) {
  let peer;
  try {
    peer = row.name();
  } catch (e) {
    return { peer: row.setup.name, op: row.op, error: `cannot load: ${e.message}`, note: row.note };
  }
  const out = { peer, op: row.op };
  try {
    const fn = row.setup(fx);
    let timed;
    if (row.op === 'sign') {
      checkSigned(fx, fn());
      timed = fn;
    } else {
      await checkVerifier(fx, row.op, fn);
      const good = inputFor(fx, row.op);
      timed = () => fn(good);
    }
    Object.assign(out, await measure(timed, seconds, Boolean(row.async)));
  } catch (e) {
    out.error = e.message || String(e);
  }
  out.note = row.note;
  return out;
}

function parseArgs(argv) {
  const a = { key: null, cert: null, response: null, seconds: '3' };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--') || !(name in a) || i + 1 >= argv.length) {
      process.stderr.write(`peers.js: bad argument ${argv[i]}\n`
        + 'usage: node peers.js --key KEY.pem --cert CERT.pem --response RESPONSE.b64 [--seconds 3]\n');
      process.exit(2);
    }
    a[name] = argv[i + 1];
  }
  a.seconds = Number(a.seconds);
  if (!a.key || !a.cert || !a.response || !(a.seconds > 0)) {
    process.stderr.write('peers.js: --key, --cert and --response are required, --seconds > 0\n');
    process.exit(2);
  }
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const fx = loadFixture(args);
  const rows = [];
  for (const row of ROWS) rows.push(await runRow(fx, row, args.seconds));
  process.stdout.write(`${JSON.stringify({ node: process.version, peers: rows }, null, 1)}\n`);
  process.exitCode = rows.some((r) => 'error' in r) ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`peers.js: ${e.stack || e}\n`);
  process.exit(2);
});
