//! Enveloped XML signatures under a strict profile (DESIGN.md): one Reference to the very
//! element that carries the signature, only the enveloped-signature and exclusive c14n
//! transforms, algorithms from an allow-list, keys only from configured certificates.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, VerificationAlgorithm};
use roxmltree::Node;

use crate::c14n::{self, Options};
use crate::encoding::{base64_decode, base64_encode, escape_ascii};
use crate::error::{Error, Reason, Result};
use crate::keys::{Certificate, Curve, PublicKey, SigningKey};
use crate::ns::{self, DS};
use crate::xml::{self, children, id_of, only_child, required_child, trimmed_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    RsaSha1,
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaSha256,
    EcdsaSha384,
}

impl SignatureAlgorithm {
    pub const fn uri(self) -> &'static str {
        match self {
            Self::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Self::RsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            Self::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            Self::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            Self::EcdsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        }
    }

    /// Exact URI match only: look-alikes such as `xmldsig-more#rsa-sha1` are refused.
    pub fn from_uri(uri: &str) -> Option<Self> {
        [Self::RsaSha1, Self::RsaSha256, Self::RsaSha384, Self::RsaSha512, Self::EcdsaSha256, Self::EcdsaSha384]
            .into_iter()
            .find(|a| a.uri() == uri)
    }

    /// The short names the CLI and configuration use.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "rsa-sha1" => Some(Self::RsaSha1),
            "rsa-sha256" => Some(Self::RsaSha256),
            "rsa-sha384" => Some(Self::RsaSha384),
            "rsa-sha512" => Some(Self::RsaSha512),
            "ecdsa-sha256" => Some(Self::EcdsaSha256),
            "ecdsa-sha384" => Some(Self::EcdsaSha384),
            _ => None,
        }
    }

    /// This algorithm's place among a certificate's parsed keys (one per variant).
    const fn slot(self) -> usize {
        self as usize
    }

    fn verifier(self, key: &PublicKey) -> Option<&'static dyn VerificationAlgorithm> {
        match (self, key) {
            (Self::RsaSha1, PublicKey::Rsa { .. }) => Some(&signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY),
            (Self::RsaSha256, PublicKey::Rsa { .. }) => {
                Some(&signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY)
            }
            (Self::RsaSha384, PublicKey::Rsa { bits, .. }) if *bits >= 2048 => {
                Some(&signature::RSA_PKCS1_2048_8192_SHA384)
            }
            (Self::RsaSha512, PublicKey::Rsa { .. }) => {
                Some(&signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY)
            }
            (Self::EcdsaSha256, PublicKey::Ec { curve: Curve::P256, .. }) => Some(&signature::ECDSA_P256_SHA256_FIXED),
            (Self::EcdsaSha384, PublicKey::Ec { curve: Curve::P384, .. }) => Some(&signature::ECDSA_P384_SHA384_FIXED),
            _ => None,
        }
    }
}

const _: () = assert!(SignatureAlgorithm::EcdsaSha384.slot() + 1 == crate::keys::VERIFY_ALGORITHMS);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub const fn uri(self) -> &'static str {
        match self {
            Self::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            Self::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Self::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            Self::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    pub fn from_uri(uri: &str) -> Option<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512].into_iter().find(|a| a.uri() == uri)
    }

    fn digest(self, data: &[u8]) -> digest::Digest {
        let alg = match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data)
    }
}

/// How to sign.
#[derive(Debug, Clone)]
pub struct SignOptions {
    pub algorithm: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
    /// Prefixes for the InclusiveNamespaces PrefixList of the exc-c14n transform.
    pub inclusive_prefixes: Vec<String>,
}

impl SignOptions {
    /// The key's default algorithm, SHA-256 digests, and `xs` in the PrefixList (as Okta does):
    /// attribute values say `xsi:type="xs:string"`, a use of `xs` that exclusive c14n would
    /// otherwise leave out of the signed form.
    pub fn for_key(key: &SigningKey) -> Self {
        SignOptions {
            algorithm: key.default_algorithm(),
            digest: DigestAlgorithm::Sha256,
            inclusive_prefixes: vec!["xs".to_owned()],
        }
    }
}

