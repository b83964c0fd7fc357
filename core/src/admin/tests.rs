use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::*;
use crate::audit::AuthEvents;
use crate::store::{TokenKind, TokenRecord};
use crate::token::TokenHash;
use crate::user::NewUser;

#[derive(Default)]
struct Recorded(Mutex<Vec<AuthEvent>>);

impl AuthEvents for Recorded {
    fn on_event(&self, event: &AuthEvent) {
        self.0.lock().expect("lock").push(event.clone());
    }
}

async fn world() -> (Accounts, Services, Arc<Recorded>, User) {
    let events = Arc::new(Recorded::default());
    let services = Services::in_memory().expect("services").with_events(events.clone());
    let ann = services.users.create(NewUser::new("ann", SystemTime::now())).await.expect("ann");
    (Accounts::new(services.clone()), services, events, ann)
}

#[tokio::test]
async fn each_action_changes_the_account_and_is_an_audit_event_naming_the_admin() {
    let (accounts, services, events, ann) = world().await;
    let hash = TokenHash::of("ann's token");
    let record =
        TokenRecord::new(TokenKind::Access, ann.id, "amcr", SystemTime::now(), Duration::from_secs(60));
    services.tokens.put(hash, record).await.expect("stored");
    let by = Actor::admin(UserId(99), Some("192.0.2.7".parse().expect("ip")));

    assert!(!accounts.deactivate(ann.id, &by).await.expect("deactivated").is_active);
    assert!(services.tokens.get(&hash).await.expect("up").is_none(), "deactivation ends the sessions");
    assert!(accounts.activate(ann.id, &by).await.expect("activated").is_active);
    let groups = vec!["editors".to_owned()];
    assert_eq!(accounts.set_groups(ann.id, groups.clone(), &by).await.expect("set").groups, groups);
    accounts.unlock(ann.id, &by).await.expect("unlocked");
    accounts.revoke_sessions(ann.id, &Actor::command_line()).await.expect("revoked");

    let recorded = events.0.lock().expect("lock").clone();
    let actions: Vec<_> = recorded
        .iter()
        .filter_map(|event| match event {
            AuthEvent::AccountChanged { user_id, action, admin, client } => {
                assert_eq!(*user_id, ann.id);
                Some((*action, *admin, client.is_some()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        actions,
        [
            (AccountAction::Deactivated, Some(UserId(99)), true),
            (AccountAction::Activated, Some(UserId(99)), true),
            (AccountAction::GroupsSet, Some(UserId(99)), true),
            (AccountAction::Unlocked, Some(UserId(99)), true),
            (AccountAction::SessionsRevoked, None, false),
        ]
    );
}

#[tokio::test]
async fn unknown_users_are_not_found_and_nothing_is_recorded() {
    let (accounts, _, events, _) = world().await;
    let by = Actor::command_line();
    let unknown = UserId(12345);
    assert!(matches!(accounts.get(unknown).await, Err(AccountError::NotFound)));
    assert!(matches!(accounts.deactivate(unknown, &by).await, Err(AccountError::NotFound)));
    assert!(matches!(accounts.revoke_sessions(unknown, &by).await, Err(AccountError::NotFound)));
    assert!(matches!(accounts.unlock(unknown, &by).await, Err(AccountError::NotFound)));
    assert!(matches!(accounts.set_groups(unknown, vec![], &by).await, Err(AccountError::NotFound)));
    assert!(events.0.lock().expect("lock").iter().all(|e| !matches!(e, AuthEvent::AccountChanged { .. })));
}
