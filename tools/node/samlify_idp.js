#!/usr/bin/env node
// samlify acting as an IdP for AWS: an independent implementation that builds and signs an
// IdP-initiated SAML Response, so our SP/sandbox can be tested against someone else's signer.
//
//   node tools/node/samlify_idp.js --key KEY.pem --cert CERT.pem --out-response FILE
//        --out-metadata FILE [--acs URL] [--entity-id URL] [--name-id ID] [--name-id-format URN]
//        [--roles "ROLE_ARN,PROVIDER_ARN;ROLE_ARN,PROVIDER_ARN"] [--session-name NAME]
//        [--session-duration SECONDS] [--sign assertion|response|both] [--out-base64 FILE]
//
// --out-response gets the XML (what the browser would POST, base64-decoded); --out-base64 the
// SAMLResponse form value. The XML is schema-checked with samlify's own validator plugin before
// it is written. Exit 0 on success, 1 on failure, 2 on usage errors.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const samlify = require('samlify');
// Offline XSD validator (xmllint compiled to JS; no native build, no download). samlify only
// calls it when parsing, and we also run it on our own output below.
const xmllint = require('@authenio/samlify-node-xmllint');

samlify.setSchemaValidator(xmllint);

const AWS_ATTR = 'https://aws.amazon.com/SAML/Attributes/';
const URI_FORMAT = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';

const OPTIONS = {
  key: null, cert: null, 'out-response': null, 'out-metadata': null, 'out-base64': '',
  acs: 'https://signin.aws.amazon.com/saml',
  'entity-id': 'https://idp.samlify.test/metadata',
  'name-id': 'alice@example.com',
  'name-id-format': 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  roles: 'arn:aws:iam::111122223333:role/SandboxUser,arn:aws:iam::111122223333:saml-provider/samlify',
  'session-name': 'alice',
  'session-duration': '3600',
  sign: 'assertion',
};

function usage(msg) {
  process.stderr.write(`samlify_idp.js: ${msg}\n(see the header of ${__filename} for usage)\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { ...OPTIONS };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--') || !(name in o)) usage(`unknown option ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    o[name] = argv[i + 1];
  }
  for (const req of ['key', 'cert', 'out-response', 'out-metadata']) {
    if (!o[req]) usage(`--${req} is required`);
  }
  if (!['assertion', 'response', 'both'].includes(o.sign)) usage('--sign must be assertion|response|both');
  if (!/^[0-9]+$/.test(o['session-duration'])) usage('--session-duration must be seconds');
  o.roleValues = o.roles.split(';').map((r) => r.trim()).filter(Boolean);
  if (o.roleValues.length === 0) usage('--roles needs at least one "role_arn,provider_arn" pair');
  return o;
}

// The Response skeleton, in samlify's {Tag} template syntax. IdP-initiated: no InResponseTo
// (samlify's default template writes InResponseTo="" which is not a valid xs:NCName).
function awsTemplate(roleCount) {
  const roleValues = Array.from({ length: roleCount }, (_, i) =>
    `<saml:AttributeValue>{attrRole${i}}</saml:AttributeValue>`).join('');
  const attr = (name, values) =>
    `<saml:Attribute Name="${AWS_ATTR}${name}" NameFormat="${URI_FORMAT}">${values}</saml:Attribute>`;
  return '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ' +
    'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" ' +
    'IssueInstant="{IssueInstant}" Destination="{Destination}">' +
    '<saml:Issuer>{Issuer}</saml:Issuer>' +
    '<samlp:Status><samlp:StatusCode Value="{StatusCode}"/></samlp:Status>' +
    '<saml:Assertion ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">' +
    '<saml:Issuer>{Issuer}</saml:Issuer>' +
    '<saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID>' +
    '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
    '<saml:SubjectConfirmationData NotOnOrAfter="{NotOnOrAfter}" Recipient="{Destination}"/>' +
    '</saml:SubjectConfirmation></saml:Subject>' +
    '<saml:Conditions NotBefore="{NotBefore}" NotOnOrAfter="{NotOnOrAfter}">' +
    '<saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction>' +
    '</saml:Conditions>' +
    '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}">' +
    '<saml:AuthnContext><saml:AuthnContextClassRef>' +
    'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport' +
    '</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>' +
    '<saml:AttributeStatement>' +
    attr('Role', roleValues) +
    attr('RoleSessionName', '<saml:AttributeValue>{attrRoleSessionName}</saml:AttributeValue>') +
    attr('SessionDuration', '<saml:AttributeValue>{attrSessionDuration}</saml:AttributeValue>') +
    '</saml:AttributeStatement></saml:Assertion></samlp:Response>';
}