/// Inserts an enveloped signature into the element whose `ID` is `id`, right after its Issuer
/// (where the SAML schema wants it), and returns the new document. `certificate`, when given,
/// goes into KeyInfo for the receiver's information; verifiers never take keys from there.
pub fn sign_element(
    document: &str,
    id: &str,
    key: &SigningKey,
    certificate: Option<&Certificate>,
    options: &SignOptions,
) -> Result<String> {
    let doc = xml::parse(document, xml::Limits::MESSAGE)?;
    let target = doc
        .descendants()
        .find(|n| n.is_element() && id_of(*n) == Some(id))
        .ok_or_else(|| Error::new(Reason::Malformed, format!("no element with ID {id:?} to sign")))?;
    if children(target, DS, "Signature").next().is_some() {
        return Err(Error::new(Reason::Malformed, format!("element {id:?} is already signed")));
    }
    let insert_at = match only_child(target, ns::SAML, "Issuer")? {
        Some(issuer) => issuer.range().end,
        None => target
            .first_child()
            .map(|c| c.range().start)
            .ok_or_else(|| Error::new(Reason::Malformed, format!("element {id:?} is empty: nothing to sign")))?,
    };

    let prefixes: Vec<&str> = options.inclusive_prefixes.iter().map(String::as_str).collect();
    let canonical = c14n::canonicalize(target, None, Options { with_comments: false, inclusive_prefixes: &prefixes });
    let digest_value = base64_encode(options.digest.digest(&canonical).as_ref());

    let signed_info_body = signed_info_body(id, options, &digest_value);
    let canonical_signed_info = format!("<ds:SignedInfo xmlns:ds=\"{DS}\">{signed_info_body}");
    let signature_value = base64_encode(&key.sign(options.algorithm, canonical_signed_info.as_bytes())?);

    let mut signature = String::with_capacity(signed_info_body.len() + signature_value.len() + 1800);
    signature.push_str("<ds:Signature xmlns:ds=\"");
    signature.push_str(DS);
    signature.push_str("\"><ds:SignedInfo>");
    signature.push_str(&signed_info_body);
    signature.push_str("<ds:SignatureValue>");
    signature.push_str(&signature_value);
    signature.push_str("</ds:SignatureValue>");
    if let Some(cert) = certificate {
        signature.push_str("<ds:KeyInfo><ds:X509Data><ds:X509Certificate>");
        signature.push_str(&cert.to_base64());
        signature.push_str("</ds:X509Certificate></ds:X509Data></ds:KeyInfo>");
    }
    signature.push_str("</ds:Signature>");

    let (head, tail) =
        document.split_at_checked(insert_at).ok_or_else(|| Error::new(Reason::Malformed, "bad insertion point"))?;
    Ok([head, &signature, tail].concat())
}

/// SignedInfo's content after its start tag, already in canonical form.
fn signed_info_body(id: &str, options: &SignOptions, digest_value: &str) -> String {
    let mut s = String::with_capacity(900);
    s.push_str("<ds:CanonicalizationMethod Algorithm=\"");
    s.push_str(ns::C14N_EXCL);
    s.push_str("\"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"");
    s.push_str(options.algorithm.uri());
    s.push_str("\"></ds:SignatureMethod><ds:Reference URI=\"#");
    push_attribute(&mut s, id);
    s.push_str("\"><ds:Transforms><ds:Transform Algorithm=\"");
    s.push_str(ns::TRANSFORM_ENVELOPED);
    s.push_str("\"></ds:Transform><ds:Transform Algorithm=\"");
    s.push_str(ns::C14N_EXCL);
    s.push_str("\">");
    if !options.inclusive_prefixes.is_empty() {
        s.push_str("<ec:InclusiveNamespaces xmlns:ec=\"");
        s.push_str(ns::C14N_EXCL);
        s.push_str("\" PrefixList=\"");
        push_attribute(&mut s, &options.inclusive_prefixes.join(" "));
        s.push_str("\"></ec:InclusiveNamespaces>");
    }
    s.push_str("</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm=\"");
    s.push_str(options.digest.uri());
    s.push_str("\"></ds:DigestMethod><ds:DigestValue>");
    s.push_str(digest_value);
    s.push_str("</ds:DigestValue></ds:Reference></ds:SignedInfo>");
    s
}

/// Appends `value` escaped as canonical form escapes an attribute value.
fn push_attribute(out: &mut String, value: &str) {
    escape_ascii(value, c14n::attribute_escape, |piece| out.push_str(piece));
}

/// What verification trusts.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    pub trusted: &'a [Certificate],
    /// RSA-SHA1 and SHA-1 digests are refused unless this is set.
    pub allow_sha1: bool,
}

/// A signature that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub algorithm: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
    /// Index into `VerifyOptions::trusted` of the certificate whose key verified it.
    pub certificate: usize,
}

fn profile(message: impl Into<String>) -> Error {
    Error::new(Reason::Profile, message)
}

