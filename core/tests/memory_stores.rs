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

/// The read cache's wrappers are stores too: the same suites, through a cache.
mod cached {
    use super::*;
    use authmount::cache::{ReadCache, ReadCacheConfig};

    mod user_store {
        use super::*;
        authmount::user_store_conformance!(async {
            ReadCache::new(ReadCacheConfig::default()).users(Arc::new(MemoryUserStore::new()))
                as Arc<dyn UserStore>
        });
    }

    mod token_store {
        use super::*;
        authmount::token_store_conformance!(|clock: authmount::clock::ManualClock| async move {
            let inner = Arc::new(MemoryTokenStore::with_clock(Arc::new(clock.clone())));
            ReadCache::new(ReadCacheConfig::default()).tokens(inner, Arc::new(clock)) as Arc<dyn TokenStore>
        });
    }
}