const newId = () => '_' + crypto.randomUUID();

// Rejects (and logs the errors) if samlify produced schema-invalid XML. The emscripten xmllint
// prints a stray blank line through console.log; keep our stdout to the one summary line.
async function schemaCheck(xml) {
  const log = console.log;
  console.log = () => {};
  try { await xmllint.validate(xml); } finally { console.log = log; }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const post = samlify.Constants.namespace.binding.post;
  const template = awsTemplate(o.roleValues.length);

  const idp = samlify.IdentityProvider({
    entityID: o['entity-id'],
    privateKey: fs.readFileSync(o.key, 'utf8'),
    signingCert: fs.readFileSync(o.cert, 'utf8'),
    nameIDFormat: [o['name-id-format']],
    singleSignOnService: [{ Binding: post, Location: o['entity-id'].replace(/\/metadata$/, '') + '/sso' }],
    singleLogoutService: [{ Binding: post, Location: o['entity-id'].replace(/\/metadata$/, '') + '/slo' }],
    requestSignatureAlgorithm: samlify.Constants.algorithms.signature.RSA_SHA256,
    loginResponseTemplate: { context: template, attributes: [] },
  });
  // AWS as samlify sees it. samlify signs the Assertion iff the SP wants assertions signed, and
  // the whole Response iff the SP wants messages signed or does not want assertions signed.
  const sp = samlify.ServiceProvider({
    entityID: 'urn:amazon:webservices',
    assertionConsumerService: [{ Binding: post, Location: o.acs }],
    wantAssertionsSigned: o.sign !== 'response',
    wantMessageSigned: o.sign === 'both',
  });

  const now = new Date();
  const later = new Date(now.getTime() + 5 * 60 * 1000);
  const values = {
    ID: newId(),
    AssertionID: newId(),
    SessionIndex: newId(),
    IssueInstant: now.toISOString(),
    NotBefore: now.toISOString(),
    NotOnOrAfter: later.toISOString(),
    Destination: o.acs,
    Issuer: o['entity-id'],
    Audience: 'urn:amazon:webservices',
    StatusCode: samlify.Constants.StatusCode.Success,
    NameIDFormat: o['name-id-format'],
    NameID: o['name-id'],
    attrRoleSessionName: o['session-name'],
    attrSessionDuration: o['session-duration'],
  };
  o.roleValues.forEach((r, i) => { values[`attrRole${i}`] = r; });

  // samlify fills the template (XML-escaping every value), then signs.
  const { context: b64 } = await idp.createLoginResponse(sp, null, 'post', { email: o['name-id'] }, {
    customTagReplacement: (tpl) => ({ id: values.ID, context: samlify.SamlLib.replaceTagsByValue(tpl, values) }),
  });
  const xml = Buffer.from(b64, 'base64').toString('utf8');
  await schemaCheck(xml);

  fs.writeFileSync(o['out-response'], xml);
  if (o['out-base64']) fs.writeFileSync(o['out-base64'], b64 + '\n');
  fs.writeFileSync(o['out-metadata'], idp.getMetadata());
  const sigs = (xml.match(/<ds:Signature[\s>]/g) || []).length;
  console.log(`samlify ${require('samlify/package.json').version}: wrote ${o['out-response']} ` +
    `(Response ${values.ID}, sign=${o.sign}, ${sigs} signature(s), ${o.roleValues.length} role(s))`);
}

main().catch((e) => {
  process.stderr.write(`samlify_idp.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
