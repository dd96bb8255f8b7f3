//! The admin console in process: only administrators, CSRF on every form, every change
//! validated and logged under the administrator, and the seed 002 setup done through forms.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use idfed_idp::apps::{App, AppKind};
use idfed_idp::service::Idp;

use crate::common::*;
use crate::web::{Browser, form_value, idp_with};

const PASSWORD: &str = "correct horse battery";

/// The seeds' tenant with `test` as administrator; `Agent.One@example.com` is not one.
async fn idp() -> Arc<Idp> {
    let mut tenant = seeds_tenant();
    tenant.users.iter_mut().find(|u| u.login == "test").unwrap().admin = true;
    idp_with(tenant).await
}

async fn admin_browser(idp: &Arc<Idp>) -> Browser {
    let mut browser = Browser::new(idp);
    assert_eq!(browser.sign_in("test", PASSWORD).await.status, StatusCode::SEE_OTHER);
    browser
}

async fn events(idp: &Idp, prefix: &str) -> Vec<idfed_store::Event> {
    let filter = idfed_store::EventFilter { event: Some(prefix.into()), limit: 50, ..Default::default() };
    idp.events(&filter).await.unwrap()
}

#[tokio::test]
async fn only_signed_in_administrators_reach_the_console() {
    let idp = idp().await;
    let mut anonymous = Browser::new(&idp);
    let away = anonymous.get("/admin/people").await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert_eq!(away.location.as_deref(), Some("/login?return_to=/admin/people"));

    let mut agent = Browser::new(&idp);
    agent.sign_in("Agent.One@example.com", PASSWORD).await;
    for path in ["/admin/people", "/admin/apps/aws/sign-on", "/admin/security", "/admin/log"] {
        let refused = agent.get(path).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert!(refused.body.contains("Administrators only"), "{path}");
    }
    let csrf = agent.csrf();
    let post = agent.post("/admin/people", &[("csrf", &csrf), ("login", "sneaky@example.com")]).await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert!(idp.with_tenant(|t| t.user("sneaky@example.com").is_none()), "a non-admin changes nothing");

    let mut admin = admin_browser(&idp).await;
    let dashboard = admin.get("/app").await;
    assert!(dashboard.body.contains("href=\"/admin\""), "administrators get a link to the console");
    let people = admin.get("/admin/people").await;
    assert_eq!(people.status, StatusCode::OK);
    assert!(people.body.contains("Agent.One@example.com") && people.body.contains("1–4 of 4"), "{}", people.body);
    let csp = people.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let found = admin.get("/admin/people?q=agent").await;
    assert!(found.body.contains("1–1 of 1"), "search narrows the list");
    // A page number past the last (however large) shows the last page (review finding: it overflowed).
    for page in ["7", &usize::MAX.to_string()] {
        let far = admin.get(&format!("/admin/people?page={page}")).await;
        assert_eq!(far.status, StatusCode::OK, "{page}");
        assert!(far.body.contains("1–4 of 4"), "{page}: {}", far.body);
    }
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let before = idp.tenant();
    for (path, form) in [
        ("/admin/people", vec![("login", "new@example.com")]),
        ("/admin/people/mapped/suspend", vec![]),
        ("/admin/groups", vec![("name", "Forged")]),
        ("/admin/security", vec![("op", "mfa"), ("policy", "everyone")]),
        ("/admin/apps/aws/assignments", vec![("op", "remove"), ("kind", "person"), ("who", "test")]),
    ] {
        let refused = admin.post(path, &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(idp.tenant(), before);
}

#[tokio::test]
async fn people_are_created_edited_and_suspended_and_each_change_is_logged() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let csrf = admin.csrf();
    let created = admin
        .post(
            "/admin/people",
            &[
                ("csrf", &csrf),
                ("login", "ada.admin@example.com"),
                ("first_name", "Ada"),
                ("last_name", "Admin"),
                ("email", "ada.admin@example.com"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location.as_deref(), Some("/admin/people/ada.admin%40example.com?done=created"));
    let mut ada = Browser::new(&idp);
    assert_eq!(ada.sign_in("ada.admin@example.com", "a long enough password").await.status, StatusCode::SEE_OTHER);

    let duplicate = admin.post("/admin/people", &[("csrf", &csrf), ("login", "ADA.admin@example.com")]).await;
    assert_eq!(duplicate.status, StatusCode::BAD_REQUEST);
    assert!(duplicate.body.contains("exists already"), "{}", duplicate.body);

    let page = admin.get("/admin/people/ada.admin@example.com").await;
    let revision = form_value(&page.body, "revision").unwrap();
    let edited = admin
        .post(
            "/admin/people/ada.admin@example.com",
            &[
                ("csrf", &csrf),
                ("revision", &revision),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("email", "ada.admin@example.com"),
                ("attr.connect_username", "AdaL"),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    let user = idp.with_tenant(|t| t.user("ada.admin@example.com").cloned()).unwrap();
    assert_eq!(user.last_name, "Lovelace");
    assert_eq!(user.profile.get("connect_username"), Some(&idfed_idp::directory::ProfileValue::String("AdaL".into())));

    let suspended = admin.post("/admin/people/ada.admin@example.com/suspend", &[("csrf", &csrf)]).await;
    assert_eq!(suspended.status, StatusCode::SEE_OTHER);
    assert_eq!(ada.get("/app").await.status, StatusCode::SEE_OTHER, "a suspended person's session stops working");
    let self_lock = admin.post("/admin/people/test/suspend", &[("csrf", &csrf)]).await;
    assert_eq!(self_lock.status, StatusCode::BAD_REQUEST, "an administrator cannot lock themselves out");

    let logged: Vec<(String, String, String)> = events(&idp, "user.")
        .await
        .into_iter()
        .filter(|e| e.actor == "test" && e.target.to_lowercase().starts_with("ada"))
        .map(|e| (e.event, e.outcome, e.target))
        .collect();
    let names: Vec<&str> = logged.iter().map(|(event, _, _)| event.as_str()).collect();
    assert!(names.contains(&"user.create") && names.contains(&"user.update"), "{logged:?}");
    assert!(names.contains(&"user.lifecycle.suspend"), "{logged:?}");
    assert!(logged.iter().any(|(e, outcome, _)| e == "user.create" && outcome == "failure"), "refusals are logged");
}

#[tokio::test]
async fn a_bad_expression_is_refused_with_its_column_and_checked_live() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let csrf = admin.csrf();
    let before = idp.tenant();
    let page = admin.get("/admin/apps/connect-scv/sign-on").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("value=\"user.connect_username\""), "statements are shown for editing");
    let revision = form_value(&page.body, "revision").unwrap();
    let saved = admin
        .post(
            "/admin/apps/connect-scv/sign-on",
            &[
                ("csrf", &csrf),
                ("revision", &revision),
                ("environment", "regional"),
                ("region", "us-west-2"),
                ("identity_provider_arns", "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin"),
                ("session_duration", "3600"),
                ("role_session_name", "user.login"),
                ("sign", "assertion"),
                ("algorithm", "rsa-sha256"),
                ("attr_name", "https://aws.amazon.com/SAML/Attributes/RoleSessionName"),
                ("attr_format", "uri"),
                ("attr_value", "user.conect_username"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::BAD_REQUEST);
    assert!(saved.body.contains("conect_username"), "{}", saved.body);
    assert!(saved.body.contains("value=\"user.conect_username\""), "what was typed is kept on the page");
    assert_eq!(idp.tenant(), before, "nothing was saved");

    let check = admin
        .post("/admin/apps/connect-scv/check-expression", &[("csrf", &csrf), ("expression", "user.conect_username")])
        .await;
    let answer: serde_json::Value = serde_json::from_str(&check.body).unwrap();
    assert_eq!(answer["ok"], false);
    assert!(answer["message"].as_str().unwrap().contains("column"), "{answer}");
    let good = admin
        .post(
            "/admin/apps/connect-scv/check-expression",
            &[("csrf", &csrf), ("expression", "String.toLowerCase(user.email)")],
        )
        .await;
    let answer: serde_json::Value = serde_json::from_str(&good.body).unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
}

#[tokio::test]
async fn seed_002_setup_through_the_forms_issues_the_connect_relay_state() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let csrf = admin.csrf();
    let created = admin
        .post(
            "/admin/apps",
            &[("csrf", &csrf), ("type", "aws"), ("name", "connect-admin"), ("label", "Amazon Connect Administrator")],
        )
        .await;
    assert_eq!(created.location.as_deref(), Some("/admin/apps/connect-admin/sign-on?done=created"));
    let sign_on = admin.get("/admin/apps/connect-admin/sign-on").await;
    assert!(sign_on.body.contains("http://127.0.0.1:8080/app/connect-admin/metadata"), "the metadata URL is shown");
    let revision = form_value(&sign_on.body, "revision").unwrap();
    let saved = admin
        .post(
            "/admin/apps/connect-admin/sign-on",
            &[
                ("csrf", &csrf),
                ("revision", &revision),
                ("environment", "commercial"),
                ("identity_provider_arns", "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin"),
                ("session_duration", "3600"),
                ("role_session_name", "user.login"),
                ("connect_instance_id", "4c1a2f6e-0000-4000-8000-000000000001"),
                ("connect_region", "us-east-1"),
                ("connect_destination", "admin"),
                ("sign", "assertion"),
                ("algorithm", "rsa-sha256"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let assigned = admin
        .post(
            "/admin/apps/connect-admin/assignments",
            &[
                ("csrf", &csrf),
                ("op", "assign"),
                ("kind", "person"),
                ("who", "TEST"),
                ("role", "arn:aws:iam::111122223333:role/Okta_Role"),
            ],
        )
        .await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.body);
    let issued = idp.issue("connect-admin", "test", &Default::default()).unwrap();
    assert_eq!(
        issued.relay_state.as_deref(),
        Some("https://us-east-1.console.aws.amazon.com/connect/federate/4c1a2f6e-0000-4000-8000-000000000001")
    );
    let roles = issued.attributes.iter().find(|a| a.name.ends_with("/Role")).unwrap();
    assert_eq!(
        roles.values,
        ["arn:aws:iam::111122223333:role/Okta_Role,arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin"]
    );
    let page = admin.get("/admin/apps/connect-admin/assignments").await;
    assert!(page.body.contains("Okta_Role"), "the assignment is listed with its role");
    let logged = events(&idp, "a").await;
    assert!(logged.iter().any(|e| e.event == "app.create" && e.actor == "test" && e.app == "connect-admin"));
    assert!(logged.iter().any(|e| e.event == "assignment.put" && e.actor == "test"));
}

#[tokio::test]
async fn groups_profile_attributes_and_the_log_page() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let csrf = admin.csrf();
    admin.post("/admin/groups", &[("csrf", &csrf), ("name", "Connect Admins")]).await;
    let added =
        admin.post("/admin/groups/Connect%20Admins", &[("csrf", &csrf), ("op", "add"), ("login", "mapped")]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert!(idp.with_tenant(|t| t.group("Connect Admins").unwrap().has_member("mapped")));
    let unknown =
        admin.post("/admin/groups/Connect%20Admins", &[("csrf", &csrf), ("op", "add"), ("login", "nobody")]).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);

    let attribute = admin
        .post(
            "/admin/profile",
            &[("csrf", &csrf), ("op", "add"), ("name", "costCenter"), ("title", "Cost center"), ("type", "integer")],
        )
        .await;
    assert_eq!(attribute.status, StatusCode::SEE_OTHER);
    let revision = form_value(&admin.get("/admin/people/mapped").await.body, "revision").unwrap();
    let bad = admin
        .post("/admin/people/mapped", &[("csrf", &csrf), ("revision", &revision), ("attr.costCenter", "twelve")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("not an integer"), "{}", bad.body);
    // An attribute an app's expression uses cannot be removed.
    let in_use = admin.post("/admin/profile", &[("csrf", &csrf), ("op", "remove"), ("name", "connect_username")]).await;
    assert_eq!(in_use.status, StatusCode::BAD_REQUEST, "{}", in_use.body);
    assert!(idp.with_tenant(|t| t.schema.custom_attribute("connect_username").is_some()));

    let log = admin.get("/admin/log?event=group.&actor=test").await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(log.body.contains("group.member.add") && log.body.contains("group.create"), "{}", log.body);
    assert!(!log.body.contains("schema.attribute.add"), "the event filter applies");
}

#[tokio::test]
async fn the_mfa_policy_sends_administrators_to_enroll_and_sessions_can_be_ended() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let csrf = admin.csrf();
    let policy = admin.post("/admin/security", &[("csrf", &csrf), ("op", "mfa"), ("policy", "admins")]).await;
    assert_eq!(policy.status, StatusCode::SEE_OTHER);
    assert_eq!(idp.with_tenant(|t| t.policy.mfa), idfed_idp::tenant::MfaPolicy::Admins);

    let mut again = Browser::new(&idp);
    let signed = again.sign_in("test", PASSWORD).await;
    assert_eq!(signed.location.as_deref(), Some("/login/mfa/enroll?return_to=/app"));
    assert_eq!(again.get("/app").await.status, StatusCode::SEE_OTHER, "no apps before enrolling");
    let enroll = again.get("/login/mfa/enroll?return_to=/app").await;
    assert!(enroll.body.contains("requires two-step verification"), "{}", enroll.body);
    let secret = enroll.body.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
    let code = totp_code(&secret, "test");
    let csrf2 = again.csrf();
    let done =
        again.post("/login/mfa/enroll", &[("csrf", &csrf2), ("code", &code), ("return_to", "/admin/security")]).await;
    assert_eq!(done.location.as_deref(), Some("/admin/security"), "{}", done.body);
    assert!(idp.with_credentials(|c| c.has_totp("test")));
    let page = again.get("/admin/security").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("1 of 4 people have enrolled"), "{}", page.body);

    // The first browser's session is listed and can be ended from the second.
    let sessions = idp.sessions(100).await.unwrap();
    assert!(sessions.len() >= 2, "{sessions:?}");
    let (key, _) = sessions.iter().find(|(k, _)| page.body.contains(k.as_str())).unwrap();
    let csrf2 = again.csrf();
    for (k, _) in &sessions {
        if k != key {
            let ended = again
                .post("/admin/security", &[("csrf", &csrf2), ("op", "end-session"), ("key", k), ("login", "test")])
                .await;
            assert_eq!(ended.status, StatusCode::SEE_OTHER);
        }
    }
    assert_eq!(idp.sessions(100).await.unwrap().len(), 1);
    let _ = key;
    assert!(!events(&idp, "user.session.revoke").await.is_empty(), "ending a session is logged");
}

#[tokio::test]
async fn a_saml_app_is_configured_and_an_api_secret_is_kept_sealed_when_left_empty() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let csrf = admin.csrf();
    let created = admin
        .post(
            "/admin/apps",
            &[
                ("csrf", &csrf),
                ("type", "saml"),
                ("name", "wiki"),
                ("label", "Team wiki"),
                ("entity_id", "https://wiki.example.com/saml"),
                ("acs_url", "https://wiki.example.com/saml/acs"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let revision = form_value(&admin.get("/admin/apps/wiki/sign-on").await.body, "revision").unwrap();
    let saved = admin
        .post(
            "/admin/apps/wiki/sign-on",
            &[
                ("csrf", &csrf),
                ("revision", &revision),
                ("entity_id", "https://wiki.example.com/saml"),
                ("acs_urls", "https://wiki.example.com/saml/acs\nhttps://wiki.example.com/saml/acs2"),
                ("name_id_format", "email"),
                ("name_id_value", "user.email"),
                ("sign", "both"),
                ("algorithm", "rsa-sha512"),
                ("attr_name", "groups"),
                ("attr_format", "basic"),
                ("attr_value", "Groups.startsWith(\"OKTA\", \"Group\", 10)"),
                ("attr_name", ""),
                ("attr_format", "uri"),
                ("attr_value", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let app = idp.with_tenant(|t| t.app("wiki").cloned()).unwrap();
    let idfed_idp::apps::AppKind::Saml(saml) = &app.kind else { panic!("a SAML app") };
    assert_eq!(saml.acs.len(), 2);
    assert!(saml.acs[0].default && saml.acs[1].index == 1);
    assert_eq!((app.name_id.format.as_str(), app.signing.sign.as_str()), ("email", "both"));
    assert_eq!(app.attribute_statements.len(), 1, "the empty row adds nothing");

    // The AWS app's API integration: the secret is sealed, never shown, kept when left empty.
    let enable = |secret: &'static str| {
        vec![
            ("op", "save"),
            ("enabled", "on"),
            ("access_key_id", "AKIAIOSFODNN7EXAMPLE"),
            ("secret_access_key", secret),
            ("endpoint", "http://127.0.0.1:9"),
        ]
    };
    let mut form = enable("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    form.push(("csrf", &csrf));
    let first = admin.post("/admin/apps/aws/provisioning", &form).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let sealed = |idp: &Idp| {
        idp.with_tenant(|t| match &t.app("aws").unwrap().kind {
            idfed_idp::apps::AppKind::Aws(aws) => aws.api_integration.clone().unwrap().secret_access_key,
            _ => unreachable!(),
        })
    };
    let stored = sealed(&idp);
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    let page = admin.get("/admin/apps/aws/provisioning").await;
    assert!(!page.body.contains("wJalrXUtnFEMI") && !page.body.contains(&stored), "the secret is never shown");
    let mut form = enable("");
    form.push(("csrf", &csrf));
    admin.post("/admin/apps/aws/provisioning", &form).await;
    assert_eq!(sealed(&idp), stored, "an empty secret keeps the stored one");
    let mut form = vec![("op", "test"), ("enabled", "on"), ("access_key_id", "AKIAIOSFODNN7EXAMPLE")];
    form.extend([("secret_access_key", ""), ("endpoint", "http://127.0.0.1:9"), ("csrf", &csrf)]);
    let test = admin.post("/admin/apps/aws/provisioning", &form).await;
    assert_eq!(test.status, StatusCode::SERVICE_UNAVAILABLE, "IAM unreachable is shown on the page: {}", test.body);
}

/// Review findings: a pending TOTP secret shown to one session is never the one another
/// session enrolls; a policy that now requires MFA ends password-only sessions (the
/// administrator's own included); resetting MFA ends the person's sessions.
#[tokio::test]
async fn pending_secrets_stay_with_their_session_and_the_policy_applies_to_open_sessions() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let csrf = admin.csrf();
    admin.post("/admin/security", &[("csrf", &csrf), ("op", "mfa"), ("policy", "everyone")]).await;
    assert_eq!(
        admin.get("/admin/people").await.status,
        StatusCode::SEE_OTHER,
        "password-only sessions no longer count"
    );

    let secret_shown = |page: &str| page.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
    let mut attacker = Browser::new(&idp);
    attacker.sign_in("Agent.One@example.com", PASSWORD).await;
    let seen = secret_shown(&attacker.get("/login/mfa/enroll?return_to=/app").await.body);
    let mut person = Browser::new(&idp);
    person.sign_in("Agent.One@example.com", PASSWORD).await;
    let enrolling = secret_shown(&person.get("/login/mfa/enroll?return_to=/app").await.body);
    assert_ne!(seen, enrolling, "another session gets its own secret");
    let csrf_p = person.csrf();
    let done = person
        .post("/login/mfa/enroll", &[("csrf", &csrf_p), ("code", &totp_code(&enrolling, "Agent.One@example.com"))])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(person.get("/app").await.status, StatusCode::OK);
    let later = now().plus_seconds(90);
    let with_seen = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(seen.clone()).to_bytes().unwrap(),
        None,
        String::new(),
    )
    .unwrap()
    .generate(later.unix_seconds() as u64);
    let checked = idp
        .change_credentials(|c| {
            c.check_totp("Agent.One@example.com", &with_seen, idfed_idp::credentials::Origin::Elsewhere, later)
        })
        .await
        .unwrap();
    assert!(checked.is_err(), "the secret the other session saw is not the enrolled one");

    // Resetting the person's MFA (as an administrator who enrolls first) ends their sessions.
    let mut admin = Browser::new(&idp);
    admin.sign_in("test", PASSWORD).await;
    let secret = secret_shown(&admin.get("/login/mfa/enroll?return_to=/app").await.body);
    let csrf = admin.csrf();
    admin.post("/login/mfa/enroll", &[("csrf", &csrf), ("code", &totp_code(&secret, "test"))]).await;
    // Enrolling completes the sign-in under a new session, with a CSRF token bound to it.
    let csrf = admin.csrf();
    let reset = admin.post("/admin/people/Agent.One@example.com/mfa-reset", &[("csrf", &csrf)]).await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.body);
    assert_eq!(person.get("/app").await.status, StatusCode::SEE_OTHER, "their session ended");
}

#[tokio::test]
async fn an_administrator_signs_a_person_out_everywhere() {
    let idp = idp().await;
    let mut person = Browser::new(&idp);
    person.sign_in("Agent.One@example.com", PASSWORD).await;
    assert_eq!(person.get("/app").await.status, StatusCode::OK);
    let mut admin = admin_browser(&idp).await;
    let page = admin.get("/admin/people/Agent.One@example.com").await;
    assert!(
        page.body.contains("/sign-out\"") && page.body.contains("Sign out everywhere"),
        "the button: {}",
        page.body
    );
    let csrf = admin.csrf();
    let forged = admin.post("/admin/people/Agent.One@example.com/sign-out", &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(person.get("/app").await.status, StatusCode::OK, "nothing happens without the token");
    let done = admin.post("/admin/people/Agent.One@example.com/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let notice = admin.get(done.location.as_deref().unwrap()).await;
    assert!(notice.body.contains("Signed out everywhere"), "{}", notice.body);
    assert_eq!(person.get("/app").await.status, StatusCode::SEE_OTHER, "their session ended");
    assert_eq!(admin.get("/admin/people").await.status, StatusCode::OK, "the administrator's did not");
    let logged = events(&idp, "user.session.revoke_all").await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].actor, "test");
}

#[tokio::test]
async fn sessions_a_password_change_ended_are_not_listed() {
    let idp = idp().await;
    let mut person = Browser::new(&idp);
    person.sign_in("Agent.One@example.com", PASSWORD).await;
    let logins = |sessions: Vec<(String, idfed_idp::service::Session)>| {
        sessions.into_iter().map(|(_, s)| s.login).collect::<Vec<_>>()
    };
    assert!(logins(idp.sessions(100).await.unwrap()).contains(&"Agent.One@example.com".to_owned()));
    idp.change_credentials(|c| {
        c.set_password("Agent.One@example.com", "another long password", &idfed_saml::random::SystemRandom::new())
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        !logins(idp.sessions(100).await.unwrap()).contains(&"Agent.One@example.com".to_owned()),
        "a session that no longer works is not offered for ending"
    );
}

/// Review finding: a person's page saved after someone else changed that person (the API, a
/// CSV import, another tab) put the page's values back, wiping what was set meanwhile. The save
/// is refused with the current profile shown instead.
#[tokio::test]
async fn a_stale_person_page_does_not_wipe_a_change_made_meanwhile() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let csrf = admin.csrf();
    let page = admin.get("/admin/people/Agent.One@example.com").await;
    let stale = form_value(&page.body, "revision").unwrap();
    let meanwhile = idfed_idp::directory::ProfileValue::String("Meanwhile".into());
    idp.change_tenant(|t| {
        t.user_mut("agent.one@example.com")?.profile.insert("connect_username".into(), meanwhile.clone());
        Ok(())
    })
    .await
    .unwrap();
    let url = "/admin/people/Agent.One@example.com";
    let (last, email) = (("last_name", "Renamed"), ("email", "agent.one@example.com"));
    let refused = admin.post(url, &[("csrf", &csrf), ("revision", &stale), ("first_name", "Agent"), last, email]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("changed since the page was loaded"), "{}", refused.body);
    assert!(refused.body.contains("Meanwhile"), "the page shows the current profile");
    let user = idp.with_tenant(|t| t.user("agent.one@example.com").cloned()).unwrap();
    assert_eq!(user.profile.get("connect_username"), Some(&meanwhile));
    assert_eq!(user.last_name, "One", "nothing of the stale form was saved");

    let fresh = form_value(&refused.body, "revision").unwrap();
    let saved = admin.post(url, &[("csrf", &csrf), ("revision", &fresh), ("first_name", "Agent"), last, email]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(idp.with_tenant(|t| t.user("agent.one@example.com").unwrap().last_name.clone()), "Renamed");
}

/// Review finding: the Sign On tab saved after someone else changed those settings (another
/// administrator, `idfed apply`, the API) put the page's values back. The save is refused with
/// the settings as they are shown instead; a change on another tab (the label) does not stop it.
#[tokio::test]
async fn a_stale_sign_on_page_does_not_undo_a_change_made_meanwhile() {
    let idp = idp().await;
    let mut admin = admin_browser(&idp).await;
    let csrf = admin.csrf();
    let url = "/admin/apps/connect-scv/sign-on";
    let app = |idp: &Idp| idp.with_tenant(|t| t.app("connect-scv").cloned()).unwrap();
    let session_duration = |idp: &Idp| match app(idp).kind {
        AppKind::Aws(aws) => aws.session_duration,
        AppKind::Saml(_) => panic!("an AWS app"),
    };
    let change_app = |edit: fn(&mut App)| {
        let idp = idp.clone();
        async move {
            idp.change_tenant(|t| {
                let mut app = t.app("connect-scv").cloned().unwrap();
                edit(&mut app);
                t.put_app(app)
            })
            .await
            .unwrap()
        }
    };
    let form = |revision: &str, seconds: &str, relay: &str| -> Vec<(&'static str, String)> {
        [
            ("csrf", csrf.as_str()),
            ("revision", revision),
            ("environment", "commercial"),
            ("identity_provider_arns", "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin"),
            ("session_duration", seconds),
            ("role_session_name", "user.login"),
            ("default_relay_state", relay),
            ("sign", "assertion"),
            ("algorithm", "rsa-sha256"),
        ]
        .map(|(k, v)| (k, v.to_owned()))
        .to_vec()
    };

    // Another tab's change (the label, on General) does not stop the save.
    let stale = form_value(&admin.get(url).await.body, "revision").unwrap();
    change_app(|app| app.label = "Renamed on the General tab".into()).await;
    let fields = form(&stale, "7200", "");
    let saved = admin.post(url, &fields.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(session_duration(&idp), 7200);

    // A change to the sign-on settings meanwhile refuses the older page.
    let stale = form_value(&admin.get(url).await.body, "revision").unwrap();
    change_app(|app| app.default_relay_state = Some("https://meanwhile.example/connect".into())).await;
    let fields = form(&stale, "3600", "");
    let refused = admin.post(url, &fields.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("changed since the page was loaded"), "{}", refused.body);
    assert!(refused.body.contains("https://meanwhile.example/connect"), "the page shows the settings as they are");
    assert_eq!(app(&idp).default_relay_state.as_deref(), Some("https://meanwhile.example/connect"), "kept");
    assert_eq!(session_duration(&idp), 7200, "nothing of the stale form was saved");

    let fresh = form_value(&refused.body, "revision").unwrap();
    let fields = form(&fresh, "3600", "https://meanwhile.example/connect");
    let saved = admin.post(url, &fields.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(session_duration(&idp), 3600);
}
