//! Several IdP nodes on one PostgreSQL (separate processes, different loopback ports): a
//! session begun on one works on the other, an SP request answered on one is refused as a
//! replay on the other, a key rotation made from a third process is published by both,
//! sign-in back-off counted on one applies on the other, and a bounded mixed load spread
//! over both completes without an error.

use std::process::{Command, Stdio};

use idfed_saml::bindings::{Param, redirect_url};
use idfed_saml::build::{AuthnRequestSpec, authn_request_xml};

use crate::faults::{Node, http, load};
use crate::sandbox_clients::{required, text};

fn utc_now() -> idfed_saml::Instant {
    let out = Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]).output().unwrap();
    idfed_saml::Instant::parse(String::from_utf8_lossy(&out.stdout).trim()).unwrap()
}

#[test]
fn two_nodes_on_one_postgresql_share_sessions_replay_marks_keys_and_back_off() {
    let Some(admin) = idfed_store::testing::postgres_url() else {
        assert!(!required(), "PostgreSQL is required (IDFED_REQUIRE_ORACLES=1)");
        eprintln!("SKIPPED: no PostgreSQL test server; run scripts/pg-test-server.sh start");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = rt.block_on(idfed_store::testing::fresh_postgres_database(&admin, "idfed_scale_out")).unwrap();
    let node = Node::new("scale-out", Some(url));
    let token = node.prepare("ann-password-123");
    let wiki = node.dir.join("wiki.yaml");
    let exported = node.idfed(&["export"], None);
    std::fs::write(
        &wiki,
        exported.replace(
            "apps:\n",
            "apps:\n- name: wiki\n  label: Wiki\n  type: saml\n  entity_id: https://wiki.example.com/sp\n  acs: [{ url: https://wiki.example.com/acs }]\n",
        ),
    )
    .unwrap();
    node.idfed(&["apply", "-f", wiki.to_str().unwrap()], None);
    let (a_server, a) = node.serve();
    let (b_server, b) = node.serve();
    assert_ne!(a, b);

    // A session from node A works on node B.
    let out = Command::new("python3")
        .args(["-c", &format!(
            "import json,urllib.request as u\nr=u.Request('{a}/api/client/authn',data=json.dumps({{'username':'ann','password':'ann-password-123'}}).encode(),headers={{'content-type':'application/json'}})\nprint(json.load(u.urlopen(r))['session'])"
        )])
        .output()
        .unwrap();
    let session = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(!session.is_empty(), "{}", text(&out));
    assert_eq!(http("POST", &format!("{b}/api/client/apps/aws/saml"), Some("{}"), Some(&session)).0, 200);

    // An AuthnRequest answered on A is a replay on B.
    let xml = authn_request_xml(&AuthnRequestSpec {
        id: "_scale_out_request_1".into(),
        issue_instant: utc_now(),
        issuer: "https://wiki.example.com/sp".into(),
        destination: format!("{a}/app/wiki/saml"),
        acs_url: None,
        protocol_binding: None,
        name_id_format: None,
        force_authn: false,
        is_passive: false,
        requested_authn_context: None,
    })
    .unwrap();
    let first = redirect_url(&format!("{a}/app/wiki/saml"), Param::SamlRequest, &xml, None, None).unwrap();
    assert_eq!(http("GET", &first, None, None).0, 200, "held, then the sign-in page");
    let again = redirect_url(&format!("{b}/app/wiki/saml"), Param::SamlRequest, &xml, None, None).unwrap();
    assert_eq!(http("GET", &again, None, None).0, 400, "the same request on the other node is a replay");

    // A key staged from a third process is published by both nodes.
    node.idfed(&["keys", "stage"], None);
    for n in [&a, &b] {
        let out = Command::new("python3")
            .args(["-c", &format!("import urllib.request as u\nprint(u.urlopen('{n}/app/aws/metadata').read().decode().count('<ds:X509Certificate>'))")])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2", "{n} publishes the active and the next key");
    }

    // A bounded mixed load spread over both nodes: no error.
    let report = load(&["mixed", "--url", &a, "--url", &b, "--token", &token, "--user", "ann"])
        .args(["--password", "ann-password-123", "--app", "aws", "--seconds", "15", "--threads", "4"])
        .args(["--pid", &a_server.pid().to_string(), "--pid", &b_server.pid().to_string()])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&report.stdout).unwrap_or_else(|_| panic!("{}", text(&report)));
    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["requests"].as_u64().unwrap() > 100, "{report}");
    eprintln!("two nodes, mixed load: {report}");

    // Back-off last (it holds loopback off for 15 minutes): failures on A count on B.
    for i in 0..idfed_idp::backoff::LIMIT {
        let body = format!(r#"{{"username":"nobody{i}","password":"guess"}}"#);
        let node = if i % 2 == 0 { &a } else { &b };
        assert_eq!(http("POST", &format!("{node}/api/client/authn"), Some(&body), None).0, 401);
    }
    let body = r#"{"username":"ann","password":"ann-password-123"}"#;
    assert_eq!(http("POST", &format!("{a}/api/client/authn"), Some(body), None).0, 429);
    assert_eq!(http("POST", &format!("{b}/api/client/authn"), Some(body), None).0, 429);
    drop((a_server, b_server));
}
