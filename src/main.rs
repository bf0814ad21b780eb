//! The `keel` binary: see `keel::cli` for the three entry points.

// mimalloc rather than glibc's malloc: the ZooKeeper write path spent a fifth of its
// CPU in malloc/free (creates at 32 sessions went from about 85k to 110k ops/s).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc.h's `mi_option_e` (v2).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// On Linux mimalloc commits its arenas eagerly: some 14 MB more resident at idle,
/// which keel's memory targets cannot spare; pages are committed as they are used
/// instead. It must run before the first allocation, so it is a constructor in
/// `.init_array` (Rust's runtime allocates before `main`).
extern "C" fn configure_allocator() {
    // Safety: sets a process-wide option before any thread or allocation exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

#[used]
#[unsafe(link_section = ".init_array")]
static CONFIGURE_ALLOCATOR: extern "C" fn() = configure_allocator;

fn main() -> std::process::ExitCode {
    keel::cli::main_with_args(std::env::args_os())
}
