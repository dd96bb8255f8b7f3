//! `idfed up` without a browser: a second start reuses the data (no new people, no new
//! instance) and warns when the ports moved under the scenario.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use serde_json::Value;

fn start(dir: &std::path::Path, idp: &str, aws: &str) -> (std::process::Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["up", "--json", "--idp-listen", idp, "--aws-listen", aws, "--data-dir"])
        .arg(dir)
        .env_remove("IDFED_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("idfed up said {line:?}"));
    (child, info)
}

fn stop(mut child: std::process::Child) -> String {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "idfed up stops cleanly on SIGTERM: {status:?}");
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    err
}

#[test]
fn a_second_start_reuses_the_scenario_and_warns_when_ports_move() {
    let dir = std::env::temp_dir().join(format!("idfed-up-reuse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (first, info) = start(&dir, "127.0.0.1:0", "127.0.0.1:0");
    assert_eq!(info["first_start"], true);
    let people = info["people"].as_array().unwrap();
    assert_eq!(people.len(), 4);
    assert!(people.iter().all(|p| p["password"].as_str().is_some_and(|pw| pw.len() == 19)), "{info}");
    let (idp, aws) = (info["idp"].as_str().unwrap().to_owned(), info["aws"].as_str().unwrap().to_owned());
    stop(first);

    let (second, again) = start(&dir, idp.trim_start_matches("http://"), aws.trim_start_matches("http://"));
    assert_eq!(again["first_start"], false);
    assert_eq!(again["instance_id"], info["instance_id"], "the same Connect instance");
    assert!(again["people"].as_array().unwrap().iter().all(|p| p["password"].is_null()), "passwords are shown once");
    assert!(!stop(second).contains("warning"));

    let (third, _) = start(&dir, "127.0.0.1:0", "127.0.0.1:0");
    let err = stop(third);
    assert!(err.contains("was set up with the IdP at") && err.contains("--idp-listen"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
