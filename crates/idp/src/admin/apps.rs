//! Application pages: the catalogue, adding an app, and the General and Sign On tabs (Okta's
//! fields for the AWS Account Federation app; entity ID, ACS URLs, NameID, encryption and SLO
//! for generic SAML apps), with expressions checked as they are typed.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Admin, Chrome, Fields, Outcome, Shared, admin, admin_form, change, done, page, path_segment, shown};
use crate::apps::{
    AcsEndpoint, App, AppKind, AttributeFormat, AttributeStatement, AwsApp, ConnectRelay, EncryptionAlgorithm,
    EnvironmentType, NameIdSource, SamlApp, Signing,
};
use crate::error::{ErrorKind, IdpError};
use crate::expr::Expression;
use crate::group_mapping::GroupMapping;
use crate::service::Idp;

struct AppRow {
    name: String,
    label: String,
    kind: &'static str,
    assigned: usize,
}

#[derive(Template)]
#[template(path = "admin/apps.html")]
struct CataloguePage {
    chrome: Chrome,
    rows: Vec<AppRow>,
}

fn kind_name(kind: &AppKind) -> &'static str {
    match kind {
        AppKind::Aws(_) => "AWS Account Federation",
        AppKind::Saml(_) => "SAML 2.0",
    }
}

pub(super) async fn catalogue(
    State(idp): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let admin = match admin(&idp, &headers, "/admin/apps").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let rows = idp.with_tenant(|t| {
        t.apps
            .iter()
            .map(|a| AppRow {
                name: a.name.clone(),
                label: a.label.clone(),
                kind: kind_name(&a.kind),
                assigned: t.assignments.iter().filter(|x| x.app == a.name).count(),
            })
            .collect()
    });
    let template = CataloguePage { chrome: Chrome::new(&admin, "apps").with(Outcome::from_query(&q)), rows };
    page(&admin, &idp, StatusCode::OK, &template)
}

#[derive(Template)]
#[template(path = "admin/app_new.html")]
struct NewAppPage {
    chrome: Chrome,
    kind: String,
    name: String,
    label: String,
}

pub(super) async fn new_app(
    State(idp): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let admin = match admin(&idp, &headers, "/admin/apps/new").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let kind = q.get("type").filter(|k| *k == "saml").map_or("aws", |_| "saml").to_owned();
    let template = NewAppPage { chrome: Chrome::new(&admin, "apps"), kind, name: String::new(), label: String::new() };
    page(&admin, &idp, StatusCode::OK, &template)
}

/// Adds an app from the catalogue with its defaults; the Sign On tab fills in the rest.
pub(super) async fn create(State(idp): Shared, headers: HeaderMap, form: Fields) -> Response {
    let admin = match admin_form(&idp, &headers, &form, "/admin/apps/new").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let name = form.get("name").to_owned();
    let label = form.get("label").to_owned();
    let kind = match form.get("type") {
        "saml" => AppKind::Saml(SamlApp {
            entity_id: form.get("entity_id").to_owned(),
            acs: vec![AcsEndpoint { url: form.get("acs_url").to_owned(), index: 0, default: true }],
            encryption_certificate: None,
            encryption_algorithm: EncryptionAlgorithm::default(),
            authn_request_certificate: None,
            slo_url: None,
            one_time_use: false,
        }),
        _ => AppKind::Aws(AwsApp::default()),
    };
    let app = App {
        name: name.clone(),
        label: label.clone(),
        kind,
        default_relay_state: None,
        attribute_statements: Vec::new(),
        name_id: NameIdSource::default(),
        signing: Signing::default(),
    };
    let result = change(&idp, &admin, "app.create", &name, &name, |t| {
        if t.app(&app.name).is_some() {
            return Err(IdpError::conflict(format!("there is an app named {:?} already", app.name)));
        }
        t.put_app(app.clone())
    })
    .await;
    match result {
        Ok(()) => done(&format!("/admin/apps/{}/sign-on", path_segment(&name)), "created"),
        Err(e) => {
            let outcome = shown(e);
            let status = outcome.status();
            let kind = if form.get("type") == "saml" { "saml" } else { "aws" }.to_owned();
            let template = NewAppPage { chrome: Chrome::new(&admin, "apps").with(outcome), kind, name, label };
            page(&admin, &idp, status, &template)
        }
    }
}

