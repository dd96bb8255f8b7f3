//! The SP side: validating a Response as a strict service provider does, returning a typed
//! verdict. Everything returned comes from the element a valid signature covers.

use roxmltree::{Document, Node};

use crate::dsig::{self, Verified, VerifyOptions};
use crate::error::{Error, Reason, Result};
use crate::keys::Certificate;
use crate::model::{Assertion, Attribute, NameId, ResponseHeader, SubjectConfirmation};
use crate::ns::{CM_BEARER, DS, SAML, SAMLP};
use crate::time::Instant;
use crate::xml::{self, first_duplicate, is};
use crate::xmlenc::{self, CbcPolicy, DecryptionKey};

/// What the SP expects of a response.
#[derive(Debug, Default)]
pub struct SpConfig {
    pub trusted: Vec<Certificate>,
    /// Acceptable audiences (the SP's entity IDs); when empty, audience is not checked.
    pub audiences: Vec<String>,
    /// The ACS URL the response was posted to: checked against Destination and Recipient.
    pub recipient: Option<String>,
    pub expected_issuer: Option<String>,
    /// `Some(id)` for SP-initiated flows: InResponseTo must equal it. `None` accepts
    /// unsolicited (IdP-initiated) responses, as AWS does.
    pub in_response_to: Option<String>,
    /// Allowed clock difference, in seconds.
    pub skew_seconds: i64,
    pub allow_sha1: bool,
    pub decryption_keys: Vec<DecryptionKey>,
    /// Accept AES-CBC encrypted assertions inside an unsigned Response (AWS does; see
    /// [`xmlenc::CbcPolicy`] for why it is off by default).
    pub allow_cbc: bool,
}

/// Which signatures covered the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    pub response: Option<Verified>,
    pub assertion: Option<Verified>,
}

/// An accepted response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The Response envelope, only when the Response signature verified (otherwise it was
    /// checked, but it is not signed data and is not handed out).
    pub response: Option<ResponseHeader>,
    /// Read from the verified element: everything below comes from it.
    pub assertion: Assertion,
    /// The Subject's NameID, checked to be there and not empty.
    pub name_id: NameId,
    pub session_not_on_or_after: Option<Instant>,
    pub not_on_or_after: Option<Instant>,
    pub signed: Signed,
    pub encrypted: bool,
}

impl Accepted {
    /// The Assertion's Issuer.
    pub fn issuer(&self) -> Option<&str> {
        self.assertion.issuer.as_deref()
    }

    /// The Assertion's attributes, in document order.
    pub fn attributes(&self) -> &[Attribute] {
        &self.assertion.attributes
    }

    /// The first AuthnStatement's SessionIndex.
    pub fn session_index(&self) -> Option<&str> {
        self.assertion.authn_statements.first().and_then(|s| s.session_index.as_deref())
    }
}

fn reject(reason: Reason, message: impl Into<String>) -> Error {
    Error::new(reason, message)
}

/// Validates a SAML Response (XML text) at `now`.
pub fn validate_response(text: &str, config: &SpConfig, now: Instant) -> Result<Accepted> {
    let doc = xml::parse(text, xml::Limits::MESSAGE)?;
    let root = doc.root_element();
    check_structure(&doc)?;
    let header = ResponseHeader::from_node(root)?;
    check_status(&header)?;

    let options = VerifyOptions { trusted: &config.trusted, allow_sha1: config.allow_sha1 };
    let response_signature = dsig::verify_enveloped(root, options)?;

    let encrypted = xml::children(root, SAML, "EncryptedAssertion").next();
    match encrypted {
        None => finish(&doc, header, response_signature, false, config, now),
        Some(enc) => {
            // A verified Response signature covers the ciphertext, so CBC cannot be an oracle.
            let cbc =
                if config.allow_cbc || response_signature.is_some() { CbcPolicy::Allow } else { CbcPolicy::Refuse };
            let plain = xmlenc::decrypt_in_place(&doc, enc, &config.decryption_keys, cbc)?;
            // Whatever goes wrong in the plaintext gets one message: no parser detail escapes.
            let undecryptable = |_| Error::new(Reason::Decryption, xmlenc::UNDECRYPTABLE);
            let decrypted = xml::parse(&plain, xml::Limits::MESSAGE).map_err(undecryptable)?;
            let elements = |d: &Document| d.root_element().children().filter(|c| c.is_element()).count();
            if elements(&decrypted) != elements(&doc) {
                return Err(Error::new(Reason::Wrapping, "the decrypted plaintext is not exactly one Assertion"));
            }
            check_structure(&decrypted)?;
            finish(&decrypted, header, response_signature, true, config, now)
        }
    }
}

