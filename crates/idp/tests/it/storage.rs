//! The IdP on both storage backends (SQLite, and PostgreSQL when the test server runs):
//! everything survives a restart, and two nodes on one database share the tenant, sessions,
//! held requests and the system log.

use std::sync::Arc;

use idfed_idp::secrets::Sealer;
use idfed_idp::service::Idp;
use idfed_saml::random::SystemRandom;
use idfed_store::testing::{required, stores};
use idfed_store::{DocumentStore, EventFilter};

use crate::common::*;

async fn node(store: &DocumentStore) -> Idp {
    node_on(store, Arc::new(now)).await
}

async fn node_on(store: &DocumentStore, clock: idfed_idp::service::Clock) -> Idp {
    let sealer = Sealer::new(&[9u8; 32]).unwrap();
    Idp::open(store.clone(), "http://127.0.0.1:8080", clock, Box::new(SystemRandom::new()), sealer).await.unwrap()
}

/// A node on a moving clock holding the seeds' tenant, in which `test` has just signed in:
/// the node, its clock (for more nodes), the clock's seconds and the session token.
async fn signed_in_node(
    store: &DocumentStore,
) -> (Idp, idfed_idp::service::Clock, Arc<std::sync::atomic::AtomicI64>, String) {
    let (clock, seconds) = moving_clock();
    let node = node_on(store, clock.clone()).await;
    node.change_tenant(|t| t.apply(seeds_tenant(), || Ok("unused".into()))).await.unwrap();
    let token = node.start_session("test", true, false).await.unwrap();
    (node, clock, seconds, token)
}

#[tokio::test]
async fn the_tenant_credentials_sessions_and_log_survive_a_restart_and_are_shared_by_nodes() {
    let stores = stores("idp-storage").await;
    assert!(stores.len() == 2 || !required(), "PostgreSQL is required (IDFED_REQUIRE_ORACLES=1)");
    for store in stores {
        let backend = store.backend();
        let a = node(&store).await;
        let b = node(&store).await;
        assert_eq!(
            a.signing().active.cert_pem,
            b.signing().active.cert_pem,
            "{backend}: the signing key is made once and shared"
        );
        let (_, signing) = store.load("idp-signing-key").await.unwrap().unwrap();
        assert!(
            !signing.contains("PRIVATE KEY") && signing.contains("sealed:v1:"),
            "{backend}: the key is sealed at rest"
        );
        let summary = a.change_tenant(|t| t.apply(seeds_tenant(), || Ok("unused".into()))).await.unwrap();
        assert_eq!(summary.users.0, 4, "{backend}");
        a.change_credentials(|c| c.set_password("test", "correct horse battery", &SystemRandom::new()))
            .await
            .unwrap()
            .unwrap();
        let token = a.start_session("test", true, false).await.unwrap();
        a.log("test", "user.session.start", "test", "", true, serde_json::json!({})).await;

        // Node B sees A's tenant after a refresh, A's session, and A's log entry.
        b.refresh().await.unwrap();
        assert_eq!(b.tenant().users.len(), 4, "{backend}");
        assert_eq!(b.session(&token).await.unwrap().map(|s| s.login).as_deref(), Some("test"), "{backend}");
        let log = b.events(&EventFilter::default()).await.unwrap();
        assert_eq!(log.len(), 1, "{backend}");
        // A has read (and keeps in memory) the session before B ends it.
        for _ in 0..2 {
            assert!(a.session(&token).await.unwrap().is_some(), "{backend}");
        }
        b.end_session(&token).await.unwrap();
        assert!(a.session(&token).await.unwrap().is_none(), "{backend}: a sign-out on one node holds on all");
        let other = a.start_session("test", true, false).await.unwrap();
        assert!(b.session(&other).await.unwrap().is_some(), "{backend}");
        let (key, _) = a.sessions(10).await.unwrap().into_iter().next().unwrap();
        a.end_session_by_key(&key).await.unwrap();
        assert!(b.session(&other).await.unwrap().is_none(), "{backend}: an administrator's end holds on all");

        // A restart loses nothing.
        drop((a, b));
        let restarted = node(&store).await;
        assert_eq!(restarted.tenant(), seeds_tenant(), "{backend}");
        let checked = restarted
            .change_credentials(|c| {
                c.check_password(
                    "test",
                    "correct horse battery",
                    true,
                    idfed_idp::credentials::Origin::Elsewhere,
                    now(),
                )
            })
            .await
            .unwrap();
        assert_eq!(checked, Ok(()), "{backend}: the password survived");
    }
}

