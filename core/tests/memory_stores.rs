//! The memory stores against the store conformance suite.

use std::sync::Arc;

use authmount::store::{MemoryTokenStore, MemoryUserStore, TokenStore, UserStore};

mod user_store {
    use super::*;
    authmount::user_store_conformance!(async { Arc::new(MemoryUserStore::new()) as Arc<dyn UserStore> });
}

mod token_store {
    use super::*;
    authmount::token_store_conformance!(|clock: authmount::clock::ManualClock| async move {
        Arc::new(MemoryTokenStore::with_clock(Arc::new(clock))) as Arc<dyn TokenStore>
    });
}

mod counter_store {
    use super::*;
    authmount::counter_store_conformance!(|clock: authmount::clock::ManualClock| async move {
        Arc::new(authmount::store::MemoryCounterStore::with_clock(Arc::new(clock)))
            as Arc<dyn authmount::store::CounterStore>
    });
}