fn finish(
    doc: &Document,
    header: ResponseHeader,
    response_signature: Option<Verified>,
    encrypted: bool,
    config: &SpConfig,
    now: Instant,
) -> Result<Accepted> {
    let root = doc.root_element();
    let assertion_node = xml::children(root, SAML, "Assertion")
        .next()
        .ok_or_else(|| reject(Reason::Malformed, "Response has no Assertion"))?;
    let options = VerifyOptions { trusted: &config.trusted, allow_sha1: config.allow_sha1 };
    let assertion_signature = dsig::verify_enveloped(assertion_node, options)?;
    if response_signature.is_none() && assertion_signature.is_none() {
        return Err(reject(Reason::Unsigned, "neither the Response nor the Assertion is signed"));
    }
    let signed = Signed { response: response_signature, assertion: assertion_signature };
    // Read the assertion from the very node whose signature (or whose parent's) verified.
    let assertion = Assertion::from_node(assertion_node)?;
    check_destination(&header, config)?;
    check_issuer(&header, &assertion, config)?;
    check_in_response_to(&header, config)?;
    let confirmation_end = check_subject(&assertion, config, now)?;
    check_conditions(&assertion, config, now)?;
    let statement = assertion.authn_statements.first();
    let session_not_on_or_after = statement.and_then(|s| s.session_not_on_or_after);
    if let Some(end) = session_not_on_or_after
        && now >= end.plus_seconds(config.skew_seconds)
    {
        return Err(reject(Reason::Expired, format!("the session ended at {end} (SessionNotOnOrAfter); now is {now}")));
    }
    let name_id = assertion
        .name_id
        .clone()
        .filter(|n| !n.value.trim().is_empty())
        .ok_or_else(|| reject(Reason::Subject, "the Assertion's Subject has no NameID (or an empty one)"))?;
    Ok(Accepted {
        name_id,
        session_not_on_or_after,
        not_on_or_after: Some(confirmation_end),
        response: response_signature.map(|_| header),
        assertion,
        signed,
        encrypted,
    })
}

/// Shape checks that defeat signature wrapping before any signature is looked at: a Response
/// root, unique IDs, exactly one assertion and it a child of the root, and signatures only
/// where they can cover the data read (directly in the Response or in that Assertion).
/// One walk over the elements gathers what the checks need; they then run in that order.
fn check_structure(doc: &Document) -> Result<()> {
    let root = doc.root_element();
    if !is(root, SAMLP, "Response") {
        return Err(reject(
            Reason::Malformed,
            format!("root element is {}, not samlp:Response", root.tag_name().name()),
        ));
    }
    let mut ids: Vec<&str> = Vec::new();
    let mut assertions: Vec<Node> = Vec::new();
    let mut misplaced_signature = None;
    for node in doc.descendants().filter(Node::is_element) {
        ids.extend(xml::ids_of(node));
        let tag = node.tag_name();
        match (tag.name(), tag.namespace()) {
            ("Assertion" | "EncryptedAssertion", Some(SAML)) => assertions.push(node),
            ("Signature", Some(DS)) if misplaced_signature.is_none() && !signature_placed_well(node, root) => {
                misplaced_signature = Some(node);
            }
            _ => {}
        }
    }
    if let Some(id) = first_duplicate(&ids) {
        return Err(reject(Reason::Wrapping, format!("ID {id:?} appears more than once")));
    }
    match assertions.as_slice() {
        // No assertion is normal for a failed Status; `finish` refuses it for a successful one.
        [] => {}
        [one] if one.parent_element() == Some(root) => {}
        [_] => {
            return Err(reject(Reason::Wrapping, "the Assertion is not a direct child of the Response"));
        }
        many => {
            return Err(reject(
                Reason::Wrapping,
                format!("Response contains {} assertions; exactly one is allowed", many.len()),
            ));
        }
    }
    if let Some(sig) = misplaced_signature {
        let at = sig.parent_element().map(|p| p.tag_name().name()).unwrap_or("the document");
        return Err(reject(
            Reason::Wrapping,
            format!("a Signature sits in {at}, where it cannot cover the Response or its Assertion"),
        ));
    }
    Ok(())
}

/// A Signature can cover what is read only directly in the Response or in its Assertion.
fn signature_placed_well(sig: Node, root: Node) -> bool {
    let parent = sig.parent_element();
    parent == Some(root) || parent.is_some_and(|p| is(p, SAML, "Assertion") && p.parent_element() == Some(root))
}

fn check_status(header: &ResponseHeader) -> Result<()> {
    match &header.status {
        None => Err(reject(Reason::Status, "Response has no Status")),
        Some(s) if !s.is_success() => {
            let sub = s.sub_code.as_deref().map(|c| format!(" / {c}")).unwrap_or_default();
            let msg = s.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            Err(reject(Reason::Status, format!("status is {}{sub}{msg}", s.code)))
        }
        Some(_) => Ok(()),
    }
}

fn check_destination(header: &ResponseHeader, config: &SpConfig) -> Result<()> {
    match (&header.destination, &config.recipient) {
        (Some(d), _) if d.is_empty() => Err(reject(Reason::Destination, "Response has an empty Destination")),
        (Some(d), Some(expected)) if d != expected => Err(reject(
            Reason::Destination,
            format!("Response Destination is {d:?}, but it was received at {expected:?}"),
        )),
        _ => Ok(()),
    }
}