/// Verifies the enveloped signature that is a direct child of `element`. `Ok(None)` when the
/// element carries no signature; an error when it carries one that is not valid under the
/// profile or does not verify with a trusted certificate, or carries more than one.
pub fn verify_enveloped<'a>(element: Node<'a, 'a>, options: VerifyOptions) -> Result<Option<Verified>> {
    let mut signatures = children(element, DS, "Signature");
    let Some(sig) = signatures.next() else {
        return Ok(None);
    };
    if signatures.next().is_some() {
        return Err(Error::new(
            Reason::Wrapping,
            format!("{} carries more than one Signature", element.tag_name().name()),
        ));
    }
    for child in sig.children().filter(|c| c.is_element()) {
        let name = child.tag_name().name();
        if child.tag_name().namespace() != Some(DS) || !matches!(name, "SignedInfo" | "SignatureValue" | "KeyInfo") {
            return Err(profile(format!(
                "Signature contains {name}, outside the profile (SignedInfo, SignatureValue, KeyInfo)"
            )));
        }
    }
    let signed_info = required_child(sig, DS, "SignedInfo")?;

    let c14n_method = required_child(signed_info, DS, "CanonicalizationMethod")?;
    let (c14n_comments, c14n_prefixes) = c14n_algorithm(c14n_method)?;

    let method_uri = required_child(signed_info, DS, "SignatureMethod")?.attribute("Algorithm").unwrap_or_default();
    let algorithm = SignatureAlgorithm::from_uri(method_uri)
        .ok_or_else(|| profile(format!("SignatureMethod {method_uri:?} is not in the allow-list")))?;
    if algorithm == SignatureAlgorithm::RsaSha1 && !options.allow_sha1 {
        return Err(profile("RSA-SHA1 signatures are refused (enable SHA-1 explicitly to accept them)"));
    }

    for child in signed_info.children().filter(|c| c.is_element()) {
        let name = child.tag_name().name();
        if child.tag_name().namespace() != Some(DS)
            || !matches!(name, "CanonicalizationMethod" | "SignatureMethod" | "Reference")
        {
            return Err(profile(format!("SignedInfo contains {name}, outside the profile")));
        }
    }
    let mut references = children(signed_info, DS, "Reference");
    let reference = references.next().ok_or_else(|| profile("SignedInfo has no Reference"))?;
    if references.next().is_some() {
        return Err(profile("SignedInfo has more than one Reference"));
    }
    let element_id = id_of(element)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Error::new(Reason::Wrapping, format!("signed {} has no ID", element.tag_name().name())))?;
    let uri = reference.attribute("URI").unwrap_or_default();
    if uri.strip_prefix('#') != Some(element_id) {
        return Err(Error::new(
            Reason::Wrapping,
            format!(
                "Reference URI {uri:?} does not point at the enclosing {} (ID {element_id:?})",
                element.tag_name().name()
            ),
        ));
    }

    let digest_prefixes = reference_transforms(reference)?;
    let digest_uri = required_child(reference, DS, "DigestMethod")?.attribute("Algorithm").unwrap_or_default();
    let digest_alg = DigestAlgorithm::from_uri(digest_uri)
        .ok_or_else(|| profile(format!("DigestMethod {digest_uri:?} is not in the allow-list")))?;
    if digest_alg == DigestAlgorithm::Sha1 && !options.allow_sha1 {
        return Err(profile("SHA-1 digests are refused (enable SHA-1 explicitly to accept them)"));
    }
    let expected_digest = base64_decode(&trimmed_text(required_child(reference, DS, "DigestValue")?))
        .map_err(|_| Error::new(Reason::Signature, "DigestValue is not valid base64"))?;

    // The signature over SignedInfo is checked first: only a trusted signer's transforms and
    // prefix lists ever drive the (larger) canonicalization of the referenced element.
    let si_prefixes: Vec<&str> = c14n_prefixes.iter().map(String::as_str).collect();
    let signed_bytes = c14n::canonicalize(
        signed_info,
        None,
        Options { with_comments: c14n_comments, inclusive_prefixes: &si_prefixes },
    );
    let signature_value = base64_decode(&trimmed_text(required_child(sig, DS, "SignatureValue")?))
        .map_err(|_| Error::new(Reason::Signature, "SignatureValue is not valid base64"))?;
    let certificate = verify_bytes(algorithm, options.trusted, &signed_bytes, &signature_value)?;

    // A same-document "#id" reference drops comments before the transforms run.
    let prefixes: Vec<&str> = digest_prefixes.iter().map(String::as_str).collect();
    let canonical =
        c14n::canonicalize(element, Some(sig.id()), Options { with_comments: false, inclusive_prefixes: &prefixes });
    let actual_digest = digest_alg.digest(&canonical);
    if !constant_time_eq(actual_digest.as_ref(), &expected_digest) {
        return Err(Error::new(
            Reason::Signature,
            format!(
                "digest of {} {element_id:?} does not match: its content was changed after signing",
                element.tag_name().name()
            ),
        ));
    }
    Ok(Some(Verified { algorithm, digest: digest_alg, certificate }))
}