/// Key rotation: the next key is published before it signs; after activation the other node
/// signs with it too; the previous key stays in metadata until retired.
#[tokio::test]
async fn signing_keys_rotate_across_nodes() {
    use idfed_idp::sso::{IdpKey, Issuer, Request, issue};
    for store in stores("idp-rotation").await {
        let backend = store.backend();
        let a = node(&store).await;
        let b = node(&store).await;
        a.change_tenant(|t| t.apply(seeds_tenant(), || Ok("unused".into()))).await.unwrap();
        let first = a.signing().active.certificate.clone();
        a.stage_next_key("test").await.unwrap();
        b.refresh().await.unwrap();
        let published = b.signing().published();
        assert_eq!(published.len(), 2, "{backend}: metadata shows the next key before it signs");
        assert_eq!(published[0], first, "{backend}: the old key still signs");
        let next = published[1].clone();

        a.activate_next_key("test").await.unwrap();
        b.refresh().await.unwrap();
        let keys = b.signing();
        assert_eq!(keys.active.certificate, next, "{backend}: the other node signs with the new key");
        assert_eq!(keys.published(), [next.clone(), first.clone()], "{backend}: the previous key is still published");
        let rng = Seeded::new(5);
        let by = Issuer {
            entity_id: ISSUER,
            key: IdpKey { key: &keys.active.key, certificate: &keys.active.certificate },
            now: now(),
            rng: &rng,
        };
        let issued = issue(&b.view(), "aws", "test", &Request::default(), &by).unwrap();
        let config = |trusted: Vec<idfed_saml::Certificate>| idfed_saml::sp::SpConfig {
            trusted,
            recipient: Some(issued.acs_url.clone()),
            ..Default::default()
        };
        assert!(idfed_saml::sp::validate_response(&issued.xml, &config(vec![first.clone()]), now()).is_err());
        assert!(
            idfed_saml::sp::validate_response(&issued.xml, &config(vec![first.clone(), next.clone()]), now()).is_ok()
        );

        a.retire_previous_key("test").await.unwrap();
        assert!(a.retire_previous_key("test").await.is_err(), "{backend}: nothing left to retire");
        drop((a, b));
        let restarted = node(&store).await;
        assert_eq!(restarted.signing().published(), [next], "{backend}: the rotation survived a restart");
    }
}

/// `rotate`: the next key is published at once, signs after the overlap, and the old one leaves
/// metadata one overlap later; another node on the same store follows, and a verifier trusting
/// the old certificate, then both, sees the switch.
#[tokio::test]
async fn a_scheduled_rotation_runs_itself() {
    use std::sync::atomic::Ordering;
    for store in stores("idp-scheduled-rotation").await {
        let backend = store.backend();
        let (clock, seconds) = moving_clock();
        let (a, b) = (node_on(&store, clock.clone()).await, node_on(&store, clock).await);
        let old = a.signing().active.certificate.clone();
        a.rotate("test", 3600).await.unwrap();
        b.refresh().await.unwrap();
        assert_eq!(b.signing().published().len(), 2, "{backend}: the next certificate is published at once");
        assert_eq!(b.signing().active.certificate, old, "{backend}: the old key still signs");

        seconds.fetch_add(3601, Ordering::SeqCst);
        b.refresh().await.unwrap();
        let new = b.signing().active.certificate.clone();
        assert_ne!(new, old, "{backend}: after the overlap the next key signs");
        assert_eq!(b.signing().published(), [new.clone(), old.clone()], "{backend}: the old one stays published");
        a.refresh().await.unwrap();
        assert_eq!(a.signing().active.certificate, new, "{backend}: every node follows the stored keys");

        seconds.fetch_add(3601, Ordering::SeqCst);
        a.refresh().await.unwrap();
        assert_eq!(
            a.signing().published(),
            std::slice::from_ref(&new),
            "{backend}: one overlap later the old one is retired"
        );
        b.refresh().await.unwrap();
        assert_eq!(b.signing().published(), [new], "{backend}");
    }
}

