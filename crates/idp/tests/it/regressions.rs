//! Regressions from the security review of the IdP's pages and API.

use axum::http::StatusCode;
use idfed_saml::bindings::{Param, redirect_url};

use crate::common::*;
use crate::web::{Browser, idp_with};

#[tokio::test]
async fn a_known_password_does_not_reset_the_count_of_wrong_codes() {
    let idp = idp_with(seeds_tenant()).await;
    idp.change_credentials(|c| c.enroll_totp("test", &idfed_saml::random::SystemRandom::new())).await.unwrap().unwrap();
    let mut browser = Browser::new(&idp);
    for round in 0..2 {
        browser.sign_in("test", "correct horse battery").await;
        browser.get("/login/mfa").await;
        let csrf = browser.csrf();
        let tries = if round == 0 { 4 } else { 1 };
        for _ in 0..tries {
            browser.post("/login/mfa", &[("csrf", &csrf), ("code", "000000"), ("return_to", "/app")]).await;
        }
    }
    let locked = idp.with_credentials(|c| c.get("test").unwrap().locked_until);
    assert!(locked > now().unix_seconds(), "the fifth wrong code locks, password success in between or not");
}

#[tokio::test]
async fn return_targets_with_control_characters_are_refused() {
    let idp = idp_with(seeds_tenant()).await;
    let mut browser = Browser::new(&idp);
    browser.get("/login").await;
    for target in ["/\t/evil.example", "/\n/evil.example", "/ /evil.example", "/\\evil.example"] {
        // Each sign-in starts a new session, with a CSRF token bound to it.
        let csrf = browser.csrf();
        let answer = browser
            .post(
                "/login",
                &[("csrf", &csrf), ("username", "test"), ("password", "correct horse battery"), ("return_to", target)],
            )
            .await;
        assert_eq!(answer.location.as_deref(), Some("/app"), "{target:?}");
    }
}

#[tokio::test]
async fn a_removed_person_leaves_no_password_and_no_session_to_a_newcomer_with_the_login() {
    let idp = idp_with(seeds_tenant()).await;
    let mut old = Browser::new(&idp);
    old.sign_in("test", "correct horse battery").await;
    assert_eq!(old.get("/app").await.status, StatusCode::OK);
    idp.change_tenant(|t| t.remove_user("test").map(|_| ())).await.unwrap();
    assert!(
        idp.with_credentials(|c| c.get("test").is_some_and(|x| x.password_hash.is_none() && x.totp_secret.is_none())),
        "the password went with the person; only a higher epoch stays"
    );
    let newcomer = idfed_idp::directory::User {
        id: "u-new".into(),
        login: "test".into(),
        email: "new@example.com".into(),
        first_name: String::new(),
        last_name: String::new(),
        status: idfed_idp::directory::UserStatus::Active,
        profile: Default::default(),
        admin: false,
    };
    idp.change_tenant(|t| {
        t.users.push(newcomer.clone());
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(old.get("/app").await.status, StatusCode::SEE_OTHER, "the old session is not the newcomer's");
    let again = Browser::new(&idp).sign_in("test", "correct horse battery").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "the old password is not the newcomer's");
}

fn set_status(
    t: &mut idfed_idp::tenant::Tenant,
    login: &str,
    status: idfed_idp::directory::UserStatus,
) -> Result<(), idfed_idp::IdpError> {
    t.users.iter_mut().filter(|u| u.login == login).for_each(|u| u.status = status);
    Ok(())
}

#[tokio::test]
async fn a_suspension_ends_the_sessions_and_a_reactivation_does_not_bring_them_back() {
    use idfed_idp::directory::UserStatus;
    let idp = idp_with(seeds_tenant()).await;
    let mut stolen = Browser::new(&idp);
    stolen.sign_in("test", "correct horse battery").await;
    let mut unrelated = Browser::new(&idp);
    unrelated.sign_in("agent.one@example.com", "correct horse battery").await;
    assert_eq!(stolen.get("/app").await.status, StatusCode::OK);
    let epoch = idp.with_credentials(|c| c.epoch("test"));
    idp.change_tenant(|t| set_status(t, "test", UserStatus::Suspended)).await.unwrap();
    assert_eq!(stolen.get("/app").await.status, StatusCode::SEE_OTHER, "refused while suspended");
    idp.change_tenant(|t| set_status(t, "test", UserStatus::Active)).await.unwrap();
    assert_eq!(stolen.get("/app").await.status, StatusCode::SEE_OTHER, "not revived by the reactivation");
    assert_eq!(idp.with_credentials(|c| c.epoch("test")), epoch + 1, "one suspension, one step");
    let again = Browser::new(&idp).sign_in("test", "correct horse battery").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "the password is kept: {:?}", again.body);
    assert_eq!(unrelated.get("/app").await.status, StatusCode::OK, "other people's sessions go on");
}

