//! SAML metadata: reading EntityDescriptor / EntitiesDescriptor and writing IdP metadata.

use roxmltree::Node;

use crate::error::{Result, malformed};
use crate::keys::Certificate;
use crate::ns::{self, DS, MD};
use crate::xml::{self, children, is, trimmed_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    Signing,
    Encryption,
    /// No `use` attribute: the key serves both.
    Both,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDescriptor {
    pub key_use: KeyUse,
    pub certificates: Vec<Certificate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub binding: String,
    pub location: String,
    pub response_location: Option<String>,
    pub index: Option<u16>,
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleDescriptor {
    pub keys: Vec<KeyDescriptor>,
    pub name_id_formats: Vec<String>,
    pub single_sign_on: Vec<Endpoint>,
    pub single_logout: Vec<Endpoint>,
    pub assertion_consumer: Vec<Endpoint>,
    pub want_authn_requests_signed: bool,
    pub authn_requests_signed: bool,
    pub want_assertions_signed: bool,
}

impl RoleDescriptor {
    /// Certificates usable to verify this role's signatures (use="signing" or no use).
    pub fn signing_certificates(&self) -> Vec<&Certificate> {
        self.keys.iter().filter(|k| k.key_use != KeyUse::Encryption).flat_map(|k| &k.certificates).collect()
    }
    pub fn encryption_certificates(&self) -> Vec<&Certificate> {
        self.keys.iter().filter(|k| k.key_use != KeyUse::Signing).flat_map(|k| &k.certificates).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityDescriptor {
    pub entity_id: String,
    pub idp: Option<RoleDescriptor>,
    pub sp: Option<RoleDescriptor>,
}

/// Parses an `EntityDescriptor`, or every one inside an `EntitiesDescriptor`.
pub fn parse(text: &str) -> Result<Vec<EntityDescriptor>> {
    let doc = xml::parse(text.trim_start_matches('\u{feff}'), xml::Limits::METADATA)?;
    let root = doc.root_element();
    if is(root, MD, "EntityDescriptor") {
        return Ok(vec![entity(root)?]);
    }
    if is(root, MD, "EntitiesDescriptor") {
        return root.descendants().filter(|n| is(*n, MD, "EntityDescriptor")).map(entity).collect();
    }
    Err(malformed(format!(
        "root element is {}, not md:EntityDescriptor or md:EntitiesDescriptor",
        root.tag_name().name()
    )))
}

fn entity(node: Node) -> Result<EntityDescriptor> {
    let entity_id = node
        .attribute("entityID")
        .filter(|e| !e.is_empty())
        .ok_or_else(|| malformed("EntityDescriptor has no entityID"))?;
    let idp = children(node, MD, "IDPSSODescriptor").next().map(role).transpose()?;
    let sp = children(node, MD, "SPSSODescriptor").next().map(role).transpose()?;
    Ok(EntityDescriptor { entity_id: entity_id.to_owned(), idp, sp })
}

fn role(node: Node) -> Result<RoleDescriptor> {
    let mut keys = Vec::new();
    for kd in children(node, MD, "KeyDescriptor") {
        let key_use = match kd.attribute("use") {
            Some("signing") => KeyUse::Signing,
            Some("encryption") => KeyUse::Encryption,
            None => KeyUse::Both,
            Some(other) => {
                return Err(malformed(format!("KeyDescriptor use {other:?} is neither signing nor encryption")));
            }
        };
        let certificates = kd
            .descendants()
            .filter(|n| is(*n, DS, "X509Certificate"))
            .map(|n| {
                Certificate::from_pem_or_base64(&trimmed_text(n))
                    .and_then(|mut v| v.pop().ok_or_else(|| malformed("empty X509Certificate")))
            })
            .collect::<Result<Vec<_>>>()?;
        keys.push(KeyDescriptor { key_use, certificates });
    }
    let endpoints = |local: &'static str| -> Result<Vec<Endpoint>> {
        children(node, MD, local)
            .map(|e| {
                Ok(Endpoint {
                    binding: e.attribute("Binding").unwrap_or_default().to_owned(),
                    location: e
                        .attribute("Location")
                        .ok_or_else(|| malformed(format!("{local} has no Location")))?
                        .to_owned(),
                    response_location: e.attribute("ResponseLocation").map(str::to_owned),
                    index: e
                        .attribute("index")
                        .map(|i| i.parse().map_err(|_| malformed(format!("{local} index is not a number"))))
                        .transpose()?,
                    is_default: e.attribute("isDefault") == Some("true"),
                })
            })
            .collect()
    };
    let flag = |name: &str| matches!(node.attribute(name), Some("true" | "1"));
    Ok(RoleDescriptor {
        keys,
        name_id_formats: children(node, MD, "NameIDFormat").map(trimmed_text).collect(),
        single_sign_on: endpoints("SingleSignOnService")?,
        single_logout: endpoints("SingleLogoutService")?,
        assertion_consumer: endpoints("AssertionConsumerService")?,
        want_authn_requests_signed: flag("WantAuthnRequestsSigned"),
        authn_requests_signed: flag("AuthnRequestsSigned"),
        want_assertions_signed: flag("WantAssertionsSigned"),
    })
}

/// What IdP metadata publishes.
#[derive(Debug, Clone)]
pub struct IdpMetadata<'a> {
    pub entity_id: &'a str,
    /// Every signing certificate currently published (old and new during a rollover).
    pub signing_certificates: &'a [Certificate],
    pub sso_post: Option<&'a str>,
    pub sso_redirect: Option<&'a str>,
    pub slo_redirect: Option<&'a str>,
    pub name_id_formats: &'a [&'a str],
    pub want_authn_requests_signed: bool,
}

/// Writes IdP metadata (unsigned), as AWS's CreateSAMLProvider and SPs take it.
pub fn idp_metadata_xml(m: &IdpMetadata) -> String {
    use crate::bindings::html_escape as esc;
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:EntityDescriptor xmlns:md=\"{MD}\" xmlns:ds=\"{DS}\" entityID=\"{}\">\n  <md:IDPSSODescriptor WantAuthnRequestsSigned=\"{}\" protocolSupportEnumeration=\"{}\">\n",
        esc(m.entity_id),
        m.want_authn_requests_signed,
        ns::SAMLP
    );
    for cert in m.signing_certificates {
        out.push_str(&format!(
            "    <md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n",
            cert.to_base64()
        ));
    }
    if let Some(slo) = m.slo_redirect {
        out.push_str(&format!(
            "    <md:SingleLogoutService Binding=\"{}\" Location=\"{}\"/>\n",
            ns::BINDING_REDIRECT,
            esc(slo)
        ));
    }
    for format in m.name_id_formats {
        out.push_str(&format!("    <md:NameIDFormat>{}</md:NameIDFormat>\n", esc(format)));
    }
    for (binding, location) in [(ns::BINDING_POST, m.sso_post), (ns::BINDING_REDIRECT, m.sso_redirect)] {
        if let Some(location) = location {
            out.push_str(&format!(
                "    <md:SingleSignOnService Binding=\"{binding}\" Location=\"{}\"/>\n",
                esc(location)
            ));
        }
    }
    out.push_str("  </md:IDPSSODescriptor>\n</md:EntityDescriptor>\n");
    out
}