/// The tab strip and heading every app page shares.
pub(super) struct AppHead {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub is_aws: bool,
    pub base: String,
    pub tab: &'static str,
}

pub(super) fn head(app: &App, tab: &'static str) -> AppHead {
    AppHead {
        name: app.name.clone(),
        label: app.label.clone(),
        kind: kind_name(&app.kind),
        is_aws: matches!(app.kind, AppKind::Aws(_)),
        base: format!("/admin/apps/{}", path_segment(&app.name)),
        tab,
    }
}

pub(super) fn missing_app() -> Response {
    crate::web::message(StatusCode::NOT_FOUND, "Not found", "There is no such app.")
}

#[derive(Template)]
#[template(path = "admin/app_general.html")]
struct GeneralPage {
    chrome: Chrome,
    app: AppHead,
    launch_url: String,
}

fn general_page(idp: &Idp, admin: &Admin, name: &str, outcome: Outcome) -> Response {
    let Some(app) = idp.with_tenant(|t| t.app(name).cloned()) else { return missing_app() };
    let status = outcome.status();
    let template = GeneralPage {
        chrome: Chrome::new(admin, "apps").with(outcome),
        launch_url: format!("{}/app/{}/sso", idp.base_url, app.name),
        app: head(&app, "general"),
    };
    page(admin, idp, status, &template)
}

pub(super) async fn general(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match admin(&idp, &headers, &format!("/admin/apps/{}", path_segment(&name))).await {
        Ok(admin) => general_page(&idp, &admin, &name, Outcome::from_query(&q)),
        Err(r) => r,
    }
}

/// `op` = label (rename the tile) or delete (the app and its assignments).
pub(super) async fn save_general(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Fields,
) -> Response {
    let here = format!("/admin/apps/{}", path_segment(&name));
    let admin = match admin_form(&idp, &headers, &form, &here).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = match form.get("op") {
        "delete" => {
            let result = change(&idp, &admin, "app.delete", &name, &name, |t| t.remove_app(&name)).await;
            if result.is_ok() {
                return done("/admin/apps", "deleted");
            }
            result
        }
        _ => {
            let label = form.get("label").to_owned();
            change(&idp, &admin, "app.update", &name, &name, |t| {
                let mut app =
                    t.app(&name).cloned().ok_or_else(|| IdpError::not_found(format!("there is no app {name:?}")))?;
                app.label = label.clone();
                t.put_app(app)
            })
            .await
        }
    };
    match result {
        Ok(()) => done(&here, "saved"),
        Err(e) => general_page(&idp, &admin, &name, shown(e)),
    }
}

// ---- Sign On -----------------------------------------------------------------------------------

pub(super) struct StatementRow {
    name: String,
    format: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "admin/app_sign_on.html")]
struct SignOnPage {
    chrome: Chrome,
    app: AppHead,
    metadata_url: String,
    acs_url: String,
    relay_state: String,
    effective_relay_state: String,
    statements: Vec<StatementRow>,
    sign: String,
    algorithm: String,
    aws: Option<AwsFields>,
    saml: Option<SamlFields>,
    /// [`sign_on_revision`] of the app the form was loaded from.
    revision: String,
}

struct AwsFields {
    environment: &'static str,
    region: String,
    acs_url: String,
    arns: String,
    session_duration: u32,
    join_all_roles: bool,
    role_session_name: String,
    mapping: bool,
    app_filter: String,
    group_filter: String,
    role_value_pattern: String,
    connect_instance: String,
    connect_region: String,
    connect_destination: String,
    connect_console: String,
}

