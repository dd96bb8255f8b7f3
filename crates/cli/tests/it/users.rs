//! `idfed users sign-out`: a person's sessions end on a running node (a lost laptop), while the
//! password keeps working.

use crate::faults::{Node, http};

#[test]
fn a_person_signed_out_from_the_command_line_is_refused_by_the_running_node() {
    let node = Node::new("users-sign-out", None);
    node.prepare("ann-password-123");
    let (server, url) = node.serve();
    let authn = r#"{"username":"ann","password":"ann-password-123"}"#;
    let session = || {
        let out = std::process::Command::new("python3")
            .args(["-c", &format!(
                "import json,urllib.request as u\nr=u.Request('{url}/api/client/authn',data=json.dumps({authn}).encode(),headers={{'content-type':'application/json'}})\nprint(json.load(u.urlopen(r))['session'])"
            )])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let token = session();
    assert!(!token.is_empty());
    let launch = |token: &str| http("POST", &format!("{url}/api/client/apps/aws/saml"), Some("{}"), Some(token)).0;
    assert_eq!(launch(&token), 200);
    let said = node.idfed(&["users", "sign-out", "ANN"], None);
    assert!(said.contains("ann is signed out everywhere"), "{said}");
    assert_eq!(launch(&token), 401, "the session ended on the running node");
    assert_eq!(launch(&session()), 200, "the password still signs in");
    let log = node.idfed(&["logs", "--event", "user.session.revoke_all"], None);
    assert!(log.contains("user.session.revoke_all"), "{log}");
    let unknown = node.command().args(["users", "sign-out", "nobody", "--data-dir"]).arg(&node.dir).output().unwrap();
    assert!(!unknown.status.success());
    drop(server);
}
