//! [`BlockPool`]: argon2 working memory, reused from one hash to the next.

use std::sync::{Mutex, PoisonError};

use argon2::Block;

/// Reusable argon2 working memory.
///
/// One argon2id hash at the default parameters works in 19 MiB. Allocating and freeing that
/// for every login leaves the allocator's heap grown and fragmented (measured on glibc: a
/// server that had done 20 logins and held nothing else kept 155 MB resident) and pays the page
/// faults of fresh memory on every hash. The pool instead keeps up to `capacity` buffers of the
/// configured size (one per hashing thread is enough) and lends them out.
///
/// A stored hash made with more memory than the configured parameters gets a buffer of its own,
/// dropped after use, so one unusual hash cannot pin gigabytes for the life of the process.
/// Buffers are not cleared between hashes: argon2 writes every block before it reads it.
pub(crate) struct BlockPool {
    buffers: Mutex<Vec<Vec<Block>>>,
    /// Size of the buffers worth keeping: the configured parameters' block count.
    kept_blocks: usize,
    capacity: usize,
}

impl BlockPool {
    /// A pool keeping up to `capacity` buffers of `kept_blocks` blocks.
    pub(crate) fn new(kept_blocks: usize, capacity: usize) -> Self {
        Self { buffers: Mutex::new(Vec::new()), kept_blocks, capacity }
    }

    /// Runs `work` with `count` blocks of working memory.
    pub(crate) fn with_blocks<R>(&self, count: usize, work: impl FnOnce(&mut [Block]) -> R) -> R {
        let mut buffer = self.take(count);
        let result = work(&mut buffer[..count]);
        self.give_back(buffer);
        result
    }

    fn take(&self, count: usize) -> Vec<Block> {
        if count <= self.kept_blocks
            && let Some(buffer) = self.lock().pop()
        {
            return buffer;
        }
        vec![Block::default(); count.max(self.kept_blocks)]
    }

    fn give_back(&self, buffer: Vec<Block>) {
        if buffer.len() != self.kept_blocks {
            return;
        }
        let mut buffers = self.lock();
        if buffers.len() < self.capacity {
            buffers.push(buffer);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        self.buffers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn pooled(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_of_the_kept_size_are_reused_up_to_capacity() {
        let pool = BlockPool::new(8, 2);
        let first = pool.with_blocks(8, |blocks| blocks.as_ptr() as usize);
        assert_eq!(pool.pooled(), 1);
        let again = pool.with_blocks(8, |blocks| blocks.as_ptr() as usize);
        assert_eq!(first, again, "the same memory is lent again");

        // Smaller requests borrow a kept buffer; nested borrows allocate, and only `capacity`
        // buffers stay.
        pool.with_blocks(4, |outer| {
            assert_eq!(outer.len(), 4);
            pool.with_blocks(8, |_| pool.with_blocks(8, |_| ()));
        });
        assert_eq!(pool.pooled(), 2);
    }

    #[test]
    fn oversized_requests_are_not_kept() {
        let pool = BlockPool::new(8, 2);
        pool.with_blocks(64, |blocks| assert_eq!(blocks.len(), 64));
        assert_eq!(pool.pooled(), 0);
    }
}