struct SamlFields {
    entity_id: String,
    acs: String,
    name_id_format: String,
    name_id_value: String,
    encryption_certificate: String,
    encryption_algorithm: &'static str,
    authn_request_certificate: String,
    slo_url: String,
    one_time_use: bool,
}

fn environment_name(environment: EnvironmentType) -> &'static str {
    match environment {
        EnvironmentType::Commercial => "commercial",
        EnvironmentType::Regional => "regional",
        EnvironmentType::GovCloud => "govcloud",
        EnvironmentType::China => "china",
        EnvironmentType::Custom => "custom",
    }
}

fn format_name(format: AttributeFormat) -> &'static str {
    match format {
        AttributeFormat::Unspecified => "unspecified",
        AttributeFormat::Uri => "uri",
        AttributeFormat::Basic => "basic",
    }
}

fn algorithm_name(algorithm: EncryptionAlgorithm) -> &'static str {
    match algorithm {
        EncryptionAlgorithm::Aes256Gcm => "aes256-gcm",
        EncryptionAlgorithm::Aes128Cbc => "aes128-cbc",
        EncryptionAlgorithm::Aes256Cbc => "aes256-cbc",
    }
}

/// A digest of what the Sign On tab edits, as stored: the page carries it, and a save from a
/// page older than the app's last change to those settings is refused rather than putting the
/// page's values back. The label (General tab) and the API integration (Provisioning tab) are
/// left out, so saving those meanwhile does not stop this tab.
fn sign_on_revision(app: &App) -> String {
    let mut settings = app.clone();
    settings.label.clear();
    if let AppKind::Aws(aws) = &mut settings.kind {
        aws.api_integration = None;
    }
    crate::hex::sha256(serde_json::to_string(&settings).unwrap_or_default().as_bytes())
}

/// The Sign On tab showing `app`, its form carrying `revision` (the stored app's, when the page
/// shows what was typed).
fn sign_on_page(idp: &Idp, admin: &Admin, app: &App, revision: String, outcome: Outcome) -> Response {
    let mut statements: Vec<StatementRow> = app
        .attribute_statements
        .iter()
        .map(|s| StatementRow { name: s.name.clone(), format: format_name(s.format), value: s.value.clone() })
        .collect();
    statements.push(StatementRow { name: String::new(), format: "uri", value: String::new() });
    let (aws, saml, acs_url) = match &app.kind {
        AppKind::Aws(aws) => {
            let mapping = aws.group_mapping.as_ref();
            let connect = aws.connect.as_ref();
            let fields = AwsFields {
                environment: environment_name(aws.environment),
                region: aws.region.clone().unwrap_or_default(),
                acs_url: aws.acs_url.clone().unwrap_or_default(),
                arns: aws.identity_provider_arns.join("\n"),
                session_duration: aws.session_duration,
                join_all_roles: aws.join_all_roles,
                role_session_name: aws.role_session_name.clone(),
                mapping: mapping.is_some(),
                app_filter: mapping.map_or_else(crate::directory::default_group_source, |m| m.app_filter.clone()),
                group_filter: mapping.map(|m| m.group_filter.clone()).unwrap_or_default(),
                role_value_pattern: mapping.map(|m| m.role_value_pattern.clone()).unwrap_or_default(),
                connect_instance: connect.map(|c| c.instance_id.clone()).unwrap_or_default(),
                connect_region: connect.map_or_else(|| "us-east-1".into(), |c| c.region.clone()),
                connect_destination: connect.map_or_else(|| "admin".into(), |c| c.destination.clone()),
                connect_console: connect.and_then(|c| c.console_url.clone()).unwrap_or_default(),
            };
            (Some(fields), None, aws.environment().map(|e| e.acs_url()).unwrap_or_default())
        }
        AppKind::Saml(saml) => {
            let fields = SamlFields {
                entity_id: saml.entity_id.clone(),
                acs: saml.acs.iter().map(|a| a.url.clone()).collect::<Vec<_>>().join("\n"),
                name_id_format: app.name_id.format.clone(),
                name_id_value: app.name_id.value.clone(),
                encryption_certificate: saml.encryption_certificate.clone().unwrap_or_default(),
                encryption_algorithm: algorithm_name(saml.encryption_algorithm),
                authn_request_certificate: saml.authn_request_certificate.clone().unwrap_or_default(),
                slo_url: saml.slo_url.clone().unwrap_or_default(),
                one_time_use: saml.one_time_use,
            };
            let acs = saml.acs_for(None, None).map(|a| a.url.clone()).unwrap_or_default();
            (None, Some(fields), acs)
        }
    };
    let status = outcome.status();
    let template = SignOnPage {
        chrome: Chrome::new(admin, "apps").with(outcome),
        metadata_url: format!("{}/app/{}/metadata", idp.base_url, app.name),
        acs_url,
        relay_state: app.default_relay_state.clone().unwrap_or_default(),
        effective_relay_state: app.default_relay_state().unwrap_or_default(),
        statements,
        sign: app.signing.sign.clone(),
        algorithm: app.signing.algorithm.clone(),
        aws,
        saml,
        revision,
        app: head(app, "sign-on"),
    };
    page(admin, idp, status, &template)
}

