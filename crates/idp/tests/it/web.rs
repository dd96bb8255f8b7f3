//! The IdP's pages in process: CSRF, lockout, TOTP, session rotation, the dashboard, and a
//! launch whose auto-POST form carries a response AWS's rules accept.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use idfed_idp::keys::Identity;
use idfed_idp::secrets::Sealer;
use idfed_idp::service::Idp;
use idfed_saml::random::SystemRandom;
use idfed_saml::sp::{SpConfig, validate_response};
use tower::ServiceExt;

use crate::common::*;

pub(crate) const BASE: &str = "http://127.0.0.1:8080";

async fn idp() -> Arc<Idp> {
    idp_with(seeds_tenant()).await
}

/// An IdP holding `tenant`, kept where IDFED_IDP_TEST_STORE says: `memory` (default), `sqlite`
/// or `postgres` (the test script runs this binary on each).
pub async fn idp_with(tenant: idfed_idp::tenant::Tenant) -> Arc<Idp> {
    idp_at(tenant, BASE).await
}

/// As [`idp_with`], served at `base` (an `https://` base turns on secure cookies).
pub async fn idp_at(tenant: idfed_idp::tenant::Tenant, base: &str) -> Arc<Idp> {
    idp_on_clock(tenant, base, Arc::new(now)).await
}

/// As [`idp_at`], with its own clock.
pub(crate) async fn idp_on_clock(
    tenant: idfed_idp::tenant::Tenant,
    base: &str,
    clock: idfed_idp::service::Clock,
) -> Arc<Idp> {
    let key = Identity::from_pem(&idp_key().key_pem, &idp_key().cert_pem).unwrap();
    let sealer = Sealer::new(&[7u8; 32]).unwrap();
    let rng = Box::new(SystemRandom::new());
    let idp = match std::env::var("IDFED_IDP_TEST_STORE").as_deref() {
        Ok("sqlite") | Ok("postgres") => {
            static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let label = format!("web{n}_{}", std::thread::current().name().unwrap_or("t").len());
            let want = std::env::var("IDFED_IDP_TEST_STORE").unwrap();
            let store = idfed_store::testing::stores(&label)
                .await
                .into_iter()
                .find(|s| s.backend() == want)
                .unwrap_or_else(|| panic!("no {want} store: is the PostgreSQL test server up?"));
            let idp = Idp::open_with_identity(store, base, clock, rng, sealer, Some(key)).await.unwrap();
            idp.change_tenant(|t| t.apply(tenant.clone(), || Ok("unused".into()))).await.unwrap();
            idp
        }
        _ => Idp::in_memory(tenant, key, base, clock, rng, sealer),
    };
    for login in ["test", "agent.one@example.com"] {
        idp.change_credentials(|c| c.set_password(login, "correct horse battery", &SystemRandom::new()))
            .await
            .unwrap()
            .unwrap();
    }
    Arc::new(idp)
}

pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub body: String,
    pub headers: axum::http::HeaderMap,
}

/// A browser with a cookie jar.
pub struct Browser {
    idp: Arc<Idp>,
    jar: HashMap<String, String>,
}

impl Browser {
    pub fn new(idp: &Arc<Idp>) -> Browser {
        Browser { idp: idp.clone(), jar: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub async fn send(&mut self, request: Request<Body>) -> Answer {
        let response = idfed_idp::web::router(self.idp.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let location = headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
        let cookies: Vec<String> =
            headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for cookie in &cookies {
            let (pair, _) = cookie.split_once(';').unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), 10 << 20).await.unwrap();
        Answer { status, location, cookies, body: String::from_utf8_lossy(&bytes).into_owned(), headers }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = Request::get(path).header(header::COOKIE, self.cookie_header()).body(Body::empty()).unwrap();
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", v.bytes().map(|b| format!("%{b:02X}")).collect::<String>()))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    pub fn jar_insert(&mut self, name: &str, value: &str) {
        self.jar.insert(name.to_owned(), value.to_owned());
    }

    pub fn csrf(&self) -> String {
        self.jar.get("idfed_csrf").or_else(|| self.jar.get("__Host-idfed_csrf")).cloned().unwrap_or_default()
    }

    pub async fn sign_in(&mut self, username: &str, password: &str) -> Answer {
        self.get("/login").await;
        let csrf = self.csrf();
        self.post("/login", &[("csrf", &csrf), ("username", username), ("password", password), ("return_to", "/app")])
            .await
    }
}

/// A sign-in through the client API with this JSON body.
fn api_authn(body: &str) -> Request<Body> {
    Request::post("/api/client/authn")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

pub fn form_value(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].replace("&amp;", "&").replace("&quot;", "\"").replace("&#x2F;", "/"))
}

#[tokio::test]
async fn over_https_the_cookies_are_host_prefixed_and_unprefixed_ones_are_not_believed() {
    let idp = idp_at(seeds_tenant(), "https://idp.example.com").await;
    let mut browser = Browser::new(&idp);
    let page = browser.get("/login").await;
    let hsts = |a: &Answer| a.headers.get(header::STRICT_TRANSPORT_SECURITY).map(|v| v.to_str().unwrap().to_owned());
    let one_year = Some("max-age=31536000; includeSubDomains".to_owned());
    assert_eq!(hsts(&page), one_year, "the sign-in page");
    for path in ["/healthz", "/app", "/app/aws/metadata", "/nowhere"] {
        assert_eq!(hsts(&browser.get(path).await), one_year, "{path}");
    }
    let plain = idp_at(seeds_tenant(), BASE).await;
    assert_eq!(hsts(&Browser::new(&plain).get("/login").await), None, "not over plain http");
    let csrf_cookie = page.cookies.iter().find(|c| c.starts_with("__Host-idfed_csrf=")).unwrap();
    for part in ["; Secure", "; Path=/;", "; HttpOnly", "; SameSite=Strict"] {
        assert!(csrf_cookie.contains(part), "{part} missing: {csrf_cookie}");
    }
    assert!(!csrf_cookie.contains("Domain"), "{csrf_cookie}");
    let signed = browser.sign_in("test", "correct horse battery").await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let device = signed.cookies.iter().find(|c| c.starts_with("__Host-idfed_device=")).unwrap();
    assert!(device.contains("; Secure") && device.contains("; Path=/;") && !device.contains("Domain"), "{device}");
    let session = signed.cookies.iter().find(|c| c.starts_with("__Host-idfed_session=")).unwrap();
    assert!(session.contains("; Secure") && session.contains("; Path=/;") && !session.contains("Domain"), "{session}");
    assert_eq!(browser.get("/app").await.status, StatusCode::OK);

    // The same session token under the name a subdomain or a plain-HTTP answer could set.
    let token = session.trim_start_matches("__Host-idfed_session=").split(';').next().unwrap();
    let mut planted = Browser::new(&idp);
    planted.jar_insert("idfed_session", token);
    assert_eq!(planted.get("/app").await.status, StatusCode::SEE_OTHER, "an unprefixed session is not believed");
    // A CSRF pair the IdP minted (for a browser without a session), planted elsewhere, passes
    // only under the prefixed name; a malformed one not even there (before sign-in, anyone can mint a
    // pair, so the prefix is what stops a planted one; after sign-in, the session binding below).
    let mut minter = Browser::new(&idp);
    minter.get("/login").await;
    let minted = minter.csrf();
    let login = |csrf: &str| {
        [("csrf", csrf.to_owned()), ("username", "test".into()), ("password", "correct horse battery".into())]
    };
    let post_login = |name: &'static str, csrf: String| {
        let idp = idp.clone();
        async move {
            let mut planted = Browser::new(&idp);
            planted.jar_insert(name, &csrf);
            let form = login(&csrf);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            planted.post("/login", &form).await.status
        }
    };
    assert_eq!(post_login("idfed_csrf", minted.clone()).await, StatusCode::FORBIDDEN);
    assert_eq!(post_login("__Host-idfed_csrf", "A".repeat(43)).await, StatusCode::FORBIDDEN, "malformed");
    assert_eq!(post_login("__Host-idfed_csrf", minted).await, StatusCode::SEE_OTHER, "the control: right name");