fn check_issuer(header: &ResponseHeader, assertion: &Assertion, config: &SpConfig) -> Result<()> {
    let Some(expected) = &config.expected_issuer else {
        return Ok(());
    };
    for (what, issuer) in [("Response", &header.issuer), ("Assertion", &assertion.issuer)] {
        if let Some(found) = issuer
            && found != expected
        {
            return Err(reject(Reason::Issuer, format!("{what} Issuer is {found:?}, expected {expected:?}")));
        }
    }
    if assertion.issuer.is_none() {
        return Err(reject(Reason::Issuer, "Assertion has no Issuer"));
    }
    Ok(())
}

fn check_in_response_to(header: &ResponseHeader, config: &SpConfig) -> Result<()> {
    match (&config.in_response_to, &header.in_response_to) {
        (Some(expected), Some(found)) if expected != found => Err(reject(
            Reason::InResponseTo,
            format!("InResponseTo is {found:?}, but the pending request is {expected:?}"),
        )),
        (Some(expected), None) => {
            Err(reject(Reason::InResponseTo, format!("Response has no InResponseTo; expected {expected:?}")))
        }
        _ => Ok(()),
    }
}

/// At least one bearer confirmation must hold for this recipient, time and request. Returns
/// its NotOnOrAfter.
fn check_subject(assertion: &Assertion, config: &SpConfig, now: Instant) -> Result<Instant> {
    let mut why = (Reason::SubjectConfirmation, String::from("the Assertion has no bearer SubjectConfirmation"));
    for sc in assertion.subject_confirmations.iter().filter(|sc| sc.method == CM_BEARER) {
        match check_confirmation(sc, config, now) {
            Ok(end) => return Ok(end),
            Err(e) => why = e,
        }
    }
    let (reason, message) = why;
    Err(reject(reason, format!("no valid bearer SubjectConfirmation: {message}")))
}

/// One bearer confirmation: who it is for first, then when.
fn check_confirmation(
    sc: &SubjectConfirmation,
    config: &SpConfig,
    now: Instant,
) -> std::result::Result<Instant, (Reason, String)> {
    let fail = |m: String| (Reason::SubjectConfirmation, m);
    let data =
        sc.data.as_ref().ok_or_else(|| fail("the bearer SubjectConfirmation has no SubjectConfirmationData".into()))?;
    if let Some(expected) = &config.recipient
        && data.recipient.as_deref() != Some(expected)
    {
        let found = data.recipient.as_deref().unwrap_or("");
        return Err(fail(format!("SubjectConfirmationData Recipient is {found:?}, expected {expected:?}")));
    }
    if let Some(expected) = &config.in_response_to
        && data.in_response_to.as_deref() != Some(expected)
    {
        let found = &data.in_response_to;
        return Err((
            Reason::InResponseTo,
            format!("SubjectConfirmationData InResponseTo is {found:?}, expected {expected:?}"),
        ));
    }
    let end = data.not_on_or_after.ok_or_else(|| fail("SubjectConfirmationData has no NotOnOrAfter".into()))?;
    if now >= end.plus_seconds(config.skew_seconds) {
        return Err((Reason::Expired, format!("SubjectConfirmationData expired at {end}; now is {now}")));
    }
    if let Some(start) = data.not_before
        && now < start.minus_seconds(config.skew_seconds)
    {
        return Err((
            Reason::NotYetValid,
            format!("SubjectConfirmationData is not valid before {start}; now is {now}"),
        ));
    }
    Ok(end)
}

fn check_conditions(assertion: &Assertion, config: &SpConfig, now: Instant) -> Result<()> {
    let conditions = assertion
        .conditions
        .as_ref()
        .ok_or_else(|| reject(Reason::Audience, "the Assertion has no Conditions (and so no AudienceRestriction)"))?;
    if let Some(start) = conditions.not_before
        && now < start.minus_seconds(config.skew_seconds)
    {
        return Err(reject(Reason::NotYetValid, format!("the Assertion is not valid before {start}; now is {now}")));
    }
    if let Some(end) = conditions.not_on_or_after
        && now >= end.plus_seconds(config.skew_seconds)
    {
        return Err(reject(Reason::Expired, format!("the Assertion expired at {end}; now is {now}")));
    }
    if !config.audiences.is_empty() {
        if conditions.audience_restrictions.is_empty() {
            return Err(reject(Reason::Audience, "the Assertion has no AudienceRestriction"));
        }
        for restriction in &conditions.audience_restrictions {
            if !restriction.iter().any(|a| config.audiences.contains(a)) {
                return Err(reject(
                    Reason::Audience,
                    format!("audience {:?} does not include {:?}", restriction, config.audiences),
                ));
            }
        }
    }
    Ok(())
}
