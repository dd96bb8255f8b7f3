//! `idfed secrets rotate`: a new sealing key, every stored secret (signing key, API integration
//! secret, TOTP seed) resealed under it, the old key kept as an earlier one; afterwards the new
//! key alone opens the data and the old key alone does not.

use crate::faults::Node;

#[test]
fn the_sealing_key_rotates_and_the_old_key_alone_opens_nothing_after() {
    let node = Node::new("secrets-rotate", None);
    node.prepare("ann-password-123");
    let tenant = node.dir.join("api.yaml");
    let exported = node.idfed(&["export"], None);
    std::fs::write(
        &tenant,
        exported.replace(
            "identity_provider_arns:",
            "api_integration: { access_key_id: AKIAIOSFODNN7EXAMPLE, secret_access_key: wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY }\n  identity_provider_arns:",
        ),
    )
    .unwrap();
    node.idfed(&["apply", "-f", tenant.to_str().unwrap()], None);
    let url = node.idfed(&["users", "enroll-totp", "ann"], None);
    let seed = url.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let database = std::fs::read(node.dir.join("idp.sqlite")).unwrap();
    let raw = String::from_utf8_lossy(&database);
    assert!(!raw.contains(&seed) && !raw.contains("wJalrXUtnFEMI"), "no secret in clear in the database");

    let old_key = std::fs::read_to_string(node.dir.join("secret.key")).unwrap();
    let said = node.idfed(&["secrets", "rotate"], None);
    assert!(said.starts_with("resealed 3 secrets under a new key"), "{said}");
    let new_key = std::fs::read_to_string(node.dir.join("secret.key")).unwrap();
    assert_ne!(old_key, new_key);
    assert_eq!(std::fs::read_to_string(node.dir.join("secret.key.previous")).unwrap(), old_key);
    assert!(!node.dir.join("secret.key.new").exists());

    // The new key alone opens everything.
    std::fs::rename(node.dir.join("secret.key.previous"), node.dir.join("kept-aside")).unwrap();
    assert!(node.idfed(&["users", "list"], None).contains("ann"));
    // The old key alone opens nothing.
    std::fs::write(node.dir.join("secret.key"), &old_key).unwrap();
    let out = node.command().args(["users", "list", "--data-dir"]).arg(&node.dir).output().unwrap();
    assert!(!out.status.success(), "the old key must not open the resealed data");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be opened"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(node.dir.join("secret.key"), &new_key).unwrap();
    let log = node.idfed(&["logs", "--event", "secrets.reseal"], None);
    assert!(log.contains("secrets.reseal"), "the rotation is in the system log: {log}");
}
