//! The shim's spin lock: `lock_api`'s `Mutex` over one out-of-line acquire.
//! `spin::Mutex` inlines its exclusive load/store loop into each of the
//! shim's ~40 lock sites (about 1.5 KiB of its 64 KiB budget); here a site
//! is a call. Same protocol: acquire with a weak compare-exchange, spin on
//! plain loads while held, release with a store.

use core::sync::atomic::{AtomicBool, Ordering};

pub struct RawSpin(AtomicBool);

// SAFETY: `lock` returns only once this CPU swapped `false` for `true`
// (Acquire), so the lock has one holder at a time; `unlock`, called by
// that holder, ends the hold with a Release store.
unsafe impl lock_api::RawMutex for RawSpin {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's initializer protocol
    const INIT: RawSpin = RawSpin(AtomicBool::new(false));
    type GuardMarker = lock_api::GuardSend;

    #[inline(never)]
    fn lock(&self) {
        while !self.try_lock() {
            while self.0.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
    }

    fn try_lock(&self) -> bool {
        self.0
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

pub type Mutex<T> = lock_api::Mutex<RawSpin, T>;
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawSpin, T>;

#[cfg(test)]
mod tests {
    use super::Mutex;

    #[test]
    fn holders_exclude_each_other() {
        static COUNT: Mutex<u64> = Mutex::new(0);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..20_000 {
                        let mut c = COUNT.lock();
                        // A read and a write apart: lost updates show without the lock.
                        let v = *c;
                        std::hint::black_box(&v);
                        *c = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*COUNT.lock(), 80_000);
        assert!(COUNT.try_lock().is_some());
        let held = COUNT.lock();
        assert!(COUNT.try_lock().is_none());
        drop(held);
    }
}
