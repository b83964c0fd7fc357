//! [`JsonUserStore`] beyond the conformance suite: what is on disk, what a failed change leaves,
//! and the errors at start.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authmount::store::{ConflictField, StoreError, UserStore};
use authmount::user::{NewUser, ProfileUpdate, UserId};
use common::{TempDir, file_users};
use custom_store::{JsonUserStore, LoadError};
use serde_json::json;

fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_is_in_the_file_before_it_returns() {
    let dir = TempDir::new();
    let path = dir.file("users.json");
    let store = JsonUserStore::open_or_init(&path).expect("store");
    let ann = store
        .create(
            NewUser::new("Ann", at(1_000)).with_email("ann@example.org").with_attribute("orcid", "0000-1"),
        )
        .await
        .expect("created");
    let bob = store.create(NewUser::new("bob", at(2_000))).await.expect("created");
    store.set_password_hash(bob.id, "$argon2id$new").await.expect("set");
    let update = ProfileUpdate {
        email: Some(Some("Ann.New@example.org".into())),
        groups: Some(vec!["b".into(), "a".into()]),
        ..Default::default()
    };
    store.update_profile(ann.id, update).await.expect("updated");

    let reopened = JsonUserStore::open(&path).expect("reopens");
    for id in [ann.id, bob.id] {
        assert_eq!(reopened.get(id).await.expect("get"), store.get(id).await.expect("get"), "user {id}");
    }
    assert!(reopened.find_by_login("ann@example.org").await.expect("lookup").is_none(), "old e-mail freed");
    assert_eq!(
        reopened.find_by_login("ann.new@EXAMPLE.org").await.expect("lookup").map(|u| u.id),
        Some(ann.id)
    );
    assert_eq!(
        file_users(&path),
        vec![
            json!({"id": 1, "username": "Ann", "email": "Ann.New@example.org", "first_name": "",
                   "last_name": "", "is_active": true, "is_admin": false, "is_superuser": false,
                   "groups": ["b", "a"], "created_at_ms": 1000, "password_hash": null,
                   "attributes": {"orcid": "0000-1"}}),
            json!({"id": 2, "username": "bob", "email": null, "first_name": "", "last_name": "",
                   "is_active": true, "is_admin": false, "is_superuser": false, "groups": [],
                   "created_at_ms": 2000, "password_hash": "$argon2id$new", "attributes": {}}),
        ]
    );
    // Ids carry on after a restart.
    let carl = reopened.create(NewUser::new("carl", at(3_000))).await.expect("created");
    assert_eq!(carl.id, UserId(3));
    assert_eq!(reopened.len().await, 3);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["users.json".to_owned()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn creation_times_are_kept_to_the_millisecond_and_read_back_as_returned() {
    let dir = TempDir::new();
    let store = JsonUserStore::open_or_init(dir.file("users.json")).expect("store");
    let created_at = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
    let ann = store.create(NewUser::new("ann", created_at)).await.expect("created");
    assert_eq!(ann.created_at, at(1_700_000_000_123));
    let reopened = JsonUserStore::open(dir.file("users.json")).expect("reopens");
    assert_eq!(reopened.get(ann.id).await.expect("get"), Some(ann));
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_changes_leave_the_file_and_memory_as_they_were() {
    let dir = TempDir::new();
    let path = dir.file("users.json");
    let store = JsonUserStore::open_or_init(&path).expect("store");
    let ann = store.create(NewUser::new("ann", at(0)).with_email("ann@example.org")).await.expect("created");
    store.create(NewUser::new("bob", at(0))).await.expect("created");
    let before = std::fs::read(&path).expect("file");

    let taken = store.create(NewUser::new("ANN@example.org", at(0)).with_email("new@example.org")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(ConflictField::Username))), "{taken:?}");
    let update = ProfileUpdate { email: Some(Some("BOB".into())), ..Default::default() };
    let taken = store.update_profile(ann.id, update).await;
    assert!(matches!(taken, Err(StoreError::Conflict(ConflictField::Email))), "{taken:?}");
    assert!(matches!(store.set_password_hash(UserId(99), "$x").await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.update_profile(UserId(99), ProfileUpdate::default()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(std::fs::read(&path).expect("file"), before, "the file is untouched");
    assert!(store.find_by_login("new@example.org").await.expect("lookup").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_file_is_unavailable_and_changes_nothing_until_it_is_back() {
    let dir = TempDir::new();
    let sub = dir.file("data");
    std::fs::create_dir(&sub).expect("mkdir");
    let path = sub.join("users.json");
    let store = JsonUserStore::open_or_init(&path).expect("store");
    let ann = store.create(NewUser::new("ann", at(0))).await.expect("created");

    // The directory disappears (a lost mount, say): writes fail, reads go on.
    std::fs::remove_dir_all(&sub).expect("rmdir");
    let failed = store.create(NewUser::new("bob", at(0))).await;
    let Err(StoreError::Unavailable(source)) = failed else { panic!("expected Unavailable, got {failed:?}") };
    assert!(source.to_string().contains("users.json"), "{source}");
    let failed = store.set_password_hash(ann.id, "$argon2id$new").await;
    assert!(matches!(failed, Err(StoreError::Unavailable(_))), "{failed:?}");
    assert!(store.find_by_login("bob").await.expect("lookup").is_none(), "nothing stored in memory");
    assert_eq!(store.get(ann.id).await.expect("get").and_then(|u| u.password_hash), None);

    // Back again: the next change succeeds, under the id the failed one would have had.
    std::fs::create_dir(&sub).expect("mkdir");
    let bob = store.create(NewUser::new("bob", at(0))).await.expect("created");
    assert_eq!(bob.id, UserId(2));
    assert_eq!(file_users(&path).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_whose_caller_goes_away_still_completes_in_file_and_memory() {
    let dir = TempDir::new();
    let path = dir.file("users.json");
    let store = JsonUserStore::open_or_init(&path).expect("store");
    for i in 0..20 {
        // Polled once, then dropped: the change has started and must not be torn.
        let name = format!("user{i}");
        let _ = tokio::time::timeout(Duration::ZERO, store.create(NewUser::new(name, at(0)))).await;
    }
    // Any later change waits for those before it; then memory and file agree.
    store.create(NewUser::new("last", at(0))).await.expect("created");
    let reopened = JsonUserStore::open(&path).expect("reopens");
    assert_eq!(reopened.len().await, store.len().await);
    for i in 0..20 {
        let name = format!("user{i}");
        let in_memory = store.find_by_login(&name).await.expect("lookup");
        assert_eq!(reopened.find_by_login(&name).await.expect("lookup"), in_memory, "{name}");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new();
    let store = JsonUserStore::open_or_init(dir.file("users.json")).expect("store");
    store.create(NewUser::new("ann", at(0))).await.expect("created");
    let mode = std::fs::metadata(dir.file("users.json")).expect("metadata").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

fn open_with(contents: &str) -> Result<JsonUserStore, LoadError> {
    let dir = TempDir::new();
    let path = dir.file("users.json");
    std::fs::write(&path, contents).expect("write");
    JsonUserStore::open(&path)
}

#[test]
fn a_corrupt_file_is_a_clear_error_at_start() {
    let cases: [(&str, &str); 10] = [
        ("{\"users\": [\n  {\"id\": 1, \"username\": \"ann\", \"created_at_ms\": 0,}\n]}", "line 2"),
        ("", "EOF"),
        (r#"{"users": {}}"#, "invalid type: map, expected a sequence"),
        (
            r#"{"users": [{"id": 1, "username": "ann", "created_at_ms": 0, "pasword_hash": "x"}]}"#,
            "pasword_hash",
        ),
        (r#"{"users": [{"id": 1, "username": "ann"}]}"#, "created_at_ms"),
        (r#"{"users": [], "extra": 1}"#, "extra"),
        (r#"{"users": [{"id": 0, "username": "ann", "created_at_ms": 0}]}"#, "ids must be positive"),
        (
            r#"{"users": [{"id": 1, "username": "ann", "created_at_ms": 0}, {"id": 1, "username": "bob", "created_at_ms": 0}]}"#,
            "the id 1 twice",
        ),
        (
            r#"{"users": [{"id": 1, "username": "ann", "email": "a@example.org", "created_at_ms": 0},
                          {"id": 2, "username": "A@EXAMPLE.ORG", "created_at_ms": 0}]}"#,
            "users 1 and 2 share the login \"a@example.org\"",
        ),
        (
            r#"{"users": [{"id": 1, "username": "ann", "created_at_ms": -9223372036854775808}]}"#,
            "creation time out of range",
        ),
    ];
    for (contents, expected) in cases {
        let error = open_with(contents).err().unwrap_or_else(|| panic!("{contents} loaded"));
        let message = error.to_string();
        assert!(message.contains("users.json"), "{message}");
        assert!(message.contains(expected), "{contents}: {message}");
    }
    let error = open_with("{\"users\": [}").expect_err("refused");
    assert!(matches!(error, LoadError::Parse { .. }), "{error:?}");
}

#[test]
fn a_user_whose_username_is_their_own_email_loads() {
    let store = open_with(
        r#"{"users": [{"id": 7, "username": "ann@example.org", "email": "ANN@example.org", "created_at_ms": 0}]}"#,
    )
    .expect("loads");
    drop(store);
}

#[test]
fn open_needs_the_file_and_open_or_init_creates_it() {
    let dir = TempDir::new();
    let path = dir.file("users.json");
    let error = JsonUserStore::open(&path).expect_err("missing");
    assert!(matches!(&error, LoadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound));
    assert!(error.to_string().starts_with("cannot access the user file"), "{error}");

    JsonUserStore::open_or_init(&path).expect("created");
    assert_eq!(std::fs::read_to_string(&path).expect("file"), "{\n  \"users\": []\n}\n");
    JsonUserStore::open(&path).expect("opens what it created");

    let nowhere = dir.file("no-such-dir").join("users.json");
    let error = JsonUserStore::open_or_init(&nowhere).expect_err("unwritable");
    assert!(matches!(error, LoadError::Io { .. }), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_file_loads() {
    let store = JsonUserStore::open(concat!(env!("CARGO_MANIFEST_DIR"), "/users.json")).expect("sample");
    assert_eq!(store.len().await, 2);
    let ann = store.find_by_login("ANN@example.org").await.expect("lookup").expect("ann");
    assert!(ann.password_hash.as_deref().is_some_and(|h| h.starts_with("pbkdf2_sha256$")));
    let bob = store.find_by_login("bob").await.expect("lookup").expect("bob");
    assert!(bob.password_hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$")));
}
