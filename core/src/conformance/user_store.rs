//! The [`UserStore`] cases. Each takes the store under test; see the
//! [`user_store_conformance!`](crate::user_store_conformance) macro.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::unique;
use crate::store::{ConflictField, StoreError, UserStore};
use crate::user::{NewUser, ProfileUpdate, UserId};

/// The store under test.
pub type Store = Arc<dyn UserStore>;

fn new_user(username: &str) -> NewUser {
    NewUser::new(username, SystemTime::now())
}

async fn create(store: &Store, user: NewUser) -> crate::user::User {
    store.create(user).await.expect("creating a user with free names succeeds")
}

fn assert_conflict(result: Result<crate::user::User, StoreError>, field: ConflictField) {
    match result {
        Err(StoreError::Conflict(found)) => assert_eq!(found, field, "conflict on the wrong field"),
        other => panic!("expected a {field:?} conflict, got {other:?}"),
    }
}

/// A created user is found by username, by e-mail and by id, with the same record.
pub async fn create_then_find_by_username_email_and_id(store: Store) {
    let name = unique("ann");
    let email = format!("{name}@example.org");
    let ann = create(&store, new_user(&name).with_email(&email)).await;
    assert_eq!(ann.username, name);
    let by_name = store.find_by_login(&name).await.expect("lookup works");
    let by_email = store.find_by_login(&email).await.expect("lookup works");
    let by_id = store.get(ann.id).await.expect("lookup works");
    assert_eq!(by_name.as_ref(), Some(&ann), "find by username");
    assert_eq!(by_email.as_ref(), Some(&ann), "find by e-mail");
    assert_eq!(by_id.as_ref(), Some(&ann), "get by id");
}

/// Lookups ignore case and compatibility forms (`Alice`, `ALICE`, full-width letters).
pub async fn login_lookup_is_normalised(store: Store) {
    let suffix = unique("x");
    let name = format!("Alice{suffix}");
    let alice = create(&store, new_user(&name).with_email(format!("Alice.{suffix}@Example.org"))).await;
    let fullwidth: String = "ａｌｉｃｅ".chars().chain(suffix.chars()).collect();
    for login in [name.to_lowercase(), name.to_uppercase(), fullwidth, format!("alice.{suffix}@EXAMPLE.ORG")]
    {
        let found = store.find_by_login(&login).await.expect("lookup works");
        assert_eq!(found.map(|u| u.id), Some(alice.id), "login {login:?} finds the account");
    }
    let stored = store.get(alice.id).await.expect("lookup works").expect("stored");
    assert_eq!(stored.username, name, "the username is kept as entered");
}

/// A username taken in any case or width is a conflict, and the failed creation stores nothing.
pub async fn duplicate_username_is_a_conflict_and_stores_nothing(store: Store) {
    let name = unique("bob");
    create(&store, new_user(&name)).await;
    let other_email = format!("{}@example.org", unique("other"));
    let attempt = new_user(&name.to_uppercase()).with_email(&other_email);
    assert_conflict(store.create(attempt).await, ConflictField::Username);
    let leaked = store.find_by_login(&other_email).await.expect("lookup works");
    assert!(leaked.is_none(), "a failed creation must not store its e-mail");
}

/// An e-mail address taken in any case is a conflict.
pub async fn duplicate_email_is_a_conflict(store: Store) {
    let email = format!("{}@example.org", unique("carol"));
    create(&store, new_user(&unique("carol")).with_email(&email)).await;
    let attempt = new_user(&unique("carol")).with_email(email.to_uppercase());
    assert_conflict(store.create(attempt).await, ConflictField::Email);
}

/// One user's e-mail cannot be another's username, nor the other way round; a user's own
/// username and e-mail may be equal.
pub async fn usernames_and_emails_share_one_namespace(store: Store) {
    let email = format!("{}@example.org", unique("dan"));
    create(&store, new_user(&unique("dan")).with_email(&email)).await;
    assert_conflict(store.create(new_user(&email)).await, ConflictField::Username);

    let username_like_email = format!("{}@example.org", unique("eve"));
    create(&store, new_user(&username_like_email)).await;
    let attempt = new_user(&unique("eve")).with_email(&username_like_email);
    assert_conflict(store.create(attempt).await, ConflictField::Email);

    let same = format!("{}@example.org", unique("fay"));
    let fay = create(&store, new_user(&same).with_email(&same)).await;
    assert_eq!(store.find_by_login(&same).await.expect("lookup").map(|u| u.id), Some(fay.id));
}

