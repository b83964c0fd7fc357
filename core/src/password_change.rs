//! Changing a password while signed in: [`Services::change_password`], for every dialect and
//! app (miniSASS's `user/password/update/` is one caller).

use std::net::IpAddr;

use crate::audit::AuthEvent;
use crate::password::{PasswordError, Verification};
use crate::services::Services;
use crate::store::StoreError;
use crate::user::UserId;

/// Why [`Services::change_password`] changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    /// The account does not exist (any more) or is deactivated.
    #[error("no active account")]
    NoAccount,
    /// The old password is wrong.
    #[error("wrong old password")]
    WrongOldPassword,
    /// The password policy refuses the new password (the message says why).
    #[error(transparent)]
    Refused(PasswordError),
    /// The hashing queue is full: try again later.
    #[error("password hashing is busy")]
    Busy,
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hashing(PasswordError),
    /// A store failed; the password may or may not be changed (see the log).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PasswordError> for PasswordChangeError {
    fn from(error: PasswordError) -> Self {
        if error.is_policy_violation() {
            Self::Refused(error)
        } else if matches!(error, PasswordError::Busy) {
            Self::Busy
        } else {
            Self::Hashing(error)
        }
    }
}

impl Services {
    /// Changes the password of `user_id` from `old` to `new`, keeping the session (refresh
    /// family) `keep` the change is made from and ending every other one of the user:
    ///
    /// 1. the account must be active and `old` its password ([`PasswordChangeError::WrongOldPassword`]
    ///    otherwise; the check costs one hash whatever the outcome);
    /// 2. `new` must pass the password policy ([`PasswordChangeError::Refused`]);
    /// 3. the new hash is stored, then every token and family of the user but `keep` is revoked
    ///    ([`TokenStore::revoke_user_except`](crate::store::TokenStore::revoke_user_except); with
    ///    `keep` `None`, all of them), and [`AuthEvent::PasswordChanged`] is emitted.
    ///
    /// Nothing is stored when step 1 or 2 refuses.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use std::time::SystemTime;
    /// use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
    /// use authmount::password_change::PasswordChangeError;
    /// use authmount::services::Services;
    /// use authmount::user::NewUser;
    ///
    /// # let fast = PasswordService::new(Arc::new(Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests())?));
    /// let services = Services::in_memory()?;
    /// # let services = services.with_passwords(fast);
    /// let hash = services.passwords.hash_new_password("correct horse battery").await?;
    /// let ann = services.users.create(NewUser::new("ann", SystemTime::now()).with_password_hash(hash)).await?;
    ///
    /// let wrong = services.change_password(ann.id, "not it", "a new long passphrase", None, None).await;
    /// assert!(matches!(wrong, Err(PasswordChangeError::WrongOldPassword)));
    /// services.change_password(ann.id, "correct horse battery", "a new long passphrase", None, None).await?;
    /// assert!(services.authenticator().authenticate("ann", "a new long passphrase").await.is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// See [`PasswordChangeError`].
    pub async fn change_password(
        &self,
        user_id: UserId,
        old: &str,
        new: &str,
        keep: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<(), PasswordChangeError> {
        let user = self.users.get(user_id).await?.filter(|user| user.is_active);
        let stored = user.as_ref().and_then(|user| user.password_hash.as_deref());
        let verification = self.passwords.verify(old, stored).await?;
        if user.is_none() {
            return Err(PasswordChangeError::NoAccount);
        }
        if !matches!(verification, Verification::Match { .. }) {
            return Err(PasswordChangeError::WrongOldPassword);
        }
        let hash = self.passwords.hash_new_password(new).await?;
        self.users.set_password_hash(user_id, &hash).await?;
        let revoked = match keep {
            Some(keep) => self.tokens.revoke_user_except(user_id, keep).await,
            None => self.tokens.revoke_user(user_id).await,
        };
        if let Err(error) = revoked {
            tracing::error!(%user_id, %error, "password changed, but the user's other sessions were not revoked");
            return Err(error.into());
        }
        self.audit(AuthEvent::PasswordChanged { user_id, client });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::audit::AuthEvents;
    use crate::dialect::testing::{PASSWORD, add_user, new_user, services};
    use crate::store::{TokenKind, TokenRecord};
    use crate::token::TokenHash;
    use crate::user::ProfileUpdate;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<AuthEvent>>);

    impl AuthEvents for Recorded {
        fn on_event(&self, event: &AuthEvent) {
            self.0.lock().expect("lock").push(event.clone());
        }
    }

    const NEW: &str = "a new long passphrase";

    #[tokio::test]
    async fn a_change_keeps_one_session_ends_the_others_and_is_audited() {
        let (services, clock) = services();
        let events = Arc::new(Recorded::default());
        let services = services.with_events(events.clone());
        let ann = add_user(&services, new_user("ann")).await;
        let session = |family: &str| {
            TokenRecord::new(
                TokenKind::Session,
                ann.id,
                "app",
                crate::clock::Clock::now(&clock),
                Duration::from_secs(60),
            )
            .in_family(family)
        };
        services.tokens.put(TokenHash::of("kept"), session("here")).await.expect("stored");
        services.tokens.put(TokenHash::of("ended"), session("elsewhere")).await.expect("stored");

        // Refusals change nothing and are not audited.
        let wrong = services.change_password(ann.id, "not it", NEW, Some("here"), None).await;
        assert!(matches!(wrong, Err(PasswordChangeError::WrongOldPassword)), "{wrong:?}");
        let weak = services.change_password(ann.id, PASSWORD, "short", Some("here"), None).await;
        assert!(matches!(weak, Err(PasswordChangeError::Refused(_))), "{weak:?}");
        assert!(services.tokens.get(&TokenHash::of("ended")).await.expect("store").is_some());
        assert!(services.authenticator().authenticate("ann", PASSWORD).await.is_ok());
        let changes = || -> Vec<AuthEvent> {
            let events = events.0.lock().expect("lock");
            events.iter().filter(|e| matches!(e, AuthEvent::PasswordChanged { .. })).cloned().collect()
        };
        assert!(changes().is_empty());

        services.change_password(ann.id, PASSWORD, NEW, Some("here"), None).await.expect("changed");
        assert!(services.tokens.get(&TokenHash::of("kept")).await.expect("store").is_some());
        assert!(services.tokens.get(&TokenHash::of("ended")).await.expect("store").is_none());
        assert!(services.authenticator().authenticate("ann", NEW).await.is_ok());
        assert!(services.authenticator().authenticate("ann", PASSWORD).await.is_err());
        assert_eq!(changes(), [AuthEvent::PasswordChanged { user_id: ann.id, client: None }]);
    }

    #[tokio::test]
    async fn a_deactivated_account_cannot_change_its_password() {
        let (services, _) = services();
        let ann = add_user(&services, new_user("ann")).await;
        let off = ProfileUpdate { is_active: Some(false), ..Default::default() };
        services.users.update_profile(ann.id, off).await.expect("deactivated");
        let refused = services.change_password(ann.id, PASSWORD, NEW, None, None).await;
        assert!(matches!(refused, Err(PasswordChangeError::NoAccount)), "{refused:?}");
        let stored = services.users.get(ann.id).await.expect("store").expect("ann");
        assert!(
            services
                .passwords
                .verify(PASSWORD, stored.password_hash.as_deref())
                .await
                .expect("verifies")
                .is_match()
        );
    }
}
