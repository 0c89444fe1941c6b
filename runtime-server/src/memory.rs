//! Keeps an idle server small after large outputs by making glibc return big buffers to the OS.
//!
//! glibc raises its mmap threshold each time a large mmapped block is freed, after which multi-megabyte
//! buffers (a 1 MB command output, a big file) come from per-thread arenas and stay resident for good:
//! measured 22 MiB idle after twenty 1 MB outputs, 6 MiB with the threshold pinned.

/// Pins glibc's mmap threshold at 128 KiB, so blocks above it are unmapped when freed; a no-op elsewhere.
pub fn pin_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt only sets a tuning parameter of glibc's allocator; it has no memory preconditions.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Returns the allocator's free pages to the OS (`malloc_trim`); a no-op elsewhere. Worth calling after a
/// burst of many mid-sized allocations, such as the JSON of a browser observation, which the mmap threshold
/// does not cover and which would otherwise stay resident in the per-thread arenas.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has no memory preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
