//! Role resolution at the issue's scale: 100,000 people, 10,000 groups, one person in 200 of
//! them; an AWS app with Join all roles assigned to those 200 groups (one role each), and one
//! with group mapping over the same groups. Measures `sso::roles_for` (what a launch computes
//! before it builds and signs anything) on the tenant view a running IdP caches, and the cost
//! of building that view's index, paid by the first launch after each change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use idfed_idp::apps::{App, AppKind, AwsApp, NameIdSource, Signing};
use idfed_idp::assignments::{Assignment, Principal};
use idfed_idp::csv_import::plan;
use idfed_idp::directory::{Group, User, UserStatus};
use idfed_idp::group_mapping::GroupMapping;
use idfed_idp::sso::roles_for;
use idfed_idp::tenant::Tenant;
use idfed_idp::tenant_view::TenantView;

const PEOPLE: usize = 100_000;
const GROUPS: usize = 10_000;
const MEMBERSHIPS: usize = 200;
const TARGET: &str = "person-50000@example.com";

fn aws_app(name: &str, join_all_roles: bool, group_mapping: Option<GroupMapping>) -> App {
    App {
        name: name.into(),
        label: name.into(),
        kind: AppKind::Aws(AwsApp {
            identity_provider_arns: vec!["arn:aws:iam::111122223333:saml-provider/Okta".into()],
            join_all_roles,
            group_mapping,
            ..AwsApp::default()
        }),
        default_relay_state: None,
        attribute_statements: Vec::new(),
        name_id: NameIdSource::default(),
        signing: Signing::default(),
    }
}

fn tenant() -> Tenant {
    let users: Vec<User> = (0..PEOPLE)
        .map(|i| User {
            id: format!("u{i}"),
            login: format!("person-{i}@example.com"),
            email: format!("person-{i}@example.com"),
            first_name: "P".into(),
            last_name: format!("{i}"),
            status: UserStatus::Active,
            profile: Default::default(),
            admin: false,
        })
        .collect();
    // Every person is in 20 groups (2,000,000 memberships, 200 per group on average); the
    // target person is in 200.
    let mut groups: Vec<Group> = (0..GROUPS)
        .map(|g| Group {
            name: format!("aws#111122223333#Role{g}"),
            description: String::new(),
            source: "okta".into(),
            members: Vec::new(),
        })
        .collect();
    for (i, user) in users.iter().enumerate() {
        for k in 0..20 {
            groups[(i * 7 + k * 499) % GROUPS].members.push(user.login.clone());
        }
    }
    for g in 0..MEMBERSHIPS {
        groups[g * (GROUPS / MEMBERSHIPS)].members.push(TARGET.into());
    }
    let mapping = GroupMapping {
        app_filter: "okta".into(),
        group_filter: r"aws#(?{{accountid}}\d{12})#(?{{role}}[\w\-]+)".into(),
        role_value_pattern: "arn:aws:iam::${accountid}:saml-provider/Okta,arn:aws:iam::${accountid}:role/${role}"
            .into(),
    };
    let assignments = (0..MEMBERSHIPS)
        .map(|g| Assignment {
            app: "joined".into(),
            principal: Principal::Group(format!("aws#111122223333#Role{}", g * (GROUPS / MEMBERSHIPS))),
            roles: vec![format!("Role{g}")],
        })
        .chain(std::iter::once(Assignment {
            app: "mapped".into(),
            principal: Principal::User(TARGET.into()),
            roles: Vec::new(),
        }))
        .collect();
    Tenant {
        users,
        groups,
        apps: vec![aws_app("joined", true, None), aws_app("mapped", false, Some(mapping))],
        assignments,
        ..Tenant::default()
    }
}

const IMPORT_ROWS: usize = 10_000;

/// A CSV of `rows` new people, each put in two of the existing groups.
fn import_file(rows: usize) -> String {
    let mut csv = String::from("login,email,first_name,last_name,groups\n");
    for i in 0..rows {
        let (a, b) = ((i * 13) % GROUPS, (i * 29 + 7) % GROUPS);
        csv.push_str(&format!(
            "new-{i}@example.com,new-{i}@example.com,New,Person {i},aws#111122223333#Role{a};aws#111122223333#Role{b}\n"
        ));
    }
    csv
}

fn scale(c: &mut Criterion) {
    let tenant = TenantView::new(tenant());
    assert!(roles_for(&tenant, "joined", TARGET).unwrap().len() >= MEMBERSHIPS);
    assert!(roles_for(&tenant, "mapped", TARGET).unwrap().len() >= MEMBERSHIPS);
    let mut g = c.benchmark_group("scale_100k");
    g.sample_size(20);
    g.bench_function("roles_join_all_roles", |b| b.iter(|| roles_for(black_box(&tenant), "joined", TARGET).unwrap()));
    g.bench_function("roles_group_mapping", |b| b.iter(|| roles_for(black_box(&tenant), "mapped", TARGET).unwrap()));
    // What every change pays at this size: the whole tenant is checked before it is kept.
    g.bench_function("validate_whole_tenant", |b| b.iter(|| tenant.tenant().validate().unwrap()));
    let csv = import_file(IMPORT_ROWS);
    g.bench_function("csv_plan_10000_rows", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let new_id = || {
                n += 1;
                Ok(format!("new-{n}"))
            };
            let (next, imported) = plan(tenant.tenant(), black_box(&csv), new_id, &mut |_, _| {}).unwrap();
            assert_eq!(imported.created, IMPORT_ROWS);
            next
        })
    });
    g.bench_function("index_after_a_change", |b| {
        b.iter_batched(
            || TenantView::new(tenant.tenant().clone()),
            // The view is returned so that dropping the tenant copy is not measured.
            |view| {
                assert!(view.user(TARGET).is_some());
                view
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
