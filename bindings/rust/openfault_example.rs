// Calling libopenfault from Rust with plain `extern "C"` declarations (no crates needed):
// a consistent-hash ring, a local lock with its fencing token, and the library's hash.
//   rustc --edition 2021 openfault_example.rs -L <libdir> -l openfault -o example
// std::os::raw keeps this building with Debian 12's rustc 1.63 (std::ffi::c_char is 1.64+).
use std::ffi::{c_void, CStr};
use std::os::raw::{c_char, c_int};
use std::ptr;

#[repr(C)]
struct OfRing {
    _private: [u8; 0],
}
#[repr(C)]
struct OfLockProvider {
    _private: [u8; 0],
}
#[repr(C)]
struct OfLock {
    _private: [u8; 0],
}

/// `of_ring_options` from ring.h, field for field. Always fill it with of_ring_options_init().
#[repr(C)]
struct OfRingOptions {
    struct_size: u32,
    algorithm: u32,
    vnodes: u32,
    flags: u32,
    seed: u64,
}

extern "C" {
    fn of_version_string() -> *const c_char;
    fn of_strerror(status: c_int) -> *const c_char;
    fn of_last_error_detail() -> *const c_char;
    fn of_hash64(data: *const c_void, len: usize, seed: u64) -> u64;

    fn of_ring_options_init(opts: *mut OfRingOptions, struct_size: usize) -> c_int;
    fn of_ring_create(opts: *const OfRingOptions, out: *mut *mut OfRing) -> c_int;
    fn of_ring_destroy(ring: *mut OfRing);
    fn of_ring_add(ring: *mut OfRing, id: *const c_void, id_len: usize, weight: u32,
                   tag: u64) -> c_int;
    fn of_ring_lookup(ring: *const OfRing, key: *const c_void, key_len: usize, out_tag: *mut u64,
                      out_id: *mut c_void, id_cap: usize, out_id_len: *mut usize) -> c_int;

    fn of_lock_local_create(out: *mut *mut OfLockProvider) -> c_int;
    fn of_lock_provider_destroy(p: *mut OfLockProvider);
    // NULL options = the defaults: 30 s TTL, try once.
    fn of_lock_acquire(p: *mut OfLockProvider, name: *const c_void, name_len: usize,
                       opts: *const c_void, out: *mut *mut OfLock) -> c_int;
    fn of_lock_fence(lock: *const OfLock, out_fence: *mut u64) -> c_int;
    fn of_lock_release(lock: *mut OfLock) -> c_int;
}

fn check(rc: c_int, what: &str) {
    if rc != 0 {
        let (text, detail) = unsafe {
            (CStr::from_ptr(of_strerror(rc)), CStr::from_ptr(of_last_error_detail()))
        };
        eprintln!("{}: {} {}", what, text.to_string_lossy(), detail.to_string_lossy());
        std::process::exit(1);
    }
}

fn main() {
    let version = unsafe { CStr::from_ptr(of_version_string()) };
    println!("libopenfault {}", version.to_string_lossy());
    let key = b"user:42";
    let h = unsafe { of_hash64(key.as_ptr() as *const c_void, key.len(), 0) };
    println!("hash64(user:42) = {:016x}", h);

    // Ring: the tag of each node is its index in `nodes`, so a lookup is one array access.
    let nodes = ["cache-a", "cache-b", "cache-c"];
    let mut opts = OfRingOptions { struct_size: 0, algorithm: 0, vnodes: 0, flags: 0, seed: 0 };
    check(unsafe { of_ring_options_init(&mut opts, std::mem::size_of::<OfRingOptions>()) },
          "of_ring_options_init");
    opts.vnodes = 256;
    let mut ring: *mut OfRing = ptr::null_mut();
    check(unsafe { of_ring_create(&opts, &mut ring) }, "of_ring_create");
    for (i, n) in nodes.iter().enumerate() {
        check(unsafe { of_ring_add(ring, n.as_ptr() as *const c_void, n.len(), 1, i as u64) },
              "of_ring_add");
    }
    for key in ["user:1", "user:2", "user:3"] {
        let mut tag = 0u64;
        check(unsafe { of_ring_lookup(ring, key.as_ptr() as *const c_void, key.len(), &mut tag,
                                      ptr::null_mut(), 0, ptr::null_mut()) }, "of_ring_lookup");
        println!("{} -> {}", key, nodes[tag as usize]);
    }
    unsafe { of_ring_destroy(ring) };

    let mut provider: *mut OfLockProvider = ptr::null_mut();
    check(unsafe { of_lock_local_create(&mut provider) }, "of_lock_local_create");
    let name = b"rust-job";
    let mut fences = Vec::new();
    for _ in 0..3 {
        let mut lock: *mut OfLock = ptr::null_mut();
        check(unsafe { of_lock_acquire(provider, name.as_ptr() as *const c_void, name.len(),
                                       ptr::null(), &mut lock) }, "of_lock_acquire");
        let mut fence = 0u64;
        check(unsafe { of_lock_fence(lock, &mut fence) }, "of_lock_fence");
        fences.push(fence);
        check(unsafe { of_lock_release(lock) }, "of_lock_release");
    }
    unsafe { of_lock_provider_destroy(provider) };
    let increasing = fences.windows(2).all(|w| w[0] < w[1]);
    println!("rust: 3 acquisitions, fences strictly increasing: {}",
             if increasing { "yes" } else { "no" });
    std::process::exit(if increasing { 0 } else { 1 });
}