/// Verifies `signature` over `data` with the first trusted certificate whose key fits the
/// algorithm and verifies it; returns that certificate's index.
pub(crate) fn verify_bytes(
    algorithm: SignatureAlgorithm,
    trusted: &[Certificate],
    data: &[u8],
    signature: &[u8],
) -> Result<usize> {
    let mut usable = 0;
    for (index, cert) in trusted.iter().enumerate() {
        let Some(verifier) = algorithm.verifier(&cert.public_key) else {
            continue;
        };
        usable += 1;
        if cert.verification_key(algorithm.slot(), verifier).is_some_and(|key| key.verify_sig(data, signature).is_ok())
        {
            return Ok(index);
        }
    }
    if usable == 0 {
        return Err(Error::new(
            Reason::Signature,
            format!("no trusted certificate has a key for {} (trusted: {})", algorithm.uri(), trusted.len()),
        ));
    }
    Err(Error::new(Reason::Signature, "signature does not verify with any trusted certificate"))
}

/// The canonicalization method of SignedInfo: exclusive c14n, with or without comments.
fn c14n_algorithm(method: Node) -> Result<(bool, Vec<String>)> {
    let with_comments = match method.attribute("Algorithm").unwrap_or_default() {
        ns::C14N_EXCL => false,
        ns::C14N_EXCL_COMMENTS => true,
        other => {
            return Err(profile(format!("canonicalization {other:?} is not exclusive c14n")));
        }
    };
    Ok((with_comments, inclusive_prefix_list(method)?))
}

/// The Reference's transforms must be enveloped-signature, optionally followed by exclusive
/// c14n; returns the latter's PrefixList.
fn reference_transforms(reference: Node) -> Result<Vec<String>> {
    let transforms = only_child(reference, DS, "Transforms")?
        .ok_or_else(|| profile("Reference has no Transforms (enveloped-signature is required)"))?;
    let list: Vec<Node> = transforms.children().filter(|c| c.is_element()).collect();
    let algorithm = |n: &Node| n.attribute("Algorithm").unwrap_or_default().to_owned();
    if list.iter().any(|t| !xml::is(*t, DS, "Transform")) {
        return Err(profile("Transforms holds something other than Transform"));
    }
    match list.as_slice() {
        [only] if algorithm(only) == ns::TRANSFORM_ENVELOPED => Err(profile(
            "the Reference has only the enveloped-signature transform, which implies inclusive c14n; the profile requires exclusive c14n",
        )),
        [first, second] if algorithm(first) == ns::TRANSFORM_ENVELOPED => match algorithm(second).as_str() {
            ns::C14N_EXCL | ns::C14N_EXCL_COMMENTS => inclusive_prefix_list(*second),
            other => Err(profile(format!(
                "transform {other:?} is not allowed (only enveloped-signature and exclusive c14n)"
            ))),
        },
        _ => Err(profile(format!(
            "transforms [{}] are not allowed (only enveloped-signature, then exclusive c14n)",
            list.iter().map(algorithm).collect::<Vec<_>>().join(", ")
        ))),
    }
}

const MAX_INCLUSIVE_PREFIXES: usize = 32;

fn inclusive_prefix_list(parent: Node) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for child in parent.children().filter(|c| c.is_element()) {
        if !xml::is(child, ns::C14N_EXCL, "InclusiveNamespaces") {
            return Err(profile(format!("unexpected {} inside a canonicalization method", child.tag_name().name())));
        }
        for prefix in child.attribute("PrefixList").unwrap_or_default().split_ascii_whitespace() {
            let ncname = prefix.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && prefix.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if prefix != "#default" && !ncname {
                return Err(profile(format!("PrefixList entry {prefix:?} is not a namespace prefix")));
            }
            if !out.iter().any(|p| p == prefix) {
                out.push(prefix.to_owned());
            }
        }
    }
    if out.len() > MAX_INCLUSIVE_PREFIXES {
        return Err(profile(format!(
            "PrefixList names {} prefixes, over the limit of {MAX_INCLUSIVE_PREFIXES}",
            out.len()
        )));
    }
    Ok(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
