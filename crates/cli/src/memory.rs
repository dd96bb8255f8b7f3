//! How the process gives memory back.
//!
//! glibc's malloc raises its mmap threshold each time a large block it mapped is freed, up to
//! 32 MiB. Argon2's 19 MiB working memory (every password set at first start, every sign-in)
//! raised it, so later blocks of up to that size came from the heap and stayed resident after
//! they were freed: `idfed up` idled at 39-77 MB after a first start against 17 MB after a
//! restart. A fixed threshold keeps every block over 128 KiB mapped for its own use and returned
//! to the system when freed.

/// The default threshold, fixed so that glibc stops raising it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Called first thing in `main`, before any other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn return_large_blocks_to_the_system() {
    // SAFETY: mallopt only sets a tuning parameter of glibc's allocator, and no other thread is
    // allocating yet. A refusal (return value 0) leaves the default behaviour, which is harmless.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Other allocators return large blocks without help.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_large_blocks_to_the_system() {}