#[tokio::test]
async fn what_a_predecessor_left_behind_is_cleared_before_a_newcomer_gets_the_login() {
    let idp = idp_with(seeds_tenant()).await;
    let mut old = Browser::new(&idp);
    old.sign_in("test", "correct horse battery").await;
    // The removal was stored, but the write that should have forgotten the password failed.
    let person = idp.tenant().users.iter().find(|u| u.login == "test").unwrap().clone();
    let leftover = idp.with_credentials(|c| c.clone());
    idp.change_tenant(|t| t.remove_user("test").map(|_| ())).await.unwrap();
    idp.change_credentials(|c| *c = leftover.clone()).await.unwrap();
    assert!(idp.with_credentials(|c| c.holds_secrets("test")), "the failure this test stands for");

    let newcomer = idfed_idp::directory::User { id: "u-new".into(), email: "new@example.com".into(), ..person };
    idp.change_tenant(|t| {
        t.users.push(newcomer.clone());
        Ok(())
    })
    .await
    .unwrap();
    assert!(!idp.with_credentials(|c| c.holds_secrets("test")));
    assert_eq!(old.get("/app").await.status, StatusCode::SEE_OTHER, "the old session is not the newcomer's");
    let again = Browser::new(&idp).sign_in("test", "correct horse battery").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "the old password is not the newcomer's");
}

