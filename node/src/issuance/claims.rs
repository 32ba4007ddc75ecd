//! Claims on ids and status-list slots of submitted credentials between their checks and
//! their append: two submissions naming the same id (or slot) cannot both pass the checks
//! and both be logged. A claim is released when dropped, appended or refused alike.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

/// Values claimed by submissions on their way to the log.
#[derive(Debug)]
pub(super) struct InFlight<T> {
    held: Mutex<HashSet<T>>,
}

impl<T: Eq + Hash + Copy> InFlight<T> {
    /// Nothing claimed.
    pub(super) fn new() -> InFlight<T> {
        InFlight {
            held: Mutex::new(HashSet::new()),
        }
    }

    /// Claims `value` until the returned claim is dropped. Refused with `claimed()` while
    /// another claim holds it, and with `taken`'s error when `taken` finds it taken
    /// elsewhere (the store). `taken` runs under the lock: a claim released after its
    /// append is then either still held here or already visible to `taken`, never neither.
    pub(super) fn claim<E>(
        &self,
        value: T,
        taken: impl FnOnce() -> Result<(), E>,
        claimed: impl FnOnce() -> E,
    ) -> Result<Claim<'_, T>, E> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.contains(&value) {
            return Err(claimed());
        }
        taken()?;
        held.insert(value);
        Ok(Claim { set: self, value })
    }

    #[cfg(test)]
    fn is_held(&self, value: &T) -> bool {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(value)
    }
}

/// A value claimed until dropped.
#[derive(Debug)]
pub(super) struct Claim<'a, T: Eq + Hash + Copy> {
    set: &'a InFlight<T>,
    value: T,
}

impl<T: Eq + Hash + Copy> Drop for Claim<'_, T> {
    fn drop(&mut self) {
        self.set
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Refused {
        Claimed,
        Taken,
    }

    #[test]
    fn a_claim_holds_its_value_until_dropped() {
        let in_flight = InFlight::new();
        let first = in_flight.claim(7u32, || Ok(()), || Refused::Claimed);
        assert!(first.is_ok());
        assert!(in_flight.is_held(&7));
        assert_eq!(
            in_flight.claim(7, || Ok(()), || Refused::Claimed).err(),
            Some(Refused::Claimed)
        );
        // Another value is free meanwhile.
        assert!(in_flight.claim(8, || Ok(()), || Refused::Claimed).is_ok());
        drop(first);
        assert!(!in_flight.is_held(&7));
        assert!(in_flight.claim(7, || Ok(()), || Refused::Claimed).is_ok());
    }

    #[test]
    fn a_value_taken_elsewhere_is_not_claimed() {
        let in_flight = InFlight::new();
        assert_eq!(
            in_flight
                .claim(1u32, || Err(Refused::Taken), || Refused::Claimed)
                .err(),
            Some(Refused::Taken)
        );
        assert!(!in_flight.is_held(&1));
    }

    #[test]
    fn a_claim_is_released_when_its_holder_fails() {
        let in_flight = InFlight::new();
        let failing = || -> Result<(), Refused> {
            let _claim = in_flight.claim(3u32, || Ok(()), || Refused::Claimed)?;
            Err(Refused::Taken)
        };
        assert_eq!(failing(), Err(Refused::Taken));
        assert!(!in_flight.is_held(&3));
    }
}
