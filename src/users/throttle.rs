//! Back-off for password guessing: failed sign-ins are counted per user name and per client
//! address, and past a few of them that name or address must wait, twice as long after each
//! further failure.
//!
//! An attempt is counted when it starts, before its password is checked, so many attempts sent
//! at once cannot all slip in before the first failure is recorded; a right password takes the
//! count back. Both tables hold at most [`MAX_ENTRIES`] entries: idle entries are forgotten,
//! and when one is full the longest-idle tenth goes. Pure: the caller passes `now`.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::MAX_NAME_LEN;

/// Failed attempts for one user name before it must wait.
pub const USER_FREE_ATTEMPTS: u32 = 5;
/// Failed attempts from one address (any names) before it must wait; higher, as an office
/// behind one NAT address shares it.
pub const ADDRESS_FREE_ATTEMPTS: u32 = 20;
/// The first wait; each further failure doubles it, up to [`MAX_LOCKOUT`].
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(30);
pub const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// An entry with no attempt for this long (and no wait running) is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Entries per table.
pub const MAX_ENTRIES: usize = 10_000;

/// Failed sign-ins by user name and by address; shared by every request.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    tables: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    users: Counters<String>,
    addresses: Counters<IpAddr>,
}

/// A counted attempt; hand it back to [`LoginThrottle::succeeded`] when the password was right.
#[derive(Debug)]
pub struct Attempt {
    user: String,
    address: IpAddr,
}

impl LoginThrottle {
    pub fn new() -> LoginThrottle {
        LoginThrottle::default()
    }

    /// Counts an attempt to sign in as `user` from `address`, or says how long to wait when
    /// either is locked out (the attempt is then not counted and its password must not be
    /// checked).
    pub fn begin(&self, user: &str, address: IpAddr, now: Instant) -> Result<Attempt, Duration> {
        let user: String = user.chars().take(MAX_NAME_LEN).collect();
        let address = address_key(address);
        let mut tables = self.lock();
        let wait = tables
            .users
            .wait(&user, now)
            .max(tables.addresses.wait(&address, now));
        if !wait.is_zero() {
            return Err(wait);
        }
        tables.users.count(user.clone(), now, USER_FREE_ATTEMPTS);
        tables.addresses.count(address, now, ADDRESS_FREE_ATTEMPTS);
        Ok(Attempt { user, address })
    }

