//! authmount's user-store conformance suite against [`JsonUserStore`](custom_store::JsonUserStore),
//! each case on its own file.

mod common;

use std::sync::Arc;

use authmount::store::UserStore;

authmount::user_store_conformance!(async { Arc::new(common::TempStore::new()) as Arc<dyn UserStore> });
