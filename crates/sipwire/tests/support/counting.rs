//! A counting global allocator for memory tests and benches: live bytes, live blocks and
//! allocation calls, per thread (so that tests running in parallel do not disturb each
//! other's counts). Every call is forwarded unchanged to the system allocator.
//!
//! Include it with `#[path]` and install it:
//! `#[global_allocator] static GLOBAL: counting::Counting = counting::Counting;`
// A `GlobalAlloc` impl is unsafe by definition; this is test scaffolding, not the core
// (which forbids unsafe code in its lib.rs).
#![allow(unsafe_code, dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The allocator: install it as the `#[global_allocator]`.
pub(crate) struct Counting;

thread_local! {
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
    static LIVE_BLOCKS: Cell<isize> = const { Cell::new(0) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Bytes allocated and not yet freed on this thread (requested sizes).
pub(crate) fn live_bytes() -> isize {
    LIVE_BYTES.with(Cell::get)
}

/// Blocks allocated and not yet freed on this thread.
pub(crate) fn live_blocks() -> isize {
    LIVE_BLOCKS.with(Cell::get)
}

/// Calls to `alloc` and `realloc` on this thread so far.
pub(crate) fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn add(bytes: isize, blocks: isize, calls: usize) {
    LIVE_BYTES.with(|c| c.set(c.get() + bytes));
    LIVE_BLOCKS.with(|c| c.set(c.get() + blocks));
    ALLOCATIONS.with(|c| c.set(c.get() + calls));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// const-initialised thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize, 1, 1);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize), -1, 0);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add(new_size as isize - layout.size() as isize, 0, 1);
        }
        new
    }
}