/// Per-source back-off counts failures from every node: 30 failures split over two nodes back
/// the address off on both, concurrently counted without losing any.
#[tokio::test]
async fn sign_in_back_off_is_shared_by_nodes() {
    use idfed_idp::backoff::LIMIT;
    for store in stores("idp-backoff").await {
        let backend = store.backend();
        let (a, b) = (Arc::new(node(&store).await), Arc::new(node(&store).await));
        let source: std::net::IpAddr = "192.0.2.7".parse().unwrap();
        let other: std::net::IpAddr = "192.0.2.8".parse().unwrap();
        let mut tasks = Vec::new();
        for i in 0..LIMIT {
            let n = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move { n.source_attempt(source).await }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), None, "{backend}: the first {LIMIT} attempts pass");
        }
        assert!(a.source_attempt(source).await.unwrap().is_some(), "{backend}: the next one is refused");
        assert!(a.source_wait(source).await.unwrap().is_some(), "{backend}: node A backs the address off");
        let wait = b.source_wait(source).await.unwrap();
        assert!(wait.is_some_and(|w| w > 0 && w <= 900), "{backend}: and so does node B: {wait:?}");
        assert_eq!(b.source_wait(other).await.unwrap(), None, "{backend}: other addresses are not");
    }
}

#[tokio::test]
async fn an_api_token_revoked_on_one_node_is_refused_by_the_others_at_once() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt;
    for store in stores("idp-api-revoke").await {
        let backend = store.backend();
        let (a, b) = (Arc::new(node(&store).await), Arc::new(node(&store).await));
        a.change_tenant(|t| t.apply(seeds_tenant(), || Ok("unused".into()))).await.unwrap();
        let token = a.create_api_token("ops").await.unwrap();
        let logs = |node: &Arc<Idp>| {
            let request = Request::get("/api/v1/logs")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            idfed_idp::web::router(node.clone()).oneshot(request)
        };
        assert_eq!(logs(&b).await.unwrap().status(), StatusCode::OK, "{backend}: B takes a token made on A");
        assert!(a.change_credentials(|c| c.revoke_api_token("ops")).await.unwrap(), "{backend}");
        assert_eq!(logs(&b).await.unwrap().status(), StatusCode::UNAUTHORIZED, "{backend}: revoked on A, refused on B");
    }
}

/// Many concurrent changes on one node and on two nodes: every acknowledged change is kept
/// (each is made from exactly the version it replaces; a regression test for a lost update
/// where a change read the tenant before another request's save and the version after it).
#[tokio::test]
async fn concurrent_changes_are_all_kept() {
    for store in stores("idp-concurrent").await {
        let backend = store.backend();
        let (a, b) = (Arc::new(node(&store).await), Arc::new(node(&store).await));
        let mut tasks = Vec::new();
        for i in 0..40 {
            let n = if i % 3 == 0 { b.clone() } else { a.clone() };
            tasks.push(tokio::spawn(async move {
                let login = format!("racer{i}");
                n.change_tenant(|t| {
                    t.users.push(idfed_idp::directory::User {
                        id: format!("r{i}"),
                        login: login.clone(),
                        email: String::new(),
                        first_name: String::new(),
                        last_name: String::new(),
                        status: Default::default(),
                        profile: Default::default(),
                        admin: false,
                    });
                    Ok(())
                })
                .await
                .map(|()| i)
            }));
        }
        let mut acknowledged = Vec::new();
        for t in tasks {
            if let Ok(i) = t.await.unwrap() {
                acknowledged.push(i);
            }
        }
        assert!(acknowledged.len() >= 30, "{backend}: most changes get through: {}", acknowledged.len());
        let fresh = node(&store).await;
        for i in acknowledged {
            assert!(
                fresh.with_tenant(|t| t.user(&format!("racer{i}")).is_some()),
                "{backend}: racer{i} was acknowledged and lost"
            );
        }
    }
}

