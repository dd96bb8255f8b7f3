//! SAML identity providers: Create/Get/List/Update/DeleteSAMLProvider.

use idfed_saml::random::Random;
use idfed_saml::{Instant, metadata};

use crate::error::AwsError;
use crate::iam::{already_exists, check_name, invalid_input, no_such_entity};
use crate::ids;
use crate::state::{SamlProvider, State};

pub const COULD_NOT_PARSE: &str = "Could not parse metadata.";

/// Reads IdP metadata as IAM does: well-formed, no BOM, an IDPSSODescriptor, at least one
/// signing certificate with a key of 1024 bits or more.
pub fn read_metadata(text: &str) -> Result<(String, Vec<idfed_saml::Certificate>), AwsError> {
    if !(1000..=10_000_000).contains(&text.len()) {
        return Err(crate::iam::validation(
            "…",
            "sAMLMetadataDocument",
            if text.len() < 1000 {
                "Member must have length greater than or equal to 1000"
            } else {
                "Member must have length less than or equal to 10000000"
            },
        ));
    }
    if text.starts_with('\u{feff}') {
        return Err(invalid_input(COULD_NOT_PARSE));
    }
    let entities = metadata::parse(text).map_err(|_| invalid_input(COULD_NOT_PARSE))?;
    let entity = entities.into_iter().find(|e| e.idp.is_some()).ok_or_else(|| invalid_input(COULD_NOT_PARSE))?;
    let certificates: Vec<_> = entity.idp.iter().flat_map(|idp| idp.signing_certificates()).cloned().collect();
    if certificates.is_empty() {
        return Err(invalid_input(COULD_NOT_PARSE));
    }
    if certificates.len() > 10 {
        return Err(AwsError::sender(409, "LimitExceeded", "Cannot exceed quota for KeysPerSamlProvider: 10"));
    }
    Ok((entity.entity_id, certificates))
}

pub fn create(
    state: &mut State,
    account: &str,
    name: &str,
    metadata_text: &str,
    now: Instant,
    rng: &dyn Random,
) -> Result<String, AwsError> {
    check_name(name, "name", 128, ".-")?;
    let arn = state.arn(account, "iam", "", &format!("saml-provider/{name}"));
    if state.providers.contains_key(&arn) {
        return Err(already_exists(format!("SAMLProvider {name} already exists.")));
    }
    if state.providers.values().filter(|p| p.account == account).count() >= 100 {
        return Err(AwsError::sender(409, "LimitExceeded", "Cannot exceed quota for SamlProvidersPerAccount: 100"));
    }
    let (entity_id, certificates) = read_metadata(metadata_text)?;
    state.providers.insert(
        arn.clone(),
        SamlProvider {
            arn: arn.clone(),
            name: name.to_owned(),
            account: account.to_owned(),
            uuid: ids::provider_uuid(rng),
            metadata: metadata_text.to_owned(),
            entity_id,
            certificates,
            created: now,
            valid_until: now.plus_seconds(100 * 365 * 86_400),
            assertion_encryption_mode: None,
            private_keys: Vec::new(),
        },
    );
    Ok(arn)
}

pub fn get<'s>(state: &'s State, arn: &str) -> Result<&'s SamlProvider, AwsError> {
    state.providers.get(arn).ok_or_else(|| no_such_entity(format!("Manifest not found for arn {arn}")))
}

pub fn update_metadata(state: &mut State, arn: &str, metadata_text: &str) -> Result<(), AwsError> {
    let (entity_id, certificates) = read_metadata(metadata_text)?;
    let provider =
        state.providers.get_mut(arn).ok_or_else(|| no_such_entity(format!("Manifest not found for arn {arn}")))?;
    provider.metadata = metadata_text.to_owned();
    provider.entity_id = entity_id;
    provider.certificates = certificates;
    Ok(())
}

pub fn delete(state: &mut State, arn: &str) -> Result<(), AwsError> {
    state.providers.remove(arn).map(|_| ()).ok_or_else(|| no_such_entity(format!("Manifest not found for arn {arn}")))
}
