//! Migrations, foreign-key rules, the spec's cleanup order and error mapping.

use cap_panel::db::entities::{
    alt, alt_variable, ctrl, node, permission, role, role_permission, server, server_variable,
    user, user_permission,
};
use cap_panel::repo;
use cap_panel::Error;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{fresh_db, new_server, new_user, user_row, world, TestDb};

async fn count<E: EntityTrait>(db: &DatabaseConnection) -> u64
where
    E::Model: Sync,
{
    E::find().count(db).await.expect("count")
}

#[tokio::test]
async fn migrations_seed_the_catalogue_and_are_idempotent() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    cap_panel::db::migrate(&db)
        .await
        .expect("second run is a no-op");
    assert_eq!(count::<permission::Entity>(&db).await, 36);
    assert_eq!(count::<role::Entity>(&db).await, 3);
    let admin_keys = role_permission::Entity::find()
        .filter(role_permission::Column::Role.eq("admin"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(admin_keys, 36);
    for p in cap_panel::permissions::ALL {
        let row = permission::Entity::find_by_id(p.key)
            .one(&db)
            .await
            .unwrap();
        assert_eq!(
            row.map(|r| r.category),
            Some(p.category.to_owned()),
            "{}",
            p.key
        );
    }
    // Reconnecting to the migrated database changes nothing either.
    let again = test_db.connect().await;
    assert_eq!(count::<permission::Entity>(&again).await, 36);
}

#[tokio::test]
async fn deleting_a_user_deletes_their_servers_and_grants() {
    let (db, _guard) = fresh_db().await;
    let w = world(&db, "a").await;
    let other = world(&db, "b").await;
    repo::permissions::set(&db, &w.user.id, "server:create", true)
        .await
        .unwrap();
    user::Entity::delete_by_id(&w.user.id)
        .exec(&db)
        .await
        .unwrap();
    assert!(server::Entity::find_by_id(&w.server.id)
        .one(&db)
        .await
        .unwrap()
        .is_none());
    assert_eq!(count::<user_permission::Entity>(&db).await, 0);
    assert!(server::Entity::find_by_id(&other.server.id)
        .one(&db)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn deleting_a_node_keeps_its_servers_without_a_node() {
    let (db, _guard) = fresh_db().await;
    let w = world(&db, "a").await;
    node::Entity::delete_by_id(&w.node.id)
        .exec(&db)
        .await
        .unwrap();
    let server = server::Entity::find_by_id(&w.server.id)
        .one(&db)
        .await
        .unwrap();
    assert_eq!(server.expect("server survives").node_id, None);
}

#[tokio::test]
async fn deleting_a_ctrl_deletes_its_alts_and_their_servers() {
    let (db, _guard) = fresh_db().await;
    let w = world(&db, "a").await;
    let variables = repo::alts::variables(&db, &w.alt.id).await.unwrap();
    let variable = variables.first().expect("the test game has variables");
    ctrl::Entity::delete_by_id(&w.ctrl.id)
        .exec(&db)
        .await
        .unwrap();
    assert!(alt::Entity::find_by_id(&w.alt.id)
        .one(&db)
        .await
        .unwrap()
        .is_none());
    assert!(alt_variable::Entity::find_by_id(&variable.id)
        .one(&db)
        .await
        .unwrap()
        .is_none());
    assert!(server::Entity::find_by_id(&w.server.id)
        .one(&db)
        .await
        .unwrap()
        .is_none());
    assert!(user::Entity::find_by_id(&w.user.id)
        .one(&db)
        .await
        .unwrap()
        .is_some());
}

/// The spec's order: servers → user_permissions → alts → users → nodes → ctrls → permissions.
#[tokio::test]
async fn spec_cleanup_order_empties_a_populated_database() {
    let (db, _guard) = fresh_db().await;
    for tag in ["a", "b", "c"] {
        let w = world(&db, tag).await;
        repo::permissions::set(&db, &w.user.id, "admin:audit", true)
            .await
            .unwrap();
    }
    server::Entity::delete_many().exec(&db).await.unwrap();
    user_permission::Entity::delete_many()
        .exec(&db)
        .await
        .unwrap();
    alt::Entity::delete_many().exec(&db).await.unwrap();
    user::Entity::delete_many().exec(&db).await.unwrap();
    node::Entity::delete_many().exec(&db).await.unwrap();
    ctrl::Entity::delete_many().exec(&db).await.unwrap();
    permission::Entity::delete_many().exec(&db).await.unwrap();
    assert_eq!(count::<server::Entity>(&db).await, 0);
    assert_eq!(count::<server_variable::Entity>(&db).await, 0);
    assert_eq!(count::<user_permission::Entity>(&db).await, 0);
    assert_eq!(count::<alt::Entity>(&db).await, 0);
    assert_eq!(count::<user::Entity>(&db).await, 0);
    assert_eq!(count::<node::Entity>(&db).await, 0);
    assert_eq!(count::<ctrl::Entity>(&db).await, 0);
    assert_eq!(count::<permission::Entity>(&db).await, 0);
    assert_eq!(count::<role_permission::Entity>(&db).await, 0);
}

/// Roles are referenced by users with RESTRICT: removing a role before its users is
/// refused as a validation error, and nothing is deleted.
#[tokio::test]
async fn a_wrong_deletion_order_is_rejected() {
    let (db, _guard) = fresh_db().await;
    world(&db, "a").await;
    let err = role::Entity::delete_many()
        .exec(&db)
        .await
        .map_err(Error::from)
        .expect_err("roles still in use");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert_eq!(count::<role::Entity>(&db).await, 3);
    assert_eq!(count::<user::Entity>(&db).await, 1);
}

#[tokio::test]
async fn duplicates_are_conflicts() {
    let (db, _guard) = fresh_db().await;
    new_user(&db, "alice").await;
    let same_name = repo::users::create(
        &db,
        repo::users::NewUser {
            username: "alice".into(),
            email: "other@example.com".into(),
            password_hash: "x".into(),
            role: "user".into(),
        },
    )
    .await
    .expect_err("duplicate username");
    assert!(
        matches!(&same_name, Error::Conflict(m) if m.contains("username")),
        "{same_name:?}"
    );
    let same_email = repo::users::create(
        &db,
        repo::users::NewUser {
            username: "alice2".into(),
            email: "alice@example.com".into(),
            password_hash: "x".into(),
            role: "user".into(),
        },
    )
    .await
    .expect_err("duplicate email");
    assert!(
        matches!(&same_email, Error::Conflict(m) if m.contains("email")),
        "{same_email:?}"
    );
    let w = world(&db, "x").await;
    let twice = repo::permissions::set(&db, &w.user.id, "file:read", true).await;
    assert!(twice.is_ok());
    let twice = repo::permissions::set(&db, &w.user.id, "file:read", false).await;
    assert!(matches!(twice, Err(Error::Conflict(_))), "{twice:?}");
}

#[tokio::test]
async fn dangling_references_are_validation_errors() {
    let (db, _guard) = fresh_db().await;
    let w = world(&db, "a").await;
    let missing = uuid::Uuid::now_v7().to_string();
    let err = repo::servers::create(&db, new_server(&w.user.id, None, &missing))
        .await
        .expect_err("alt does not exist");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let err = repo::servers::create(&db, new_server(&missing, None, &w.alt.id))
        .await
        .expect_err("owner does not exist");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let err = repo::permissions::set(&db, &w.user.id, "server:fly", true)
        .await
        .expect_err("no such permission");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert_eq!(count::<server::Entity>(&db).await, 1);
}

#[tokio::test]
async fn accounts_that_differ_only_in_letter_case_are_renamed_not_lost() {
    use cap_panel::db::migrations::Migrator;
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    use sea_orm_migration::MigratorTrait;

    let test_db = TestDb::new().await;
    let db = cap_panel::db::connect(&test_db.url).await.unwrap();
    Migrator::up(&db, Some(1)).await.unwrap();
    // What the first schema allowed: the same names in other letter cases, oldest first.
    let rows = [
        ("alice", "alice@example.com"),
        ("Alice", "ALICE@example.com"),
        ("ALICE", "bob@example.com"),
        ("alice-2", "Bob@Example.com"),
    ];
    let mut ids = Vec::new();
    for (i, (username, email)) in rows.into_iter().enumerate() {
        let mut new = new_user(&db, &format!("seed{i}")).await.into_active_model();
        new.username = Set(username.into());
        new.email = Set(email.into());
        new.created_at = Set(chrono::Utc::now() + chrono::Duration::seconds(i as i64));
        ids.push(new.update(&db).await.unwrap().id);
    }

    cap_panel::db::migrate(&db)
        .await
        .expect("migrates despite the clashes");
    let mut after = Vec::new();
    for id in &ids {
        let user = user::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        after.push((user.username, user.email));
    }
    let expected = [
        ("alice", "alice@example.com"),
        ("Alice-3", "alice+2@example.com"),
        ("ALICE-4", "bob@example.com"),
        ("alice-2", "bob+2@example.com"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(u, e)| (u.to_string(), e.to_string()))
        .collect();
    assert_eq!(after, expected);

    // From now on the database refuses such twins itself.
    let twin = repo::users::create(&db, user_row("ALICE-2")).await;
    assert!(matches!(twin, Err(Error::Conflict(_))), "{twin:?}");
}
