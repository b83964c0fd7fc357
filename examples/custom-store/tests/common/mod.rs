//! Helpers shared by the integration tests: a temporary directory per test and a store in it.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use authmount::password::{Argon2Params, Argon2idHasher};
use authmount::store::{StoreError, UserStore};
use authmount::user::{NewUser, ProfileUpdate, User, UserId};
use custom_store::{JsonUserStore, LegacyAwareHasher};

/// A fresh directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(authmount::conformance::unique("custom-store-test"));
        std::fs::create_dir_all(&path).expect("temporary directory");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A [`JsonUserStore`] over a file in its own temporary directory, which goes when the store
/// does (the conformance cases get only the store).
#[derive(Debug)]
pub struct TempStore {
    pub store: JsonUserStore,
    pub dir: TempDir,
}

impl TempStore {
    pub fn new() -> Self {
        let dir = TempDir::new();
        let store = JsonUserStore::open_or_init(dir.file("users.json")).expect("store");
        Self { store, dir }
    }
}

#[async_trait]
impl UserStore for TempStore {
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        self.store.find_by_login(login).await
    }
    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.store.get(id).await
    }
    async fn get_shared(&self, id: UserId) -> Result<Option<Arc<User>>, StoreError> {
        self.store.get_shared(id).await
    }
    async fn list(
        &self,
        query: &authmount::store::UserQuery,
    ) -> Result<authmount::store::UserPage, StoreError> {
        self.store.list(query).await
    }
    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        self.store.create(user).await
    }
    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
        self.store.set_password_hash(id, phc).await
    }
    async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> Result<User, StoreError> {
        self.store.update_profile(id, update).await
    }
}

/// The legacy-aware hasher over fast (insecure) argon2 parameters.
pub fn fast_hasher() -> LegacyAwareHasher {
    let params = Argon2Params::insecure_fast_for_tests();
    LegacyAwareHasher::new(Argon2idHasher::insecure_for_tests(params).expect("argon2 params"))
}

/// The file's `users` array.
pub fn file_users(path: &Path) -> Vec<serde_json::Value> {
    let bytes = std::fs::read(path).expect("user file");
    let file: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
    file["users"].as_array().expect("a users array").clone()
}