#[tokio::test]
async fn an_account_replaced_under_the_same_login_takes_nothing_of_the_old_one() {
    let idp = idp_with(seeds_tenant()).await;
    let mut old = Browser::new(&idp);
    old.sign_in("test", "correct horse battery").await;
    idp.change_tenant(|t| {
        t.users.iter_mut().filter(|u| u.login == "test").for_each(|u| u.id = "u-replacement".into());
        Ok(())
    })
    .await
    .unwrap();
    assert!(!idp.with_credentials(|c| c.holds_secrets("test")));
    assert_eq!(old.get("/app").await.status, StatusCode::SEE_OTHER);
    let again = Browser::new(&idp).sign_in("test", "correct horse battery").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_change_ends_the_sessions_begun_before_it() {
    let idp = idp_with(seeds_tenant()).await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    assert_eq!(browser.get("/app").await.status, StatusCode::OK);
    idp.change_credentials(|c| {
        c.set_password("test", "another long password", &idfed_saml::random::SystemRandom::new())
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(browser.get("/app").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn logins_that_differ_only_beyond_ascii_do_not_share_credentials() {
    let mut creds = idfed_idp::credentials::Credentials::default();
    let rng = idfed_saml::random::SystemRandom::new();
    creds.set_password("kate", "kate's password", &rng).unwrap();
    creds.set_password("\u{212A}ate", "kelvin's password", &rng).unwrap();
    assert_eq!(
        creds.check_password("kate", "kate's password", true, idfed_idp::credentials::Origin::Elsewhere, now()),
        Ok(())
    );
    assert_eq!(
        creds.check_password(
            "\u{212A}ate",
            "kelvin's password",
            true,
            idfed_idp::credentials::Origin::Elsewhere,
            now()
        ),
        Ok(())
    );
}

#[tokio::test]
async fn an_unsigned_logout_request_cannot_sign_out_someone_else() {
    let mut tenant = seeds_tenant();
    tenant
        .put_app(idfed_idp::apps::App {
            name: "wiki".into(),
            label: "Wiki".into(),
            kind: idfed_idp::apps::AppKind::Saml(idfed_idp::apps::SamlApp {
                entity_id: "https://wiki.example.com".into(),
                acs: vec![idfed_idp::apps::AcsEndpoint {
                    url: "https://wiki.example.com/acs".into(),
                    index: 0,
                    default: true,
                }],
                encryption_certificate: None,
                encryption_algorithm: Default::default(),
                authn_request_certificate: None,
                slo_url: Some("https://wiki.example.com/slo".into()),
                one_time_use: false,
            }),
            default_relay_state: None,
            attribute_statements: vec![],
            name_id: idfed_idp::apps::NameIdSource { format: "email".into(), value: "user.email".into() },
            signing: Default::default(),
        })
        .unwrap();
    let idp = idp_with(tenant).await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    let logout_at = |name_id: &str, at: idfed_saml::Instant| {
        let xml = idfed_saml::build::logout_request_xml(&idfed_saml::build::LogoutRequestSpec {
            id: "_lo".into(),
            issue_instant: at,
            issuer: "https://wiki.example.com".into(),
            destination: "http://127.0.0.1:8080/app/wiki/slo".into(),
            name_id: idfed_saml::model::NameId { value: name_id.into(), ..Default::default() },
            session_index: None,
        })
        .unwrap();
        redirect_url("/app/wiki/slo", Param::SamlRequest, &xml, None, None).unwrap()
    };
    let logout = |name_id: &str| logout_at(name_id, now());
    let forged = browser.get(&logout("someone.else@example.com")).await;
    assert!(forged.body.contains("does not name you"), "{}", forged.body);
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert_eq!(browser.get("/app").await.status, StatusCode::OK, "still signed in");
    let timeless = {
        let xml = idfed_saml::build::logout_request_xml(&idfed_saml::build::LogoutRequestSpec {
            id: "_lo".into(),
            issue_instant: now(),
            issuer: "https://wiki.example.com".into(),
            destination: "http://127.0.0.1:8080/app/wiki/slo".into(),
            name_id: idfed_saml::model::NameId { value: "test@example.com".into(), ..Default::default() },
            session_index: None,
        })
        .unwrap();
        let start = xml.find(" IssueInstant=\"").unwrap();
        let end = start + 15 + xml[start + 15..].find('"').unwrap() + 1;
        let xml = format!("{}{}", &xml[..start], &xml[end..]);
        assert!(!xml.contains("IssueInstant"), "{xml}");
        redirect_url("/app/wiki/slo", Param::SamlRequest, &xml, None, None).unwrap()
    };
    let refused = browser.get(&timeless).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("has no IssueInstant"), "{}", refused.body);
    // A request naming the person is confirmed by them first: a link from elsewhere that knows
    // their NameID signs nobody out.
    let url = logout("test@example.com");
    let own = browser.get(&url).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(own.body.contains("Sign out of idfed?"), "{}", own.body);
    assert_eq!(browser.get("/app").await.status, StatusCode::OK, "not signed out before confirming");
    let request = url.split_once('?').unwrap().1;
    let forged = browser.post("/app/wiki/slo", &[("csrf", "not-the-token"), ("request", request)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "a cross-site post has no CSRF token");
    assert_eq!(browser.get("/app").await.status, StatusCode::OK);
    browser.get(&url).await;
    let csrf = browser.csrf();
    // Confirmed after the five minutes a request has to arrive in: too late after an hour.
    let stale = logout_at("test@example.com", idfed_saml::Instant::from_unix_seconds(now().unix_seconds() - 7200));
    let stale = browser.post("/app/wiki/slo", &[("csrf", &csrf), ("request", stale.split_once('?').unwrap().1)]).await;
    assert!(stale.body.contains("this sign-out request has expired"), "{}", stale.body);
    assert_eq!(browser.get("/app").await.status, StatusCode::OK);
    let slow = logout_at("test@example.com", idfed_saml::Instant::from_unix_seconds(now().unix_seconds() - 600));
    let request = slow.split_once('?').unwrap().1;
    let confirmed = browser.post("/app/wiki/slo", &[("csrf", &csrf), ("request", request)]).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER, "{}", confirmed.body);
    assert!(confirmed.location.as_deref().unwrap().starts_with("https://wiki.example.com/slo?SAMLResponse="));
    assert_eq!(browser.get("/app").await.status, StatusCode::SEE_OTHER, "signed out once confirmed");
}

#[tokio::test]
async fn the_api_refuses_before_reading_the_body() {
    let idp = idp_with(seeds_tenant()).await;
    let request = axum::http::Request::post("/api/v1/users")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"login":"x","password":"aaaaaaaa"}"#))
        .unwrap();
    let response = tower::ServiceExt::oneshot(idfed_idp::web::router(idp.clone()), request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(idp.with_tenant(|t| t.user("x").is_none()));
}

/// Review finding: applying a tenant compared every person with every other (and lower-cased
/// both each time), so re-applying a large export took hours. The summary of applying 20,000
/// people onto themselves, then with changes, counts each kind of change once.
#[test]
fn applying_a_large_tenant_counts_its_changes() {
    let people = |n: usize| -> idfed_idp::tenant::Tenant {
        let mut tenant = seeds_tenant();
        for i in 0..n {
            tenant.users.push(person(&format!("Person{i}@example.com"), &format!("p{i}")));
        }
        tenant
    };
    let mut tenant = people(20_000);
    let summary = tenant.apply(people(20_000), || Ok("unused".into())).unwrap();
    assert_eq!((summary.users, summary.assignments), ((0, 0, 0), (0, 0, 0)));
    let mut changed = people(19_990);
    changed.users.iter_mut().find(|u| u.login == "Person7@example.com").unwrap().first_name = "Seven".into();
    changed.users.push(person("PERSON19995@example.com", ""));
    let mut ids = 0;
    let summary = tenant
        .apply(changed, || {
            ids += 1;
            Ok(format!("new{ids}"))
        })
        .unwrap();
    // Person7 and PERSON19995 (the same person, the login's case changed) updated; 9 removed.
    assert_eq!(summary.users, (0, 2, 9));
    assert_eq!(ids, 0, "who is there keeps their id");
    assert_eq!(tenant.user("person19995@example.com").unwrap().id, "p19995");
}

/// A person like the seeds' `test`, under another login and id.
fn person(login: &str, id: &str) -> idfed_idp::directory::User {
    static TEST: std::sync::LazyLock<idfed_idp::directory::User> =
        std::sync::LazyLock::new(|| seeds_tenant().user("test").unwrap().clone());
    let mut user = TEST.clone();
    user.login = login.into();
    user.email = login.to_lowercase();
    user.id = id.into();
    user
}