pub(super) async fn sign_on(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let admin = match admin(&idp, &headers, &format!("/admin/apps/{}/sign-on", path_segment(&name))).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match idp.with_tenant(|t| t.app(&name).cloned()) {
        Some(app) => sign_on_page(&idp, &admin, &app, sign_on_revision(&app), Outcome::from_query(&q)),
        None => missing_app(),
    }
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim()).filter(|t| !t.is_empty()).map(str::to_owned)
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// The Sign On tab's fields applied to `app` (the other tabs' settings are kept).
fn sign_on_from(form: &Fields, mut app: App) -> Result<App, IdpError> {
    app.default_relay_state = optional(form.get("default_relay_state"));
    app.signing = Signing { sign: form.get("sign").to_owned(), algorithm: form.get("algorithm").to_owned() };
    let names = form.all("attr_name");
    let formats = form.all("attr_format");
    let values = form.all("attr_value");
    app.attribute_statements = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.trim().is_empty())
        .map(|(i, n)| {
            let format = match formats.get(i).copied().unwrap_or("uri") {
                "unspecified" => AttributeFormat::Unspecified,
                "basic" => AttributeFormat::Basic,
                _ => AttributeFormat::Uri,
            };
            AttributeStatement {
                name: n.trim().to_owned(),
                format,
                value: values.get(i).copied().unwrap_or_default().trim().to_owned(),
            }
        })
        .collect();
    match &mut app.kind {
        AppKind::Aws(aws) => {
            aws.environment = match form.get("environment") {
                "regional" => EnvironmentType::Regional,
                "govcloud" => EnvironmentType::GovCloud,
                "china" => EnvironmentType::China,
                "custom" => EnvironmentType::Custom,
                _ => EnvironmentType::Commercial,
            };
            aws.region = optional(form.get("region"));
            aws.acs_url = optional(form.get("acs_url"));
            aws.identity_provider_arns = lines(form.get("identity_provider_arns"))
                .into_iter()
                .flat_map(|l| l.split(',').map(|p| p.trim().to_owned()).collect::<Vec<_>>())
                .filter(|p| !p.is_empty())
                .collect();
            aws.session_duration = form
                .get("session_duration")
                .parse()
                .map_err(|_| IdpError::invalid("the session duration is a number of seconds (900 to 43200)"))?;
            aws.join_all_roles = form.checked("join_all_roles");
            aws.role_session_name = form.get("role_session_name").to_owned();
            aws.group_mapping = form.checked("use_group_mapping").then(|| GroupMapping {
                app_filter: optional(form.get("app_filter")).unwrap_or_else(crate::directory::default_group_source),
                group_filter: form.get("group_filter").to_owned(),
                role_value_pattern: form.get("role_value_pattern").to_owned(),
            });
            aws.connect = optional(form.get("connect_instance_id")).map(|instance_id| ConnectRelay {
                instance_id,
                region: optional(form.get("connect_region")).unwrap_or_else(|| "us-east-1".into()),
                destination: optional(form.get("connect_destination")).unwrap_or_else(|| "admin".into()),
                console_url: optional(form.get("connect_console_url")),
            });
        }
        AppKind::Saml(saml) => {
            saml.entity_id = form.get("entity_id").to_owned();
            saml.acs = lines(form.get("acs_urls"))
                .into_iter()
                .enumerate()
                .map(|(i, url)| AcsEndpoint { url, index: u16::try_from(i).unwrap_or(u16::MAX), default: i == 0 })
                .collect();
            saml.slo_url = optional(form.get("slo_url"));
            saml.encryption_certificate = optional(form.get("encryption_certificate"));
            saml.encryption_algorithm = match form.get("encryption_algorithm") {
                "aes128-cbc" => EncryptionAlgorithm::Aes128Cbc,
                "aes256-cbc" => EncryptionAlgorithm::Aes256Cbc,
                _ => EncryptionAlgorithm::Aes256Gcm,
            };
            saml.authn_request_certificate = optional(form.get("authn_request_certificate"));
            saml.one_time_use = form.checked("one_time_use");
            app.name_id = NameIdSource {
                format: form.get("name_id_format").to_owned(),
                value: form.get("name_id_value").to_owned(),
            };
        }
    }
    Ok(app)
}

