//! CSV import: typed custom attributes, groups, updates of existing people; any bad row and
//! nothing is imported, with every bad row named by its line.

use crate::common::*;
use crate::web::idp_with;

#[tokio::test]
async fn a_good_file_creates_and_updates_people_with_their_groups() {
    let idp = idp_with(seeds_tenant()).await;
    let csv = "login,email,first_name,last_name,groups,connect_username\n\
               Agent.Two@example.com,agent.two@example.com,Agent,Two,GroupAWS,AgentTwo\n\
               \"test\",test@example.com,\"Test, Jr.\",User,,\n";
    let mut seen = Vec::new();
    let done = idp.import_csv("cli", csv, false, &mut |d, t| seen.push((d, t))).await.unwrap().unwrap();
    assert_eq!((done.created, done.updated, done.memberships), (1, 1, 1));
    assert_eq!(seen, [(1, 2), (2, 2)], "progress is reported per row");
    let tenant = idp.tenant();
    let two = tenant.user("agent.two@example.com").unwrap();
    assert_eq!(two.status, idfed_idp::directory::UserStatus::Staged);
    assert_eq!(two.profile["connect_username"], idfed_idp::directory::ProfileValue::String("AgentTwo".into()));
    assert!(tenant.group("GroupAWS").unwrap().has_member("agent.two@example.com"));
    assert_eq!(tenant.user("test").unwrap().first_name, "Test, Jr.");
    assert_eq!(tenant.user("test").unwrap().id, "u1", "an update keeps the id");
}

#[tokio::test]
async fn one_bad_row_and_nothing_is_imported_every_bad_row_named() {
    let idp = idp_with(seeds_tenant()).await;
    let before = idp.tenant();
    let csv = "login,email,status,groups\n\
               ok1,ok1@example.com,active,\n\
               bad status,x@example.com,sleeping,\n\
               ok2,not-an-email,,\n\
               ok3,ok3@example.com,,NoSuchGroup\n\
               ok1,again@example.com,,\n\
               short,row\n";
    let errors = idp.import_csv("cli", csv, false, &mut |_, _| {}).await.unwrap().unwrap_err();
    let lines: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[0].0, 3);
    assert!(lines[0].1.contains("without spaces"), "{lines:?}");
    assert!(lines[1].1.contains("not an email"), "{lines:?}");
    assert!(lines[2].1.contains("no group \"NoSuchGroup\""), "{lines:?}");
    assert_eq!(lines[3], (6, "login \"ok1\" is also on line 2"));
    assert!(lines[4].1.contains("2 fields, but the header has 4"), "{lines:?}");
    assert_eq!(idp.tenant(), before, "nothing was imported");
    let log = idp
        .events(&idfed_store::EventFilter { event: Some("user.import".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(log[0].outcome, "failure");

    let unknown_column =
        idp.import_csv("cli", "login,shoe_size\nx,42\n", false, &mut |_, _| {}).await.unwrap().unwrap_err();
    assert!(unknown_column[0].message.contains("unknown column \"shoe_size\""));
    // Two columns for one field would silently keep the later one (review finding).
    for header in ["login,email,email", "login,first_name,firstName", "login,connect_username,connect_username"] {
        let twice =
            idp.import_csv("cli", &format!("{header}\nx,a,b\n"), false, &mut |_, _| {}).await.unwrap().unwrap_err();
        assert_eq!(twice[0].line, 1, "{header}");
        assert!(twice[0].message.contains("appears twice in the header"), "{header}: {}", twice[0].message);
    }
    let dry = idp.import_csv("cli", "login\nnew1\n", true, &mut |_, _| {}).await.unwrap().unwrap();
    assert_eq!(dry.created, 1);
    assert_eq!(idp.tenant(), before, "a dry run changes nothing");
}
