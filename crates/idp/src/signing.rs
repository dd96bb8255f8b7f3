//! The IdP's signing keys: the active one, the next one (published in metadata before it
//! signs, so SPs such as AWS can add it first) and the previous one (still published for a
//! while after a switch). Private keys are stored sealed.

use std::sync::Arc;

use idfed_saml::Certificate;
use idfed_saml::random::Random;
use serde::{Deserialize, Serialize};

use crate::error::{IdpError, Result};
use crate::keys::Identity;
use crate::secrets::Sealer;

#[derive(Clone)]
pub struct SigningKeys {
    pub active: Arc<Identity>,
    pub next: Option<Arc<Identity>>,
    pub previous: Option<Arc<Identity>>,
    /// A scheduled rotation: when the next key starts signing, and when the previous one
    /// leaves metadata (unix seconds), and the overlap between steps.
    pub schedule: Schedule,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activate_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_at: Option<i64>,
    #[serde(default)]
    pub overlap: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredIdentity {
    key_pem: String,
    cert_pem: String,
}

#[derive(Serialize, Deserialize)]
struct StoredKeys {
    active: StoredIdentity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<StoredIdentity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous: Option<StoredIdentity>,
    #[serde(default)]
    schedule: Schedule,
}

/// What the document held before rotation existed: one key.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Keys(StoredKeys),
    Single(StoredIdentity),
}

impl SigningKeys {
    pub fn new(active: Identity) -> SigningKeys {
        SigningKeys { active: Arc::new(active), next: None, previous: None, schedule: Schedule::default() }
    }

    /// The certificates metadata publishes: active, then next, then previous.
    pub fn published(&self) -> Vec<Certificate> {
        std::iter::once(&self.active)
            .chain(self.next.iter())
            .chain(self.previous.iter())
            .map(|i| i.certificate.clone())
            .collect()
    }

    pub fn to_json(&self, sealer: &Sealer, rng: &dyn Random) -> Result<String> {
        let store = |i: &Identity| -> Result<StoredIdentity> {
            Ok(StoredIdentity { key_pem: sealer.seal(&i.key_pem, rng)?, cert_pem: i.cert_pem.clone() })
        };
        let stored = StoredKeys {
            active: store(&self.active)?,
            next: self.next.as_deref().map(store).transpose()?,
            previous: self.previous.as_deref().map(store).transpose()?,
            schedule: self.schedule,
        };
        serde_json::to_string(&stored).map_err(|e| IdpError::internal(e.to_string()))
    }

    pub fn from_json(body: &str, sealer: &Sealer) -> Result<SigningKeys> {
        let stored: Stored =
            serde_json::from_str(body).map_err(|e| IdpError::internal(format!("stored signing keys: {e}")))?;
        let open = |s: &StoredIdentity| -> Result<Arc<Identity>> {
            Ok(Arc::new(Identity::from_pem(&sealer.open(&s.key_pem)?, &s.cert_pem)?))
        };
        Ok(match stored {
            Stored::Single(single) => {
                SigningKeys { active: open(&single)?, next: None, previous: None, schedule: Schedule::default() }
            }
            Stored::Keys(keys) => SigningKeys {
                active: open(&keys.active)?,
                next: keys.next.as_ref().map(open).transpose()?,
                previous: keys.previous.as_ref().map(open).transpose()?,
                schedule: keys.schedule,
            },
        })
    }

    /// Stage a new key as next (replacing a staged one).
    pub fn with_next(&self, next: Arc<Identity>) -> SigningKeys {
        SigningKeys { next: Some(next), schedule: Schedule::default(), ..self.clone() }
    }

    /// Stage `next` and let it sign `overlap` seconds from `now`, the old key leaving metadata
    /// one more overlap after that.
    pub fn rotating(&self, next: Arc<Identity>, now: i64, overlap: i64) -> SigningKeys {
        let schedule = Schedule { activate_at: Some(now + overlap), retire_at: None, overlap };
        SigningKeys { next: Some(next), schedule, ..self.clone() }
    }

    /// The next key signs from now on; the active one becomes previous (still published).
    /// A scheduled rotation then plans the retirement one overlap later.
    pub fn activated_at(&self, now: i64) -> Result<SigningKeys> {
        let next = self.next.clone().ok_or_else(|| IdpError::invalid("there is no next key: stage one first"))?;
        let retire_at = (self.schedule.overlap > 0).then_some(now + self.schedule.overlap);
        let schedule = Schedule { activate_at: None, retire_at, overlap: self.schedule.overlap };
        Ok(SigningKeys { active: next, next: None, previous: Some(self.active.clone()), schedule })
    }

    /// The step a schedule calls for at `now`, if any: activate, then retire.
    pub fn due(&self, now: i64) -> Option<&'static str> {
        if self.next.is_some() && self.schedule.activate_at.is_some_and(|t| t <= now) {
            return Some("activate");
        }
        if self.previous.is_some() && self.schedule.retire_at.is_some_and(|t| t <= now) {
            return Some("retire");
        }
        None
    }

    /// Stop publishing the previous key.
    pub fn retired(&self) -> Result<SigningKeys> {
        if self.previous.is_none() {
            return Err(IdpError::invalid("there is no previous key to retire"));
        }
        Ok(SigningKeys { previous: None, schedule: Schedule { retire_at: None, ..self.schedule }, ..self.clone() })
    }
}