pub(super) async fn save_sign_on(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Fields,
) -> Response {
    let here = format!("/admin/apps/{}/sign-on", path_segment(&name));
    let admin = match admin_form(&idp, &headers, &form, &here).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(stored) = idp.with_tenant(|t| t.app(&name).cloned()) else { return missing_app() };
    let loaded_revision = form.get("revision").to_owned();
    let edited = match sign_on_from(&form, stored.clone()) {
        Ok(app) => app,
        Err(e) => return sign_on_page(&idp, &admin, &stored, loaded_revision, Outcome::Error(e.message)),
    };
    let result = change(&idp, &admin, "app.update", &name, &name, |t| {
        let current = t.app(&name).cloned().ok_or_else(|| IdpError::not_found(format!("there is no app {name:?}")))?;
        if loaded_revision != sign_on_revision(&current) {
            return Err(IdpError::conflict(
                "this app's sign-on settings were changed since the page was loaded (elsewhere, or in another tab); the page now shows them as they are: make the change again",
            ));
        }
        // Only this tab's fields: an API integration saved meanwhile in another tab is kept.
        let mut app = sign_on_from(&form, current)?;
        app.name = name.clone();
        t.put_app(app)
    })
    .await;
    match result {
        Ok(()) => done(&here, "saved"),
        Err(e) if e.kind == ErrorKind::Conflict => match idp.with_tenant(|t| t.app(&name).cloned()) {
            Some(current) => sign_on_page(&idp, &admin, &current, sign_on_revision(&current), shown(e)),
            None => missing_app(),
        },
        // The page shows what was typed, with the reason it was not saved.
        Err(e) => sign_on_page(&idp, &admin, &edited, loaded_revision, shown(e)),
    }
}

/// Live validation: parses and type-checks one expression against the profile schema.
pub(super) async fn check_expression(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Fields,
) -> Response {
    if let Err(r) = admin_form(&idp, &headers, &form, &format!("/admin/apps/{}/sign-on", path_segment(&name))).await {
        return r;
    }
    let text = form.get("expression");
    let answer = idp.with_tenant(|t| match Expression::parse(text, &t.schema) {
        Ok(expression) => serde_json::json!({
            "ok": true,
            "message": format!("Valid: gives a {}.", expression.result_type().name()),
        }),
        Err(e) => serde_json::json!({ "ok": false, "message": e.to_string() }),
    });
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], answer.to_string())
        .into_response()
}
