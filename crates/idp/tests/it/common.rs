//! A seeded random source, a frozen clock, the IdP's test key and the seeds' tenant.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

use idfed_idp::keys::Identity;
use idfed_idp::tenant::Tenant;
use idfed_saml::Instant;
use idfed_saml::random::Random;

pub fn now() -> Instant {
    Instant::parse("2026-12-02T10:00:00Z").unwrap()
}

/// A clock that starts at [`now`] and moves when the test adds seconds to the counter.
pub fn moving_clock() -> (idfed_idp::service::Clock, std::sync::Arc<AtomicI64>) {
    let seconds = std::sync::Arc::new(AtomicI64::new(now().unix_seconds()));
    let read = seconds.clone();
    (std::sync::Arc::new(move || Instant::from_unix_seconds(read.load(Ordering::SeqCst))), seconds)
}

pub fn idp_key() -> &'static Identity {
    static KEY: OnceLock<Identity> = OnceLock::new();
    KEY.get_or_init(|| Identity::generate("idfed test IdP", now()).unwrap())
}

pub fn other_key() -> &'static Identity {
    static KEY: OnceLock<Identity> = OnceLock::new();
    KEY.get_or_init(|| Identity::generate("someone else", now()).unwrap())
}

/// A deterministic byte stream (splitmix64).
pub struct Seeded(Cell<u64>);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(Cell::new(seed))
    }
}

impl Random for Seeded {
    fn fill(&self, dest: &mut [u8]) -> idfed_saml::Result<()> {
        for chunk in dest.chunks_mut(8) {
            let mut z = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            self.0.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

pub const ISSUER: &str = "http://127.0.0.1:8080/app/connect-admin";

/// Seeds 001, 002 and 004 as a tenant file.
pub const SEEDS_TENANT: &str = r#"
schema:
  custom:
    - { name: connect_username, title: Connect Username, type: string }
    - { name: connect_role, title: Connect Role, type: string }
users:
  - { id: u1, login: test, email: test@example.com, first_name: Test, last_name: User }
  - id: u2
    login: Agent.One@example.com
    email: agent.one@example.com
    first_name: Agent
    last_name: One
    profile: { connect_username: AgentOne, connect_role: "arn:aws:iam::111122223333:role/Okta_Role,arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin" }
  - { id: u3, login: mapped, email: mapped@example.com, status: active }
  - { id: u4, login: gone, email: gone@example.com, status: suspended }
groups:
  - { name: GroupAWS, members: [test] }
  - { name: "aws#111122223333#Admin", members: [mapped] }
  - { name: "aws#444455556666#ReadOnly", members: [mapped] }
  - { name: "aws#444455556666#FromAd", source: active_directory, members: [mapped] }
apps:
  - name: aws
    label: Amazon Web Services
    type: aws
    identity_provider_arns: ["arn:aws:iam::111122223333:saml-provider/Okta"]
    session_duration: 7200
  - name: aws-joined
    label: AWS (joined)
    type: aws
    identity_provider_arns: ["arn:aws:iam::111122223333:saml-provider/Okta"]
    join_all_roles: true
  - name: aws-mapped
    label: AWS (group mapping)
    type: aws
    group_mapping:
      app_filter: okta
      group_filter: 'aws#(?{{accountid}}\d{12})#(?{{role}}[\w\-]+)'
      role_value_pattern: 'arn:aws:iam::${accountid}:saml-provider/Okta,arn:aws:iam::${accountid}:role/${role}'
  - name: connect-scv
    label: Amazon Connect (SCV)
    type: aws
    environment: regional
    region: us-west-2
    identity_provider_arns: ["arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin"]
    default_relay_state: https://us-west-2.console.aws.amazon.com/connect/federate/4c1a2f6e-0000-4000-8000-000000000001
    attribute_statements:
      - { name: "https://aws.amazon.com/SAML/Attributes/RoleSessionName", format: uri, value: user.connect_username }
      - { name: "https://aws.amazon.com/SAML/Attributes/Role", format: uri, value: user.connect_role }
      - { name: email, value: String.toLowerCase(user.email) }
assignments:
  - { app: aws, user: test, roles: [Role1, Role2] }
  - { app: aws, group: GroupAWS, roles: [RoleA, RoleB] }
  - { app: aws-joined, user: test, roles: [Role1, Role2] }
  - { app: aws-joined, group: GroupAWS, roles: [RoleA, RoleB] }
  - { app: aws-mapped, user: mapped }
  - { app: connect-scv, user: Agent.One@example.com }
  - { app: aws, user: gone, roles: [Role1] }
"#;

pub fn seeds_tenant() -> Tenant {
    let tenant: Tenant = serde_norway::from_str(SEEDS_TENANT).unwrap();
    tenant.validate().unwrap();
    tenant
}

pub fn oracles_required() -> bool {
    std::env::var_os("IDFED_REQUIRE_ORACLES").is_some_and(|v| v == "1")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idfed-idp-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The current code (at the frozen clock) for a TOTP secret shown on a page (base32).
pub fn totp_code(secret: &str, login: &str) -> String {
    let generator = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(secret.to_owned()).to_bytes().unwrap(),
        Some("idfed".into()),
        login.to_owned(),
    )
    .unwrap();
    generator.generate(now().unix_seconds() as u64)
}