    /// The password was right: the user's failures are forgotten, and this attempt is not held
    /// against the address.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut tables = self.lock();
        tables.users.entries.remove(&attempt.user);
        tables
            .addresses
            .uncount(&attempt.address, ADDRESS_FREE_ATTEMPTS);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // The tables stay consistent whatever panicked while holding them.
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// IPv6 clients get a /64 each, so one host cannot walk through its own addresses.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

#[derive(Debug)]
struct Counters<K> {
    entries: HashMap<K, Entry>,
}

impl<K> Default for Counters<K> {
    fn default() -> Self {
        Counters {
            entries: HashMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

impl Entry {
    fn expired(&self, now: Instant) -> bool {
        self.locked_until.is_none_or(|until| until <= now)
            && now.saturating_duration_since(self.last) >= FORGET_AFTER
    }
}

impl<K: Eq + Hash + Clone> Counters<K> {
    /// How long `key` must still wait (zero when it may try).
    fn wait(&self, key: &K, now: Instant) -> Duration {
        self.entries
            .get(key)
            .and_then(|entry| entry.locked_until)
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
    }

    fn count(&mut self, key: K, now: Instant, free: u32) {
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_ENTRIES {
            self.make_room(now);
        }
        let entry = self.entries.entry(key).or_insert(Entry {
            failures: 0,
            locked_until: None,
            last: now,
        });
        if entry.expired(now) {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        entry.locked_until = lockout(entry.failures, free).map(|wait| now + wait);
    }

    fn uncount(&mut self, key: &K, free: u32) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures < free {
                entry.locked_until = None;
            }
        }
    }

    /// Drops forgotten entries, then if still full the longest-idle tenth.
    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, entry| !entry.expired(now));
        if self.entries.len() < MAX_ENTRIES {
            return;
        }
        let mut idle: Vec<(Instant, K)> = self
            .entries
            .iter()
            .map(|(key, entry)| (entry.last, key.clone()))
            .collect();
        idle.sort_unstable_by_key(|(last, _)| *last);
        for (_, key) in idle.into_iter().take(MAX_ENTRIES / 10) {
            self.entries.remove(&key);
        }
    }
}

/// The wait after `failures` counted attempts: none below `free`, then [`FIRST_LOCKOUT`]
/// doubling with each further one, at most [`MAX_LOCKOUT`].
fn lockout(failures: u32, free: u32) -> Option<Duration> {
    let over = failures.checked_sub(free)?;
    Some(crate::backoff::base(FIRST_LOCKOUT, MAX_LOCKOUT, over))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_user_waits_after_free_failures_twice_as_long_each_time() {
        let throttle = LoginThrottle::new();
        let t0 = Instant::now();
        for n in 0..USER_FREE_ATTEMPTS {
            // Each from its own address, so only the user's count matters.
            let address = IpAddr::from([10, 0, 0, n as u8]);
            throttle.begin("alice", address, t0).unwrap();
        }
        let wait = throttle.begin("alice", ip("10.0.1.1"), t0).unwrap_err();
        assert_eq!(wait, FIRST_LOCKOUT);
        // Another user from the same addresses is not held up.
        throttle.begin("bob", ip("10.0.0.1"), t0).unwrap();
        // After the wait, one more failure doubles it.
        let later = t0 + FIRST_LOCKOUT;
        throttle.begin("alice", ip("10.0.1.1"), later).unwrap();
        assert_eq!(
            throttle.begin("alice", ip("10.0.1.2"), later).unwrap_err(),
            FIRST_LOCKOUT * 2
        );
        assert_eq!(
            lockout(USER_FREE_ATTEMPTS + 30, USER_FREE_ATTEMPTS),
            Some(MAX_LOCKOUT)
        );
        assert_eq!(lockout(u32::MAX, USER_FREE_ATTEMPTS), Some(MAX_LOCKOUT));
    }

    #[test]
    fn a_right_password_clears_the_user_but_not_other_failures_of_the_address() {
        let throttle = LoginThrottle::new();
        let t0 = Instant::now();
        let address = ip("192.0.2.7");
        for _ in 0..USER_FREE_ATTEMPTS - 1 {
            throttle.begin("alice", address, t0).unwrap();
        }
        let attempt = throttle.begin("alice", address, t0).unwrap();
        throttle.succeeded(attempt);
        for _ in 0..USER_FREE_ATTEMPTS - 1 {
            throttle.begin("alice", address, t0).unwrap();
        }
        // The address has USER_FREE_ATTEMPTS * 2 - 2 failures; fill it up with other names.
        for n in 0..ADDRESS_FREE_ATTEMPTS - (USER_FREE_ATTEMPTS * 2 - 2) {
            throttle.begin(&format!("guess{n}"), address, t0).unwrap();
        }
        assert_eq!(
            throttle.begin("carol", address, t0).unwrap_err(),
            FIRST_LOCKOUT
        );
        // Another address is free.
        throttle.begin("carol", ip("192.0.2.8"), t0).unwrap();
    }

    #[test]
    fn one_ipv6_host_is_one_address() {
        let throttle = LoginThrottle::new();
        let t0 = Instant::now();
        for n in 0..ADDRESS_FREE_ATTEMPTS {
            let address = ip(&format!("2001:db8:1:2::{:x}", n + 1));
            throttle.begin(&format!("u{n}"), address, t0).unwrap();
        }
        assert!(throttle.begin("x", ip("2001:db8:1:2:ffff::1"), t0).is_err());
        assert!(throttle.begin("x", ip("2001:db8:1:3::1"), t0).is_ok());
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn the_tables_stay_bounded_and_forget_idle_entries() {
        let throttle = LoginThrottle::new();
        let t0 = Instant::now();
        for n in 0..(MAX_ENTRIES + 500) as u32 {
            let _ = throttle.begin(&format!("u{n}"), IpAddr::from(n.to_be_bytes()), t0);
        }
        {
            let tables = throttle.lock();
            assert!(tables.users.entries.len() <= MAX_ENTRIES);
            assert!(tables.addresses.entries.len() <= MAX_ENTRIES);
        }
        // Long after, a locked-out name has been forgotten.
        for _ in 0..USER_FREE_ATTEMPTS {
            let _ = throttle.begin("dave", ip("198.51.100.1"), t0);
        }
        assert!(throttle.begin("dave", ip("198.51.100.2"), t0).is_err());
        let much_later = t0 + MAX_LOCKOUT + FORGET_AFTER;
        for _ in 0..USER_FREE_ATTEMPTS {
            throttle
                .begin("dave", ip("198.51.100.3"), much_later)
                .unwrap();
        }
    }
}