/// Of 50 concurrent creations of one username exactly one succeeds; the rest conflict.
pub async fn concurrent_creates_of_one_name_have_one_winner(store: Store) {
    let name = unique("race");
    let attempts: Vec<_> = (0..50)
        .map(|i| {
            let store = Arc::clone(&store);
            let username = if i % 2 == 0 { name.clone() } else { name.to_uppercase() };
            tokio::spawn(async move { store.create(NewUser::new(username, SystemTime::now())).await })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.expect("task completes") {
            Ok(_) => created += 1,
            Err(StoreError::Conflict(ConflictField::Username)) => {}
            Err(other) => panic!("unexpected error from a racing create: {other}"),
        }
    }
    assert_eq!(created, 1, "exactly one of 50 concurrent creations wins");
}

/// `set_password_hash` replaces the hash; an unknown id is `NotFound`.
pub async fn password_hash_is_replaced(store: Store) {
    let user = create(&store, new_user(&unique("gus")).with_password_hash("$argon2id$old")).await;
    store.set_password_hash(user.id, "$argon2id$new").await.expect("update works");
    let stored = store.get(user.id).await.expect("lookup").expect("stored");
    assert_eq!(stored.password_hash.as_deref(), Some("$argon2id$new"));
    match store.set_password_hash(UserId(i64::MAX), "$argon2id$x").await {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound for an unknown id, got {other:?}"),
    }
}

/// Profile updates change only what they name, merge attributes (null removes), and keep
/// e-mail addresses unique; the old address stops finding the user.
pub async fn profile_update_merges_and_keeps_emails_unique(store: Store) {
    let old_email = format!("{}@example.org", unique("hal"));
    let user = create(
        &store,
        new_user(&unique("hal"))
            .with_email(&old_email)
            .with_names("Hal", "Old")
            .with_attribute("keep", "yes")
            .with_attribute("drop", 1),
    )
    .await;
    let taken = format!("{}@example.org", unique("ida"));
    create(&store, new_user(&unique("ida")).with_email(&taken)).await;

    let conflict = ProfileUpdate { email: Some(Some(taken.clone())), ..Default::default() };
    match store.update_profile(user.id, conflict).await {
        Err(StoreError::Conflict(ConflictField::Email)) => {}
        other => panic!("expected an e-mail conflict, got {other:?}"),
    }
    let unchanged = store.get(user.id).await.expect("lookup").expect("stored");
    assert_eq!(unchanged.email.as_deref(), Some(old_email.as_str()), "failed update stores nothing");

    let new_email = format!("{}@example.org", unique("hal"));
    let mut attributes = serde_json::Map::new();
    attributes.insert("drop".into(), serde_json::Value::Null);
    attributes.insert("added".into(), json!({"nested": [1, 2]}));
    let update = ProfileUpdate {
        email: Some(Some(new_email.clone())),
        last_name: Some("New".into()),
        is_admin: Some(true),
        attributes,
        ..Default::default()
    };
    let updated = store.update_profile(user.id, update).await.expect("update works");
    assert_eq!(updated.first_name, "Hal", "unnamed fields are kept");
    assert_eq!(updated.last_name, "New");
    assert!(updated.is_admin);
    assert_eq!(updated.attribute("keep"), Some(&json!("yes")));
    assert_eq!(updated.attribute("drop"), None, "null removes an attribute");
    assert_eq!(updated.attribute("added"), Some(&json!({"nested": [1, 2]})));
    assert_eq!(store.get(user.id).await.expect("lookup").as_ref(), Some(&updated));
    let by_new = store.find_by_login(&new_email).await.expect("lookup");
    assert_eq!(by_new.map(|u| u.id), Some(user.id), "the new e-mail finds the user");
    assert!(store.find_by_login(&old_email).await.expect("lookup").is_none(), "the old e-mail is free");
    create(&store, new_user(&unique("jo")).with_email(&old_email)).await;

    match store.update_profile(UserId(i64::MAX), ProfileUpdate::default()).await {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound for an unknown id, got {other:?}"),
    }
}

/// Unknown ids and logins are `None`, not errors.
pub async fn unknown_ids_and_logins(store: Store) {
    assert!(store.get(UserId(i64::MAX)).await.expect("lookup").is_none());
    assert!(store.find_by_login(&unique("nobody")).await.expect("lookup").is_none());
    assert!(store.find_by_login("").await.expect("lookup").is_none());
}

/// Every field survives the round trip: names, flags, groups in order, the creation time to the
/// millisecond, the hash and nested attributes.
pub async fn record_fields_round_trip(store: Store) {
    let created_at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    let mut new = NewUser::new(unique("Kim"), created_at)
        .with_email(format!("{}@Example.org", unique("Kim")))
        .with_names("Kím", "Ñandú")
        .with_password_hash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .with_attribute("meldeschein", json!({"gemeinden": [1, 2], "vermieter": [3], "objekte": []}))
        .with_attribute("osoba", json!({"id": "OS-1", "name": "Kím <&>"}));
    new.is_active = false;
    new.is_superuser = true;
    new.groups = vec!["zeta".into(), "alpha".into()];
    let created = create(&store, new.clone()).await;
    let stored = store.get(created.id).await.expect("lookup").expect("stored");
    assert_eq!(stored, created);
    assert_eq!(stored.username, new.username);
    assert_eq!(stored.email, new.email);
    assert_eq!((stored.first_name.as_str(), stored.last_name.as_str()), ("Kím", "Ñandú"));
    assert!(!stored.is_active && stored.is_superuser && !stored.is_admin);
    assert_eq!(stored.groups, vec!["zeta".to_owned(), "alpha".to_owned()]);
    assert_eq!(stored.created_at, created_at);
    assert_eq!(stored.password_hash, new.password_hash);
    assert_eq!(stored.attributes, new.attributes);
}

/// `list` pages through the matching users in id order and counts them all; the search finds
/// users by a part of their normalised username or e-mail, and treats `%`, `_` and `\` as text.
pub async fn list_pages_and_searches(store: Store) {
    use crate::store::UserQuery;
    let tag = unique("Lst").replace('-', "");
    let mut created = Vec::new();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let username = format!("{tag}{name}");
        let user = new_user(&username).with_email(format!("{name}{i}.{tag}@Example.org"));
        created.push(create(&store, user).await.id);
    }
    // Another user the search must not find, though its name contains the tag's first part.
    create(&store, new_user(&unique("Lst_other"))).await;

    let first = store.list(&UserQuery::new(0, 2).with_search(tag.to_uppercase())).await.expect("lists");
    assert_eq!(first.total, 3, "every match is counted");
    assert_eq!(first.users.iter().map(|u| u.id).collect::<Vec<_>>(), created[..2], "in id order");
    let second = store.list(&UserQuery::new(2, 2).with_search(&tag)).await.expect("lists");
    assert_eq!((second.total, second.users.iter().map(|u| u.id).collect::<Vec<_>>()), (3, vec![created[2]]));
    let past = store.list(&UserQuery::new(10, 2).with_search(&tag)).await.expect("lists");
    assert!(past.users.is_empty() && past.total == 3);

    let by_email =
        store.list(&UserQuery::new(0, 10).with_search(format!("b1.{tag}@example"))).await.expect("lists");
    assert_eq!(by_email.users.iter().map(|u| u.id).collect::<Vec<_>>(), vec![created[1]], "found by e-mail");
    for wildcard in ["%", "_", "\\"] {
        let found =
            store.list(&UserQuery::new(0, 10).with_search(format!("{tag}{wildcard}"))).await.expect("lists");
        assert_eq!(found.total, 0, "{wildcard:?} is text, not a wildcard");
    }
    let all = store.list(&UserQuery::new(0, 1_000_000)).await.expect("lists");
    assert!(all.total >= 4 && created.iter().all(|id| all.users.iter().any(|u| u.id == *id)));
    assert!(store.list(&UserQuery::new(0, 0)).await.expect("lists").users.is_empty(), "limit 0: no users");
}