/// Secrets at rest: TOTP seeds are sealed like keys and API secrets; after a key rotation
/// (`reseal` under a new key that still opens the old) a node holding only the new key opens
/// everything, and one holding only the old key opens nothing.
#[tokio::test]
async fn totp_seeds_are_sealed_and_the_secret_key_rotates() {
    for store in stores("idp-reseal").await {
        let backend = store.backend();
        let open = |key: [u8; 32], earlier: Option<[u8; 32]>| {
            let store = store.clone();
            async move {
                let mut sealer = Sealer::new(&key).unwrap();
                if let Some(old) = earlier {
                    sealer = sealer.with_earlier(Sealer::new(&old).unwrap());
                }
                Idp::open(store, "http://127.0.0.1:8080", Arc::new(now), Box::new(SystemRandom::new()), sealer).await
            }
        };
        let (old, new) = ([1u8; 32], [2u8; 32]);
        let a = open(old, None).await.unwrap();
        a.change_tenant(|t| t.apply(seeds_tenant(), || Ok("unused".into()))).await.unwrap();
        let url = a.change_credentials(|c| c.enroll_totp("test", &SystemRandom::new())).await.unwrap().unwrap();
        let seed = url.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let (_, stored) = store.load("idp-credentials").await.unwrap().unwrap();
        assert!(!stored.contains(&seed) && stored.contains("sealed:v1:"), "{backend}: the TOTP seed is sealed at rest");
        let fingerprint = a.signing().active.certificate.fingerprint_sha256();
        drop(a);

        let rotating = open(new, Some(old)).await.unwrap();
        assert!(rotating.with_credentials(|c| c.has_totp("test")));
        let resealed = rotating.reseal("test").await.unwrap();
        assert!(resealed >= 2, "{backend}: {resealed}");
        drop(rotating);

        let after =
            open(new, None).await.unwrap_or_else(|e| panic!("{backend}: the new key alone opens the store: {e:?}"));
        assert_eq!(after.signing().active.certificate.fingerprint_sha256(), fingerprint, "{backend}: the same key");
        let code = totp_code(&seed, "test");
        let checked = after
            .change_credentials(|c| c.check_totp("test", &code, idfed_idp::credentials::Origin::Elsewhere, now()))
            .await
            .unwrap();
        assert_eq!(checked, Ok(()), "{backend}: the TOTP seed opened under the new key");
        assert!(open(old, None).await.is_err(), "{backend}: the old key alone opens nothing any more");
    }
}

/// Many requests refreshing at once share reloads (one runs, the others wait for it together):
/// every one of them sees a change another node stored before they started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_all_see_a_change_stored_before_them() {
    for store in stores("idp-shared-reloads").await {
        let backend = store.backend();
        let a = Arc::new(node(&store).await);
        let b = Arc::new(node(&store).await);
        for round in 0..5 {
            let login = format!("shared-{round}");
            let created = login.clone();
            a.change_tenant(move |t| {
                t.users.push(idfed_idp::directory::User {
                    id: format!("id-{created}"),
                    login: created.clone(),
                    email: format!("{created}@example.com"),
                    first_name: String::new(),
                    last_name: String::new(),
                    status: idfed_idp::directory::UserStatus::Active,
                    profile: Default::default(),
                    admin: false,
                });
                Ok(())
            })
            .await
            .unwrap();
            let readers: Vec<_> = (0..40)
                .map(|_| {
                    let (b, login) = (b.clone(), login.clone());
                    tokio::spawn(async move {
                        b.refresh().await.unwrap();
                        b.with_tenant(|t| t.user(&login).is_some())
                    })
                })
                .collect();
            for reader in readers {
                assert!(reader.await.unwrap(), "{backend}: round {round}");
            }
        }
    }
}

