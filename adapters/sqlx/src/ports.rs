//! The ports over a [`SqlStore`](crate::backend::SqlStore): each backend's store type hands
//! every call of [`UserStore`](authmount::store::UserStore),
//! [`TokenStore`](authmount::store::TokenStore) and
//! [`CounterStore`](authmount::store::CounterStore) to its `core`.

/// Implements [`UserStore`](authmount::store::UserStore),
/// [`TokenStore`](authmount::store::TokenStore) and
/// [`CounterStore`](authmount::store::CounterStore) for a store type whose `core` field is a
/// [`SqlStore`](crate::backend::SqlStore), by handing every call to it.
macro_rules! impl_ports {
    ($store:ty) => {
        const _: () = {
            use std::time::{Duration, SystemTime};

            use async_trait::async_trait;
            use authmount::store::{
                Counter, CounterStore, Rotation, StoreError, TokenRecord, TokenStore, UserPage, UserQuery,
                UserStore,
            };
            use authmount::token::TokenHash;
            use authmount::user::{NewUser, ProfileUpdate, User, UserId};

            #[async_trait]
            impl UserStore for $store {
                async fn find_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
                    self.core.find_by_login(login).await
                }

                async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
                    self.core.get_user(id).await
                }

                async fn list(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
                    self.core.list_users(query).await
                }

                async fn create(&self, new: NewUser) -> Result<User, StoreError> {
                    self.core.create_user(new).await
                }

                async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
                    self.core.set_password_hash(id, phc).await
                }

                async fn update_profile(
                    &self,
                    id: UserId,
                    update: ProfileUpdate,
                ) -> Result<User, StoreError> {
                    self.core.update_profile(id, update).await
                }
            }

            #[async_trait]
            impl TokenStore for $store {
                async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
                    self.core.put(hash, record).await
                }

                async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
                    self.core.get_token(hash).await
                }

                async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
                    self.core.touch(hash).await
                }

                async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
                    self.core.revoke(hash).await
                }

                async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError> {
                    self.core.revoke_user(user_id).await
                }

                async fn revoke_user_except(&self, user_id: UserId, keep: &str) -> Result<u64, StoreError> {
                    self.core.revoke_user_except(user_id, keep).await
                }

                async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
                    self.core.revoke_family(family).await
                }

                /// One write transaction: marks `old` rotated only if it is live (the
                /// compare-and-swap), then inserts `new`; a crash before the commit rolls back
                /// both, so at most one of the two tokens is ever valid.
                async fn rotate(
                    &self,
                    old: &TokenHash,
                    new: TokenHash,
                    record: TokenRecord,
                    reuse_grace: Duration,
                ) -> Result<Rotation, StoreError> {
                    self.core.rotate(old, new, record, reuse_grace).await
                }

                async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
                    self.core.consume(hash).await
                }

                async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
                    self.core.revoke_jti(jti, expires_at).await
                }

                async fn is_jwt_revoked(&self, jti: &str, family: Option<&str>) -> Result<bool, StoreError> {
                    self.core.is_jwt_revoked(jti, family).await
                }

                /// Deletes expired tokens, revocation entries and counters (counters are kept in
                /// the same database); returns how many rows went.
                async fn purge_expired(&self) -> Result<u64, StoreError> {
                    self.core.purge_expired().await
                }
            }

            #[async_trait]
            impl CounterStore for $store {
                async fn increment(&self, key: &str, window: Duration) -> Result<Counter, StoreError> {
                    self.core.increment(key, window).await
                }

                async fn peek(&self, key: &str) -> Result<Option<Counter>, StoreError> {
                    self.core.peek(key).await
                }

                async fn clear(&self, key: &str) -> Result<(), StoreError> {
                    self.core.clear(key).await
                }
            }
        };
    };
}

pub(crate) use impl_ports;
