//! Faults with real processes on loopback: `kill -9` of the IdP in the middle of a burst of
//! admin writes and sign-ins (SQLite and PostgreSQL) loses no acknowledged write and leaves
//! nothing half-written; PostgreSQL stopped under load gives quick 503s, and the IdP recovers
//! by itself when it returns; a full disk under SQLite is a clear error and no corruption.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::sandbox_clients::{Server, repo, required, text};

/// An IdP's data: a directory, and a PostgreSQL URL when the store is there.
pub(crate) struct Node {
    pub(crate) dir: PathBuf,
    pub(crate) database: Option<String>,
}

impl Node {
    pub(crate) fn new(label: &str, database: Option<String>) -> Node {
        let dir = std::env::temp_dir().join(format!("idfed-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Node { dir, database }
    }

    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_idfed"));
        command.env_remove("IDFED_DATABASE_URL");
        if let Some(url) = &self.database {
            command.args(["--database-url", url]);
        }
        command
    }

    pub(crate) fn idfed(&self, args: &[&str], password: Option<&str>) -> String {
        let mut command = self.command();
        command.args(args).arg("--data-dir").arg(&self.dir);
        if let Some(p) = password {
            command.env("IDFED_PASSWORD", p);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "idfed {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The seeds-like tenant of one person with an AWS app, and an API token.
    pub(crate) fn prepare(&self, password: &str) -> String {
        let tenant = self.dir.join("tenant.yaml");
        std::fs::write(
            &tenant,
            "users:\n  - { login: ann, email: ann@example.com }\napps:\n  - { name: aws, label: AWS, type: aws, identity_provider_arns: [\"arn:aws:iam::111122223333:saml-provider/Okta\"] }\nassignments:\n  - { app: aws, user: ann, roles: [Okta_Role] }\n",
        )
        .unwrap();
        self.idfed(&["apply", "-f", tenant.to_str().unwrap()], None);
        self.idfed(&["users", "set-password", "ann"], Some(password));
        let out = self.idfed(&["api-tokens", "create", "load"], None);
        out.lines().find(|l| l.starts_with("idfed_")).unwrap_or_else(|| panic!("no token in {out:?}")).trim().to_owned()
    }

    pub(crate) fn serve(&self) -> (Server, String) {
        let mut child = self
            .command()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.split_whitespace().nth(2).unwrap_or_else(|| panic!("the IdP said {line:?}")).to_owned();
        (Server::new(child), url)
    }
}

pub(crate) fn load(args: &[&str]) -> Command {
    let mut command = Command::new("python3");
    command.arg(repo().join("tools/load/idp_load.py")).args(args);
    command
}

/// `(status, seconds)` of one HTTP call, by python's urllib (no HTTP client in this crate).
pub(crate) fn http(method: &str, url: &str, body: Option<&str>, token: Option<&str>) -> (u16, f64) {
    let script = format!(
        "import json,sys,time,urllib.request,urllib.error\nr=urllib.request.Request({url:?},data={data},method={method:?},headers={{'content-type':'application/json'{auth}}})\nt=time.monotonic()\ntry:\n  s=urllib.request.urlopen(r,timeout=30).status\nexcept urllib.error.HTTPError as e:\n  s=e.code\nexcept Exception:\n  s=0\nprint(s, time.monotonic()-t)",
        data = body.map_or("None".to_owned(), |b| format!("{b:?}.encode()")),
        auth = token.map_or(String::new(), |t| format!(",'authorization':'Bearer {t}'")),
    );
    let out = Command::new("python3").args(["-c", &script]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let mut parts = said.split_whitespace();
    (
        parts.next().and_then(|s| s.parse().ok()).unwrap_or(0),
        parts.next().and_then(|s| s.parse().ok()).unwrap_or(f64::MAX),
    )
}

fn backends(label: &str) -> Vec<Option<String>> {
    let mut list = vec![None];
    match idfed_store::testing::postgres_url() {
        Some(admin) => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            list.push(Some(rt.block_on(idfed_store::testing::fresh_postgres_database(&admin, label)).unwrap()));
        }
        None => {
            assert!(!required(), "PostgreSQL is required (IDFED_REQUIRE_ORACLES=1)");
            eprintln!("SKIPPED (PostgreSQL): no test server; run scripts/pg-test-server.sh start");
        }
    }
    list
}

#[test]
fn kill_9_during_a_burst_loses_no_acknowledged_write() {
    for database in backends("idfed_kill9") {
        let backend = if database.is_some() { "postgres" } else { "sqlite" };
        let node = Node::new(&format!("kill9-{backend}"), database);
        let token = node.prepare("ann-password-123");
        let (mut server, url) = node.serve();
        let acked = node.dir.join("acked.txt");
        let mut burst = load(&["writes", "--url", &url, "--token", &token, "--max", "3000", "--threads", "6"])
            .args(["--acked", acked.to_str().unwrap()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Kill once the burst is well under way (at least 40 writes acknowledged).
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::fs::read_to_string(&acked).map_or(0, |t| t.lines().count()) < 40 {
            assert!(Instant::now() < deadline, "{backend}: the burst did not get going");
            std::thread::sleep(Duration::from_millis(20));
        }
        server.kill_9();
        burst.wait().unwrap();
        let acknowledged: Vec<String> = std::fs::read_to_string(&acked).unwrap().lines().map(str::to_owned).collect();

        // Restarted, it opens cleanly (nothing half-written) and holds every acknowledged write.
        let (_server, url) = node.serve();
        let listed = Command::new("python3")
            .args(["-c", &format!(
                "import json,urllib.request as u\nr=u.Request('{url}/api/v1/users',headers={{'authorization':'Bearer {token}'}})\nprint('\\n'.join(x['login'] for x in json.load(u.urlopen(r))))"
            )])
            .output()
            .unwrap();
        let present: std::collections::HashSet<String> =
            String::from_utf8_lossy(&listed.stdout).lines().map(str::to_owned).collect();
        let missing: Vec<&String> = acknowledged.iter().filter(|l| !present.contains(*l)).collect();
        assert!(missing.is_empty(), "{backend}: acknowledged but lost after kill -9: {missing:?}");
        let (status, _) = http(
            "POST",
            &format!("{url}/api/client/authn"),
            Some(r#"{"username":"ann","password":"ann-password-123"}"#),
            None,
        );
        assert_eq!(status, 200, "{backend}: sign-in works after the restart");
        eprintln!(
            "{backend}: kill -9 after {} acknowledged writes; all {} present after restart",
            acknowledged.len(),
            acknowledged.len()
        );
    }
}

/// A PostgreSQL of a test's own (scripts/pg-test-server.sh on a free port), so it can be
/// stopped and started again without touching the shared test server.
pub(crate) struct OwnPostgres {
    port: u16,
    dir: PathBuf,
}

impl OwnPostgres {
    /// Starts it; `None` (skipping loudly, or failing when PostgreSQL is required) when the
    /// machine has no PostgreSQL test server set up.
    pub(crate) fn start(label: &str) -> Option<(OwnPostgres, String)> {
        if idfed_store::testing::postgres_url().is_none() {
            assert!(!required(), "PostgreSQL is required (IDFED_REQUIRE_ORACLES=1)");
            eprintln!("SKIPPED: no PostgreSQL test server; run scripts/pg-test-server.sh start");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("idfed-pg-{label}-{}", std::process::id()));
        let pg = OwnPostgres { port, dir };
        let admin = pg.script("start");
        Some((pg, admin))
    }

    fn script(&self, action: &str) -> String {
        let out = Command::new("bash")
            .arg(repo().join("scripts/pg-test-server.sh"))
            .arg(action)
            .env("IDFED_PG_PORT", self.port.to_string())
            .env("IDFED_PG_DIR", &self.dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "pg {action}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `pg_ctl` as the server's owner, with `args`.
    fn pg_ctl(&self, args: &str) {
        let out = Command::new("bash")
            .args(["-c", &format!(
                "bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); cmd=\"$bin/pg_ctl -D {dir}/data {args}\"; if [ $(id -u) = 0 ]; then runuser -u postgres -- bash -c \"$cmd\"; else bash -c \"$cmd\"; fi",
                dir = self.dir.display()
            )])
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl {args}: {}", text(&out));
    }

    /// Stops it at once, as a crash would (`-m immediate`).
    pub(crate) fn kill(&self) {
        self.pg_ctl("-m immediate -w stop");
    }

    /// Starts the same data again (not a fresh cluster).
    pub(crate) fn restart(&self) {
        self.pg_ctl(&format!(
            "-l {dir}/server.log -w -t 30 -o '-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off' start",
            dir = self.dir.display(),
            port = self.port
        ));
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.script("stop");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL of its own, stopped under load.
#[test]
fn postgresql_stopped_under_load_gives_quick_503s_and_the_idp_recovers_by_itself() {
    let Some((pg, admin)) = OwnPostgres::start("outage") else { return };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = rt.block_on(idfed_store::testing::fresh_postgres_database(&admin, "idfed_outage")).unwrap();
    let node = Node::new("outage-idp", Some(url));
    let token = node.prepare("ann-password-123");
    let (_server, idp) = node.serve();
    let background = load(&["mixed", "--url", &idp, "--token", &token, "--user", "ann"])
        .args(["--password", "ann-password-123", "--app", "aws", "--seconds", "25", "--threads", "4"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let authn = format!("{idp}/api/client/authn");
    let body = r#"{"username":"ann","password":"ann-password-123"}"#;
    assert_eq!(http("POST", &authn, Some(body), None).0, 200);

    pg.kill();
    for (method, path, body, token) in [
        ("POST", "/api/client/authn", Some(body), None),
        ("GET", "/api/v1/users", None, Some(token.as_str())),
        ("GET", "/readyz", None, None),
    ] {
        let (status, seconds) = http(method, &format!("{idp}{path}"), body, token);
        assert_eq!(status, 503, "{path} while PostgreSQL is down");
        assert!(seconds < 3.0, "{path} answered in {seconds:.2} s");
    }
    assert_eq!(http("GET", &format!("{idp}/healthz"), None, None).0, 200, "the process stays alive");

    pg.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http("POST", &authn, Some(body), None).0 != 200 {
        assert!(Instant::now() < deadline, "sign-in works again once PostgreSQL is back, without a restart");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = background.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes = report["outcomes"].as_object().unwrap();
    assert!(outcomes.keys().any(|k| k.ends_with(" 503")), "the load met 503s during the outage: {report}");
    assert!(outcomes.keys().all(|k| k.ends_with(" 200") || k.ends_with(" 201") || k.ends_with(" 503")), "{report}");
    assert!(report["requests"].as_u64().unwrap() > 50, "{report}");
    eprintln!("PostgreSQL outage under load: {report}");
}

/// SQLite on a 2 MiB tmpfs: once the disk is full, writes fail with a clear 503 and the
/// database stays intact (readable, every earlier write present) after space returns.
#[test]
fn a_full_disk_under_sqlite_is_a_clear_error_and_no_corruption() {
    let mount = std::env::temp_dir().join(format!("idfed-full-{}", std::process::id()));
    std::fs::create_dir_all(&mount).unwrap();
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"]).arg(&mount).output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(!required(), "mounting a tmpfs needs root: {mounted:?}");
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    }
    let result = std::panic::catch_unwind(|| full_disk(&mount));
    let _ = Command::new("umount").arg(&mount).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn full_disk(mount: &Path) {
    let node = Node { dir: mount.to_path_buf(), database: None };
    let token = node.prepare("ann-password-123");
    let (_server, url) = node.serve();
    let create = |login: &str| {
        http(
            "POST",
            &format!("{url}/api/v1/users"),
            Some(&format!(r#"{{"login":"{login}","email":"{login}@example.com"}}"#)),
            Some(&token),
        )
        .0
    };
    assert_eq!(create("before-full"), 201);
    // Fill the disk.
    let filler = mount.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 4 << 20]);
    let mut refused = 0;
    let mut acknowledged = vec!["before-full".to_owned()];
    for i in 0..20 {
        let status = create(&format!("while-full-{i}"));
        assert!(status == 201 || status == 503, "a write on a full disk answered {status}");
        if status == 503 {
            refused += 1;
        } else {
            acknowledged.push(format!("while-full-{i}"));
        }
    }
    assert!(refused > 0, "the disk never filled");
    // A sign-in writes a session: on a full disk it fails as clearly as any write.
    let (signed_in, _) = http(
        "POST",
        &format!("{url}/api/client/authn"),
        Some(r#"{"username":"ann","password":"ann-password-123"}"#),
        None,
    );
    assert!(signed_in == 200 || signed_in == 503, "a sign-in on a full disk answered {signed_in}");
    assert_eq!(http("GET", &format!("{url}/healthz"), None, None).0, 200, "the process stays up");
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(create("after-full"), 201, "writes work again once there is space");
    acknowledged.push("after-full".into());
    for login in &acknowledged {
        let (status, _) = http("GET", &format!("{url}/api/v1/users/{login}"), None, Some(&token));
        assert_eq!(status, 200, "{login} was acknowledged and is kept");
    }
    eprintln!("full disk: {refused} writes refused with 503, {} acknowledged and kept", acknowledged.len());
    let check = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import sqlite3\nc=sqlite3.connect({:?})\nprint(c.execute('PRAGMA integrity_check').fetchone()[0])",
                node.dir.join("idp.sqlite").display().to_string()
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok", "{}", text(&check));
}