/// The idle time counts from the last use on any node: a node whose cached copy looks idle asks
/// the store, where another node recorded a later use; unused on every node, the session ends.
#[tokio::test]
async fn a_sessions_last_use_on_one_node_keeps_it_open_on_the_others() {
    use std::sync::atomic::Ordering;
    for store in stores("idp-idle-nodes").await {
        let backend = store.backend();
        let (a, clock, seconds, token) = signed_in_node(&store).await;
        let b = node_on(&store, clock).await;
        assert!(b.session(&token).await.unwrap().is_some(), "{backend}: B reads (and caches) the session");
        let later = |minutes: i64| seconds.fetch_add(minutes * 60, Ordering::SeqCst);
        later(90);
        assert!(a.session(&token).await.unwrap().is_some(), "{backend}: used on A after 90 minutes");
        later(60);
        let on_b = b.session(&token).await.unwrap();
        assert!(on_b.is_some(), "{backend}: B's copy is 150 minutes old, but A used it an hour ago");
        assert_eq!(on_b.unwrap().last_seen, seconds.load(Ordering::SeqCst), "{backend}: and B's use is recorded");
        later(120);
        assert!(a.session(&token).await.unwrap().is_none(), "{backend}: unused for two hours on both nodes");
        assert!(b.session(&token).await.unwrap().is_none(), "{backend}");
    }
}

/// A session stored before idle timeouts has no last use: an upgrade does not sign its person
/// out; its first use records one, from which the idle time then counts. An idle session's
/// record goes when it is found idle.
#[tokio::test]
async fn a_session_from_before_idle_timeouts_counts_from_its_first_use_after_the_upgrade() {
    use std::sync::atomic::Ordering;
    for store in stores("idp-idle-upgrade").await {
        let backend = store.backend();
        let (a, _, seconds, token) = signed_in_node(&store).await;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let key = format!("idp-session-{}", digest.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>());
        let (version, body) = store.load(&key).await.unwrap().unwrap();
        let mut old: serde_json::Value = serde_json::from_str(&body).unwrap();
        old.as_object_mut().unwrap().remove("last_seen").unwrap();
        assert!(store.replace(&key, version, version, &old.to_string()).await.unwrap(), "{backend}");
        let later = |minutes: i64| seconds.fetch_add(minutes * 60, Ordering::SeqCst);

        later(180);
        let upgraded = a.session(&token).await.unwrap();
        assert!(upgraded.is_some(), "{backend}: three hours after sign-in, the upgrade signs nobody out");
        assert_eq!(upgraded.unwrap().last_seen, seconds.load(Ordering::SeqCst), "{backend}: its use is recorded");
        later(119);
        assert!(a.session(&token).await.unwrap().is_some(), "{backend}");
        later(121);
        assert!(a.session(&token).await.unwrap().is_none(), "{backend}: now two hours unused");
        assert!(store.load(&key).await.unwrap().is_none(), "{backend}: and its record is gone");
    }
}

/// Recording a use never brings back a session another node ended: node B, still within its
/// reload window (so it has not yet learned of the end), finds its cached copy live, but the
/// write of its use only replaces a record that is still there.
#[tokio::test]
async fn recording_a_use_does_not_bring_back_a_session_ended_on_another_node() {
    use std::sync::atomic::Ordering;
    for store in stores("idp-touch-ended").await {
        let backend = store.backend();
        let (a, clock, seconds, token) = signed_in_node(&store).await;
        let mut b = node_on(&store, clock).await;
        b.reload_window = std::time::Duration::from_secs(600);
        assert!(b.session(&token).await.unwrap().is_some(), "{backend}: B caches the session");
        a.end_session(&token).await.unwrap();
        seconds.fetch_add(120, Ordering::SeqCst);
        assert!(b.session(&token).await.unwrap().is_none(), "{backend}: B's write of the use finds it gone");
        let fresh = node_on(&store, Arc::new(now)).await;
        assert!(fresh.sessions(10).await.unwrap().is_empty(), "{backend}: and nothing was written back");
    }
}