    // The token is bound to the session: the pair of someone's own sign-in, planted beside
    // another person's session, does not act for them.
    let attackers = browser.csrf();
    let mut victim = Browser::new(&idp);
    assert_eq!(victim.sign_in("agent.one@example.com", "correct horse battery").await.status, StatusCode::SEE_OTHER);
    let own = victim.csrf();
    assert_ne!(own, attackers);
    victim.jar_insert("__Host-idfed_csrf", &attackers);
    assert_eq!(victim.post("/logout", &[("csrf", &attackers)]).await.status, StatusCode::FORBIDDEN);
    victim.jar_insert("__Host-idfed_csrf", &own);
    assert_eq!(victim.get("/app").await.status, StatusCode::OK, "still signed in");
    assert_eq!(victim.post("/logout", &[("csrf", &own)]).await.status, StatusCode::SEE_OTHER, "the control");
    assert_eq!(victim.get("/app").await.status, StatusCode::SEE_OTHER, "signed out");
}

#[tokio::test]
async fn sign_in_then_launch_posts_a_response_aws_accepts() {
    let idp = idp().await;
    let mut browser = Browser::new(&idp);
    let launch = browser.get("/app/aws/sso").await;
    assert_eq!(launch.status, StatusCode::SEE_OTHER);
    assert_eq!(launch.location.as_deref(), Some("/login?return_to=/app/aws/sso"));
    let page = browser.get("/login?return_to=/app/aws/sso").await;
    assert!(page.body.contains("<label for=\"password\">Password</label>"));
    let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let csrf_cookie = page.cookies.iter().find(|c| c.starts_with("idfed_csrf=")).unwrap();
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"), "{csrf_cookie}");
    let csrf = browser.csrf();
    let signed = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "TEST"),
                ("password", "correct horse battery"),
                ("return_to", "/app/aws/sso"),
            ],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(signed.location.as_deref(), Some("/app/aws/sso"));
    let session = signed.cookies.iter().find(|c| c.starts_with("idfed_session=")).unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");

    let dashboard = browser.get("/app").await;
    assert!(dashboard.body.contains("Amazon Web Services") && dashboard.body.contains("AWS (joined)"));
    assert!(!dashboard.body.contains("Amazon Connect (SCV)"), "apps not assigned to test are not shown");

    let form = browser.get("/app/aws/sso").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("action=\"https://signin.aws.amazon.com/saml\""), "{}", form.body);
    let csp = form.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'sha256-"), "the auto-submit script is allowed by hash only: {csp}");
    let accepted = accepted_by_aws(&idp, &form.body);
    assert_eq!(accepted.name_id.value, "u1");

    // A name that is no app gets the error page and no log entry (review finding: anyone signed
    // in could write any text into the system log); an app the person may not use is logged.
    let made_up = browser.get("/app/Anything%20I%20like%20to%20write/sso").await;
    assert_eq!(made_up.status, StatusCode::NOT_FOUND, "{}", made_up.body);
    assert_eq!(browser.get("/app/connect-scv/sso").await.status, StatusCode::FORBIDDEN);

    let log = idp.events(&idfed_store::EventFilter::default()).await.unwrap();
    let names: Vec<(&str, &str, &str)> =
        log.iter().map(|e| (e.event.as_str(), e.outcome.as_str(), e.app.as_str())).collect();
    assert_eq!(
        names,
        [("app.sso", "failure", "connect-scv"), ("app.sso", "success", "aws"), ("user.session.start", "success", "")]
    );
    let log = &log[1..];
    assert!(
        log[0].detail.contains("arn:aws:iam::111122223333:role/Role1"),
        "the log names the roles sent: {}",
        log[0].detail
    );
    assert_eq!((log[0].actor.as_str(), log[0].app.as_str()), ("test", "aws"));

    let metadata = browser.get("/app/aws/metadata").await;
    let described = idfed_saml::metadata::parse(&metadata.body).unwrap();
    assert_eq!(described[0].entity_id, format!("{BASE}/app/aws"));
    assert_eq!(described[0].idp.as_ref().unwrap().keys.len(), 1);
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let idp = idp().await;
    let mut browser = Browser::new(&idp);
    browser.get("/login").await;
    let refused = browser.post("/login", &[("username", "test"), ("password", "correct horse battery")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.cookies.iter().all(|c| !c.starts_with("idfed_session=")));
    let forged = browser
        .post(
            "/login",
            &[("csrf", "A".repeat(43).as_str()), ("username", "test"), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(browser.sign_in("test", "correct horse battery").await.status == StatusCode::SEE_OTHER);
    let logout = browser.post("/logout", &[]).await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN, "sign-out needs the token too");
    assert_eq!(browser.get("/app").await.status, StatusCode::OK, "still signed in");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_with_the_same_generic_text() {
    let idp = idp().await;
    let mut browser = Browser::new(&idp);
    let unknown = browser.sign_in("nobody", "whatever1").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains("Sign-in failed. Check your username and password."));
    let unknown_text = unknown.body.clone();
    for _ in 0..4 {
        let wrong = browser.sign_in("test", "wrong password").await;
        assert!(wrong.body.contains("Sign-in failed. Check your username and password."));
    }
    let locked = browser.sign_in("test", "wrong password").await;
    assert!(locked.body.contains("Sign-in failed."), "a locked account reads like any failure: {}", locked.body);
    let still_locked = browser.sign_in("test", "correct horse battery").await;
    assert_eq!(still_locked.status, StatusCode::UNAUTHORIZED, "the right password waits out the lock");
    assert_eq!(
        still_locked.body.replace("value=\"test\"", "value=\"nobody\""),
        unknown_text,
        "the page for a locked account equals the page for an unknown one"
    );
    let filter = idfed_store::EventFilter { actor: Some("test".into()), ..Default::default() };
    let log = idp.events(&filter).await.unwrap();
    assert_eq!(log.len(), 6);
    assert!(log.iter().all(|e| e.event == "user.session.start" && e.outcome == "failure"));
    assert!(log[0].detail.contains("locked") && log[5].detail.contains("bad credentials"));
    assert!(
        log.iter().all(|e| !e.detail.contains("wrong password") && !e.detail.contains("correct horse")),
        "no passwords in the log"
    );
}

/// The response `browser` gets when it launches the AWS app, as AWS would read it.
async fn launched(browser: &mut Browser, idp: &Idp) -> idfed_saml::sp::Accepted {
    accepted_by_aws(idp, &browser.get("/app/aws/sso").await.body)
}

/// The response an auto-posting page carries, validated as AWS's sign-in endpoint would.
fn accepted_by_aws(idp: &Idp, page: &str) -> idfed_saml::sp::Accepted {
    let encoded = form_value(page, "SAMLResponse").unwrap();
    let xml = idfed_saml::encoding::find_saml(encoded.as_bytes()).unwrap().xml;
    let config = SpConfig {
        trusted: vec![idp_key().certificate.clone()],
        audiences: vec!["urn:amazon:webservices".into()],
        recipient: Some("https://signin.aws.amazon.com/saml".into()),
        expected_issuer: Some(format!("{}/app/aws", idp.base_url)),
        ..SpConfig::default()
    };
    validate_response(&xml, &config, now()).unwrap()
}

#[tokio::test]
async fn a_response_says_when_and_how_the_person_signed_in() {
    let idp = idp().await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    let statement = launched(&mut browser, &idp).await.assertion.authn_statements[0].clone();
    assert_eq!(statement.authn_context_class_ref.as_deref(), Some(idfed_saml::ns::AC_PASSWORD_PROTECTED));

    idp.change_credentials(|c| c.enroll_totp("test", &SystemRandom::new())).await.unwrap().unwrap();
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    browser.get("/login/mfa").await;
    let csrf = browser.csrf();
    let code = idp.with_credentials(|c| c.current_totp("test", now())).unwrap();
    browser.post("/login/mfa", &[("csrf", &csrf), ("code", &code), ("return_to", "/app")]).await;
    let statement = launched(&mut browser, &idp).await.assertion.authn_statements[0].clone();
    assert_eq!(statement.authn_context_class_ref.as_deref(), Some(idfed_saml::ns::AC_REFEDS_MFA));

    // A session begun three hours ago says so, not "just now".
    let earlier = idfed_saml::Instant::from_unix_seconds(now().unix_seconds() - 3 * 3600);
    let authenticated = idfed_idp::sso::Authenticated { at: earlier, second_factor: false };
    let request = idfed_idp::sso::Request { authenticated: Some(authenticated), ..Default::default() };
    let issued = idp.issue("aws", "test", &request).unwrap();
    let doc = roxmltree::Document::parse(&issued.xml).unwrap();
    let statement = doc.descendants().find(|n| n.has_tag_name("AuthnStatement")).unwrap();
    let instant = statement.attribute("AuthnInstant").map(|t| idfed_saml::Instant::parse(t).unwrap());
    assert_eq!(instant, Some(earlier));
}

#[tokio::test]
async fn totp_is_asked_after_the_password_and_the_session_id_changes() {
    let idp = idp().await;
    idp.change_credentials(|c| c.enroll_totp("test", &SystemRandom::new())).await.unwrap().unwrap();
    let mut browser = Browser::new(&idp);
    browser.jar.insert("idfed_session".into(), "planted-by-an-attacker".into());
    let first = browser.sign_in("test", "correct horse battery").await;
    assert_eq!(first.location.as_deref(), Some("/login/mfa?return_to=/app"));
    assert!(first.cookies.iter().all(|c| !c.starts_with("idfed_device=")), "not a known device on the password alone");
    let pending = browser.jar.get("idfed_session").cloned().unwrap();
    assert_ne!(pending, "planted-by-an-attacker");
    assert_eq!(browser.get("/app").await.status, StatusCode::SEE_OTHER, "no apps before the second factor");
    browser.get("/login/mfa").await;
    let csrf = browser.csrf();
    let wrong = browser.post("/login/mfa", &[("csrf", &csrf), ("code", "000000"), ("return_to", "/app")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let code = idp.with_credentials(|c| c.current_totp("test", now())).unwrap();
    let done = browser.post("/login/mfa", &[("csrf", &csrf), ("code", &code), ("return_to", "/app")]).await;
    assert_eq!(done.location.as_deref(), Some("/app"));
    assert_ne!(browser.jar.get("idfed_session").unwrap(), &pending, "a new session after the second factor");
    assert!(done.cookies.iter().any(|c| c.starts_with("idfed_device=")), "known once the sign-in is complete");
    assert_eq!(browser.get("/app").await.status, StatusCode::OK);
    let csrf = browser.csrf();
    browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(browser.get("/app").await.status, StatusCode::SEE_OTHER, "signed out");

    // With the address backed off by others, both steps still pass in this known browser.
    let mut sprayer = Browser::new(&idp);
    for i in 0..idfed_idp::backoff::LIMIT {
        sprayer.sign_in(&format!("nobody{i}@example.com"), "guess").await;
    }
    assert_eq!(sprayer.sign_in("test", "correct horse battery").await.status, StatusCode::TOO_MANY_REQUESTS);
    let password = browser.sign_in("test", "correct horse battery").await;
    assert_eq!(password.location.as_deref(), Some("/login/mfa?return_to=/app"), "{}", password.body);
    let next_step = idfed_saml::Instant::from_unix_seconds(now().unix_seconds() + 30);
    let code = idp.with_credentials(|c| c.current_totp("test", next_step)).unwrap();
    let csrf = browser.csrf();
    let done = browser.post("/login/mfa", &[("csrf", &csrf), ("code", &code), ("return_to", "/app")]).await;
    assert_eq!(done.location.as_deref(), Some("/app"), "{}", done.body);
}

#[tokio::test]
async fn return_targets_stay_on_this_site() {
    let idp = idp().await;
    let mut browser = Browser::new(&idp);
    browser.get("/login").await;
    let csrf = browser.csrf();
    let answer = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "test"),
                ("password", "correct horse battery"),
                ("return_to", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(answer.location.as_deref(), Some("/app"));
}

#[tokio::test]
async fn people_turn_on_two_step_verification_themselves() {
    let idp = idp().await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    let dashboard = browser.get("/app").await;
    assert!(dashboard.body.contains("Set up two-step verification"));
    let setup = browser.get("/account/mfa").await;
    let start = setup.body.find("<code>").unwrap() + 6;
    let secret = setup.body[start..].split('<').next().unwrap().to_owned();
    assert!(setup.body.contains("otpauth://totp/idfed:test?secret="), "{}", setup.body);
    let again = browser.get("/account/mfa").await;
    assert!(again.body.contains(&secret), "reloading keeps the same pending secret");
    assert!(setup.body.contains("autocomplete=\"current-password\""), "the password is asked again");
    let csrf = browser.csrf();
    let password = "correct horse battery";
    let wrong = browser.post("/account/mfa", &[("csrf", &csrf), ("password", password), ("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(!idp.with_credentials(|c| c.has_totp("test")), "not on until a code is confirmed");
    let code = totp_code(&secret, "test");
    // A signed-in browser alone (or a copied session cookie) cannot put an authenticator on.
    for typed in ["", "guess"] {
        let refused = browser.post("/account/mfa", &[("csrf", &csrf), ("password", typed), ("code", &code)]).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.body.contains("That password is not right"), "{}", refused.body);
        assert!(refused.body.contains(&secret), "the same pending secret, to try again");
    }
    assert!(!idp.with_credentials(|c| c.has_totp("test")));
    let on = browser.post("/account/mfa", &[("csrf", &csrf), ("password", password), ("code", &code)]).await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    assert!(idp.with_credentials(|c| c.has_totp("test")));
    assert!(!browser.get("/app").await.body.contains("Set up two-step verification"));
    let csrf = browser.csrf();
    browser.post("/logout", &[("csrf", &csrf)]).await;
    let again = browser.sign_in("test", "correct horse battery").await;
    assert_eq!(again.location.as_deref(), Some("/login/mfa?return_to=/app"), "the next sign-in asks for the code");
}

#[tokio::test]
async fn health_and_readiness_answer_without_signing_in() {
    let idp = idp().await;
    let mut browser = Browser::new(&idp);
    let health = browser.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, "ok\n"));
    let ready = browser.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert!(ready.body.contains("\"ready\":true"), "{}", ready.body);
}

#[tokio::test]
async fn one_address_spraying_many_logins_is_backed_off_before_any_password_is_checked() {
    let idp = idp().await;
    let mut browser = Browser::new(&idp);
    for i in 0..idfed_idp::backoff::LIMIT {
        let failed = browser.sign_in(&format!("nobody{i}@example.com"), "guess").await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let refused = browser.sign_in("test", "correct horse battery").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(refused.body.contains("Too many failed sign-ins from your network"));
    let wait: i64 = refused.headers.get(header::RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(refused.cookies.iter().all(|c| !c.starts_with("idfed_session=")), "no session");
    let api = browser.send(api_authn(r#"{"username":"test","password":"correct horse battery"}"#)).await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS, "the client API shares the back-off: {}", api.body);
    // The person's own account was never locked: the address was.
    let checked = idp
        .change_credentials(|c| {
            c.check_password("test", "correct horse battery", true, idfed_idp::credentials::Origin::Elsewhere, now())
        })
        .await
        .unwrap();
    assert_eq!(checked, Ok(()));
}

#[tokio::test]
async fn a_sign_in_lasts_the_configured_time_in_browsers_and_the_cli() {
    let mut idp = idp().await;
    Arc::get_mut(&mut idp).unwrap().session_seconds = 12 * 3600;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    let token = browser.jar.get("idfed_session").cloned().unwrap();
    let session = idp.session(&token).await.unwrap().unwrap();
    assert_eq!(session.expires, now().unix_seconds() + 12 * 3600);
    let answer = idfed_idp::web::router(idp.clone())
        .oneshot(api_authn(r#"{"username":"test","password":"correct horse battery"}"#))
        .await
        .unwrap();
    let body = axum::body::to_bytes(answer.into_body(), 1 << 16).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["expires"].as_i64(), Some(now().unix_seconds() + 12 * 3600), "{json}");
}

/// A clock the test moves, and the IdP on it.
async fn idp_on_moving_clock() -> (Arc<Idp>, Arc<std::sync::atomic::AtomicI64>) {
    let (clock, seconds) = moving_clock();
    (idp_on_clock(seeds_tenant(), BASE, clock).await, seconds)
}

#[tokio::test]
async fn a_sign_in_unused_for_the_idle_time_ends_and_each_use_moves_it_on() {
    use std::sync::atomic::Ordering;
    let (idp, seconds) = idp_on_moving_clock().await;
    assert_eq!(idp.idle_seconds, Some(idfed_idp::service::IDLE_SECONDS), "on by default: two hours");
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    let later = |minutes: i64| seconds.fetch_add(minutes * 60, Ordering::SeqCst);
    // Used every 110 minutes, the sign-in outlives two hours of idleness from its start.
    for _ in 0..3 {
        later(110);
        assert_eq!(browser.get("/app").await.status, StatusCode::OK, "used within the idle time");
    }
    let listed = idp.sessions(10).await.unwrap();
    let last_use = seconds.load(Ordering::SeqCst);
    assert_eq!(listed.first().map(|(_, s)| s.last_active()), Some(last_use), "the console shows the last use");
    later(120);
    let idle = browser.get("/app").await;
    assert_eq!(idle.status, StatusCode::SEE_OTHER, "two hours unused: signed out");
    assert!(idle.location.as_deref().is_some_and(|l| l.starts_with("/login")), "{:?}", idle.location);
    assert!(idp.sessions(10).await.unwrap().is_empty(), "the console no longer lists it");
}

#[tokio::test]
async fn without_an_idle_limit_only_the_sign_in_time_ends_a_session() {
    use std::sync::atomic::Ordering;
    let (mut idp, seconds) = idp_on_moving_clock().await;
    Arc::get_mut(&mut idp).unwrap().idle_seconds = None;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    seconds.fetch_add(idfed_idp::service::SESSION_SECONDS - 60, Ordering::SeqCst);
    assert_eq!(browser.get("/app").await.status, StatusCode::OK, "unused for hours, still signed in");
    let listed = idp.sessions(10).await.unwrap();
    let last_use = listed.first().map(|(_, s)| s.last_active());
    assert_eq!(last_use, Some(seconds.load(Ordering::SeqCst)), "the use is recorded for the console all the same");
    seconds.fetch_add(60, Ordering::SeqCst);
    assert_eq!(browser.get("/app").await.status, StatusCode::SEE_OTHER, "the sign-in time is over");
}

#[tokio::test]
async fn the_per_source_limit_and_window_are_the_configured_ones() {
    let mut idp = idp().await;
    Arc::get_mut(&mut idp).unwrap().source_limit = idfed_idp::backoff::SourceLimit { count: 3, window_seconds: 120 };
    let mut browser = Browser::new(&idp);
    for i in 0..3 {
        assert_eq!(browser.sign_in(&format!("nobody{i}"), "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let refused = browser.sign_in("test", "correct horse battery").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "the fourth attempt, past a limit of 3");
    let wait: i64 = refused.headers.get(header::RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
    assert_eq!(wait, 120, "the configured window, with the clock frozen");
    assert!(refused.body.contains("Try again in 2 minutes"), "{}", refused.body);
}

/// IPv6 sources are counted by /64, the block one subscriber holds: a sprayer cannot walk its
/// own addresses for fresh allowances. Another /64, and IPv4, keep theirs; an IPv4-mapped
/// address is its IPv4 address.
#[tokio::test]
async fn ipv6_sources_are_backed_off_by_their_64() {
    let mut idp = idp().await;
    Arc::get_mut(&mut idp).unwrap().source_limit = idfed_idp::backoff::SourceLimit { count: 3, window_seconds: 120 };
    let ip = |text: &str| text.parse::<std::net::IpAddr>().unwrap();
    for i in 1..=3 {
        assert_eq!(idp.source_attempt(ip(&format!("2001:db8:1:2::{i}"))).await.unwrap(), None, "attempt {i}");
    }
    assert_eq!(idp.source_wait(ip("2001:db8:1:2:ffff:1:2:3")).await.unwrap(), Some(120), "same /64");
    assert_eq!(idp.source_wait(ip("2001:db8:1:3::1")).await.unwrap(), None, "the next /64");
    // Attempts the /64 refuses do not count towards its site: one /64 cannot use it up.
    for _ in 0..30 {
        assert_eq!(idp.source_attempt(ip("2001:db8:1:2::9")).await.unwrap(), Some(120));
    }
    // Moving from /64 to /64 within one /48 runs into the site's count (8 times the limit).
    let site_limit = 3 * idfed_idp::backoff::SITE_FACTOR;
    for i in 3..=site_limit / 3 + 2 {
        for n in 1..=3 {
            let source = ip(&format!("2001:db8:1:{i:x}::{n}"));
            let counted = idp.source_attempt(source).await.unwrap();
            let so_far = 3 + (i - 3) * 3 + n;
            assert_eq!(counted, (so_far > site_limit).then_some(120), "failure {so_far}, from {source}");
        }
    }
    assert_eq!(idp.source_wait(ip("2001:db8:1:ff::1")).await.unwrap(), Some(120), "a fresh /64 of that site");
    assert_eq!(idp.source_wait(ip("2001:db8:2::1")).await.unwrap(), None, "another site");
    // Successes are given back on both counts: a busy site's sign-ins never add up.
    for i in 0..2 * site_limit {
        let source = ip(&format!("2001:db8:3:{i:x}::1"));
        assert_eq!(idp.source_attempt(source).await.unwrap(), None, "sign-in {i}");
        idp.attempt_succeeded(idfed_idp::service::Attempt::Counted(source)).await.unwrap();
    }
    for _ in 1..=3 {
        idp.source_attempt(ip("192.0.2.7")).await.unwrap();
    }
    assert_eq!(idp.source_wait(ip("::ffff:192.0.2.7")).await.unwrap(), Some(120), "IPv4-mapped");
    assert_eq!(idp.source_wait(ip("192.0.2.8")).await.unwrap(), None, "IPv4 by address");
}

/// A contact centre behind one NAT: failures by others back the shared address off, but people
/// who completed a sign-in in their browser before still sign in from it. Nobody else gains
/// anything from that browser, and the per-account lock still applies to it.
#[tokio::test]
async fn a_known_browser_signs_its_people_in_while_their_shared_address_is_backed_off() {
    let idp = idp().await;
    let mut desk = Browser::new(&idp);
    let first = desk.sign_in("test", "correct horse battery").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let device = first.cookies.iter().find(|c| c.starts_with("idfed_device=")).expect("a device cookie");
    for part in ["; HttpOnly", "; SameSite=Strict", "; Path=/;", &format!("; Max-Age={}", 90 * 86_400)] {
        assert!(device.contains(part), "{part} missing: {device}");
    }
    let entry = device.trim_start_matches("idfed_device=").split(';').next().unwrap().to_owned();

    // Failures from the known browser are not counted against the address: a stranger still
    // has the whole allowance afterwards.
    for _ in 0..idfed_idp::credentials::LOCK_AFTER_FAILURES - 1 {
        assert_eq!(desk.sign_in("test", "wrong password").await.status, StatusCode::UNAUTHORIZED);
    }
    let mut sprayer = Browser::new(&idp);
    for i in 0..idfed_idp::backoff::LIMIT {
        let failed = sprayer.sign_in(&format!("nobody{i}@example.com"), "guess").await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED, "attempt {i} of the stranger's allowance");
    }
    let stranger = sprayer.sign_in("test", "correct horse battery").await;
    assert_eq!(stranger.status, StatusCode::TOO_MANY_REQUESTS, "the control: the address is backed off");

    let again = desk.sign_in("test", "correct horse battery").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "the known browser signs its person in: {}", again.body);
    assert_eq!(desk.get("/app").await.status, StatusCode::OK);
    let renewed = again.cookies.iter().find(|c| c.starts_with("idfed_device=")).unwrap();
    assert!(!renewed.contains(&entry), "the entry is sealed afresh at each sign-in: {renewed}");

    // Someone who never signed in at this desk is refused like any other browser.
    let colleague = desk.sign_in("agent.one@example.com", "correct horse battery").await;
    assert_eq!(colleague.status, StatusCode::TOO_MANY_REQUESTS);
    // An altered entry, or one written by hand without the IdP's key, is nobody's.
    let middle = entry.len() / 2;
    let flipped = if entry.as_bytes()[middle] == b'A' { "B" } else { "A" };
    for forged in [
        format!("{}{flipped}{}", &entry[..middle], &entry[middle + 1..]),
        r#"{"kind":"idfed-device-v1","login":"test","user_id":"u1","epoch":1,"expires":9999999999}"#.to_owned(),
    ] {
        let mut browser = Browser::new(&idp);
        browser.jar_insert("idfed_device", &forged);
        assert_eq!(browser.sign_in("test", "correct horse battery").await.status, StatusCode::TOO_MANY_REQUESTS);
    }

    // Wrong passwords from the known browser still count towards the account's own lock.
    assert_eq!(desk.sign_in("test", "wrong password").await.status, StatusCode::UNAUTHORIZED);
    for _ in 1..idfed_idp::credentials::LOCK_AFTER_FAILURES {
        assert_eq!(desk.sign_in("test", "wrong password").await.status, StatusCode::UNAUTHORIZED);
    }
    let locked = desk.sign_in("test", "correct horse battery").await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED, "the account is locked for everyone");
    assert!(locked.body.contains("Sign-in failed"), "{}", locked.body);
}

/// Someone guessing at an account locks it for every browser but those its person completed a
/// sign-in in: the person keeps working, and the lock still holds for everyone else.
#[tokio::test]
async fn a_sprayer_cannot_lock_a_person_out_of_their_own_browser() {
    let idp = idp().await;
    let mut desk = Browser::new(&idp);
    assert_eq!(desk.sign_in("test", "correct horse battery").await.status, StatusCode::SEE_OTHER);
    guess_until_locked(&mut Browser::new(&idp), "test").await;
    let mut desk_again = Browser::new(&idp);
    desk_again.jar_insert("idfed_device", desk.jar.get("idfed_device").unwrap());
    let signed = desk_again.sign_in("test", "correct horse battery").await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "the person's own browser: {}", signed.body);
    assert_eq!(desk_again.get("/app").await.status, StatusCode::OK);
    let still = Browser::new(&idp).sign_in("test", "correct horse battery").await;
    assert_eq!(still.status, StatusCode::UNAUTHORIZED, "still locked for any other browser");

    // A colleague at a shared desk where the person once signed in (another known device of
    // theirs) can lock that desk with five guesses, but not the person's own browser.
    let mut shared_desk = Browser::new(&idp);
    shared_desk.jar_insert("idfed_device", &idp.device_cookie_after_sign_in(None, "test").unwrap());
    guess_until_locked(&mut shared_desk, "test").await;
    let mut own = Browser::new(&idp);
    own.jar_insert("idfed_device", desk.jar.get("idfed_device").unwrap());
    assert_eq!(own.sign_in("test", "correct horse battery").await.status, StatusCode::SEE_OTHER, "their own browser");
}

/// Five wrong passwords for `login` in `browser`, after which even the right one is refused there.
async fn guess_until_locked(browser: &mut Browser, login: &str) {
    for _ in 0..idfed_idp::credentials::LOCK_AFTER_FAILURES {
        assert_eq!(browser.sign_in(login, "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let control = browser.sign_in(login, "correct horse battery").await;
    assert_eq!(control.status, StatusCode::UNAUTHORIZED, "the control: locked for this browser");
}

/// The client API (`idfed aws login`) gets the same exemption: the `device` its last sign-in
/// returned, sent back with the next.
#[tokio::test]
async fn a_known_client_signs_in_through_the_api_while_its_address_is_backed_off() {
    let idp = idp().await;
    let mut client = Browser::new(&idp);
    let authn = |password: &str, device: Option<&str>| {
        let mut body = serde_json::json!({ "username": "test", "password": password });
        if let Some(device) = device {
            body["device"] = device.into();
        }
        api_authn(&body.to_string())
    };
    let first = client.send(authn("correct horse battery", None)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let answer: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    let device = answer["device"].as_str().expect("device entries in the answer").to_owned();

    // Failures from the known client return no entries and are not counted against the address.
    for _ in 0..idfed_idp::credentials::LOCK_AFTER_FAILURES - 1 {
        let failed = client.send(authn("wrong password", Some(&device))).await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
        assert!(!failed.body.contains("device"), "{}", failed.body);
    }
    let mut sprayer = Browser::new(&idp);
    for i in 0..idfed_idp::backoff::LIMIT {
        let failed = sprayer.sign_in(&format!("nobody{i}"), "guess").await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED, "attempt {i} of the stranger's allowance");
    }
    let control = client.send(authn("correct horse battery", None)).await;
    assert_eq!(control.status, StatusCode::TOO_MANY_REQUESTS, "the control");
    let again = client.send(authn("correct horse battery", Some(&device))).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    // A device of the wrong type is refused before anything is checked, naming the field.
    let typed = client.send(api_authn(r#"{"username":"test","password":"x","device":42}"#)).await;
    assert_eq!(typed.status, StatusCode::BAD_REQUEST);
    assert!(typed.body.contains("device"), "{}", typed.body);
    // The client's entries work in a browser, and a browser's in the API: they are the same thing.
    let mut browser = Browser::new(&idp);
    browser.jar_insert("idfed_device", &device);
    let signed = browser.sign_in("test", "correct horse battery").await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let cookie = signed.cookies.iter().find(|c| c.starts_with("idfed_device=")).unwrap();
    let from_browser = cookie.trim_start_matches("idfed_device=").split(';').next().unwrap();
    assert_eq!(client.send(authn("correct horse battery", Some(from_browser))).await.status, StatusCode::OK);
}

/// Review finding: through the API, a right password whose person must first enrol in MFA was
/// left counted as a failed attempt against the address (the pages gave it back).
#[tokio::test]
async fn an_api_sign_in_due_for_mfa_enrollment_is_not_a_failure_of_the_address() {
    let mut idp = idp().await;
    Arc::get_mut(&mut idp).unwrap().source_limit = idfed_idp::backoff::SourceLimit { count: 2, window_seconds: 900 };
    idp.change_tenant(|t| {
        t.policy.mfa = idfed_idp::tenant::MfaPolicy::Everyone;
        Ok(())
    })
    .await
    .unwrap();
    let mut client = Browser::new(&idp);
    for _ in 0..4 {
        let due = client.send(api_authn(r#"{"username":"test","password":"correct horse battery"}"#)).await;
        assert_eq!(due.status, StatusCode::UNAUTHORIZED, "{}", due.body);
        assert!(due.body.contains("mfa_enrollment_required"), "not backed off: {}", due.body);
    }
}

/// A new password (set by the person or an administrator) ends every browser's exemption.
/// (Removal does too: `credentials.rs::a_removed_person_keeps_a_higher_epoch…`.)
#[tokio::test]
async fn a_password_change_ends_the_known_browsers_exemption() {
    let idp = idp().await;
    let mut desk = Browser::new(&idp);
    assert_eq!(desk.sign_in("test", "correct horse battery").await.status, StatusCode::SEE_OTHER);
    let mut sprayer = Browser::new(&idp);
    for i in 0..idfed_idp::backoff::LIMIT {
        sprayer.sign_in(&format!("nobody{i}"), "guess").await;
    }
    assert_eq!(desk.sign_in("test", "correct horse battery").await.status, StatusCode::SEE_OTHER, "the control");
    idp.change_credentials(|c| c.set_password("test", "a new horse battery", &SystemRandom::new()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(desk.sign_in("test", "a new horse battery").await.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Review finding: attempts in parallel cannot slip under the per-source limit (each is counted
/// before its password is checked).
#[tokio::test]
async fn parallel_attempts_from_one_address_get_at_most_the_limit_of_password_checks() {
    let idp = idp().await;
    let mut tasks = Vec::new();
    for i in 0..80 {
        let idp = idp.clone();
        tasks.push(tokio::spawn(async move {
            let mut browser = Browser::new(&idp);
            browser.sign_in(&format!("sprayed{i}@example.com"), "guess").await.status
        }));
    }
    let mut checked = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(checked <= idfed_idp::backoff::LIMIT, "{checked} passwords were checked");
    assert!(checked >= 1);
}

#[tokio::test]
async fn metrics_answer_only_the_configured_token_when_one_is_set() {
    let mut idp = idp().await;
    let scrape = |idp: &Arc<Idp>, token: Option<&str>| {
        let mut request = Request::get("/metrics");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        idfed_idp::web::router(idp.clone()).oneshot(request.body(Body::empty()).unwrap())
    };
    assert_eq!(scrape(&idp, None).await.unwrap().status(), StatusCode::OK, "open without a token configured");
    Arc::get_mut(&mut idp).unwrap().metrics_token = Some("metrics-token-0123456789".into());
    let refused = scrape(&idp, None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers().get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
    assert_eq!(scrape(&idp, Some("metrics-token-0123456788")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let answered = scrape(&idp, Some("metrics-token-0123456789")).await.unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    let body = axum::body::to_bytes(answered.into_body(), 1 << 20).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("idfed_sign_ins_total"));
}

/// Review finding: a client may send any token as its method; each would have been a counter
/// kept for good. Methods outside the standard set are counted together.
#[tokio::test]
async fn requests_are_counted_under_a_bounded_set_of_methods() {
    let idp = idp().await;
    for i in 0..20 {
        let request = Request::builder().method(format!("X{i}").as_str()).uri("/healthz").body(Body::empty()).unwrap();
        idfed_idp::web::router(idp.clone()).oneshot(request).await.unwrap();
    }
    let answered = idfed_idp::web::router(idp.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = axum::body::to_bytes(answered.into_body(), 1 << 20).await.unwrap();
    let text = String::from_utf8_lossy(&body);
    let series: Vec<&str> = text.lines().filter(|l| l.starts_with("idfed_http_requests_total{")).collect();
    assert!(series.iter().any(|l| l.contains("method=\"OTHER\"") && l.ends_with(" 20")), "{series:?}");
    assert!(!text.contains("method=\"X1\""), "{text}");
}

/// Review finding: anyone may send a logout with a made-up token. It must change nothing: before,
/// each one deleted nothing yet bumped the ended-sessions marker, a store write that empties
/// every node's session cache.
#[tokio::test]
async fn a_logout_for_no_session_writes_nothing() {
    let (idp, store) = idp_on_own_store("logout_marker").await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    let token = browser.jar.get("idfed_session").cloned().unwrap();
    let marker = || store.version("idp-ended-sessions");
    let before = marker().await.unwrap();
    for junk in ["junk", "0123456789abcdef0123456789abcdef", &format!("{token}x")] {
        let logout = Request::post("/api/client/logout").header(header::AUTHORIZATION, format!("Bearer {junk}"));
        let answer = idfed_idp::web::router(idp.clone()).oneshot(logout.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(marker().await.unwrap(), before, "nothing ended, nothing written");
    assert!(idp.session(&token).await.unwrap().is_some());
    idp.end_session(&token).await.unwrap();
    assert_ne!(marker().await.unwrap(), before, "a session that ended is announced");
    assert!(idp.session(&token).await.unwrap().is_none());
}

/// The seeds' IdP on a SQLite store of its own, with that store to look at; `test` has a password.
async fn idp_on_own_store(label: &str) -> (Arc<Idp>, idfed_store::DocumentStore) {
    let store = idfed_store::testing::stores(label).await.into_iter().next().unwrap();
    let key = Identity::from_pem(&idp_key().key_pem, &idp_key().cert_pem).unwrap();
    let sealer = Sealer::new(&[7u8; 32]).unwrap();
    let rng = Box::new(SystemRandom::new());
    let idp = Idp::open_with_identity(store.clone(), BASE, Arc::new(now), rng, sealer, Some(key)).await.unwrap();
    idp.change_tenant(|t| t.apply(seeds_tenant(), || Ok("unused".into()))).await.unwrap();
    idp.change_credentials(|c| c.set_password("test", "correct horse battery", &SystemRandom::new()))
        .await
        .unwrap()
        .unwrap();
    (Arc::new(idp), store)
}

/// Review finding: each load of the enrollment page rewrote every person's credentials (and
/// resealed every secret), even when it showed the same pending secret again.
#[tokio::test]
async fn reloading_the_enrollment_page_writes_the_credentials_once() {
    let (idp, store) = idp_on_own_store("enroll_reload").await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    let version = || store.version("idp-credentials");
    let before = version().await.unwrap().unwrap();
    let first = browser.get("/account/mfa").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let shown = |page: &str| {
        page.split("<p class=\"secret\"><code>").nth(1).and_then(|r| r.split('<').next()).map(str::to_owned)
    };
    let secret = shown(&first.body).unwrap();
    for _ in 0..5 {
        let again = browser.get("/account/mfa").await;
        assert_eq!(shown(&again.body).as_ref(), Some(&secret), "the same pending secret");
    }
    assert_eq!(version().await.unwrap().unwrap(), before + 1, "one write, for the new pending secret");
}

/// Review finding: a store written by the version before logins were compared without case in
/// assignments may hold one app assigned twice to one person. Such a tenant must still take
/// changes (each would be refused as "assigned twice"): the last of each pair, which sign-in
/// used, is kept when the tenant is read.
#[tokio::test]
async fn a_stored_tenant_assigning_an_app_twice_to_one_person_still_takes_changes() {
    let store = idfed_store::testing::stores("twice_assigned").await.into_iter().next().unwrap();
    let mut tenant = seeds_tenant();
    let lower: idfed_idp::assignments::Assignment =
        serde_json::from_value(serde_json::json!({ "app": "aws", "user": "TEST", "roles": ["Role2"] })).unwrap();
    tenant.assignments.push(lower);
    assert!(tenant.validate().is_err(), "what this version refuses, an earlier one stored");
    store.save("idp-tenant", 1, &serde_json::to_string(&tenant).unwrap()).await.unwrap();
    let key = Identity::from_pem(&idp_key().key_pem, &idp_key().cert_pem).unwrap();
    let sealer = Sealer::new(&[7u8; 32]).unwrap();
    let rng = Box::new(SystemRandom::new());
    let idp = Idp::open_with_identity(store, BASE, Arc::new(now), rng, sealer, Some(key)).await.unwrap();
    let direct: Vec<_> =
        idp.tenant().assignments.into_iter().filter(|a| a.app == "aws" && a.principal.key().1 == "test").collect();
    assert_eq!(direct.len(), 1);
    assert_eq!(direct[0].roles, ["Role2"], "the last one, as sign-in used");
    idp.change_tenant(|t| {
        t.user_mut("gone")?.last_name = "Changed".into();
        Ok(())
    })
    .await
    .unwrap();
}
