//! Concurrency limits: a slot per running job, per role and in all. Only the reader
//! takes slots (a job gives its slot back when it ends), so what it sees free before a
//! read is still free after it: it reads no more entries than it can start, and the
//! rest of the work waits in Redis, not here.

use std::sync::Arc;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::config::{Role, WorkerConfig};

/// A limit of 0 (none) as a number of slots: far more than can run at once.
const NO_LIMIT: usize = 1 << 20;

/// The most entries asked for in one read of one stream.
pub(crate) const MAX_BATCH: usize = 64;

/// The slots of every role and the total.
pub(crate) struct Slots {
    roles: Vec<(Role, Arc<Semaphore>)>,
    total: Arc<Semaphore>,
    freed: Arc<Notify>,
    /// Where the next plan starts, so a small total is shared fairly between roles.
    turn: std::sync::atomic::AtomicUsize,
}

/// A running job's slots; given back when dropped.
pub(crate) struct Slot {
    permits: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
    freed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Give the slots back first, then wake the reader, so it sees them free.
        drop(self.permits.take());
        self.freed.notify_one();
    }
}

/// What to read next: which role streams, how many entries from each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The roles with room, in reading order.
    pub(crate) roles: Vec<Role>,
    /// Entries to ask of each.
    pub(crate) count: usize,
    /// Some enabled role was left out for want of room: a freed slot is worth waking
    /// the reader for.
    pub(crate) partial: bool,
}

fn limit(n: usize) -> usize {
    if n == 0 { NO_LIMIT } else { n }
}

impl Slots {
    /// The slots `config` allows, for its enabled roles.
    pub(crate) fn new(config: &WorkerConfig) -> Self {
        Self {
            roles: Role::ALL
                .iter()
                .filter(|r| config.role(**r).enabled)
                .map(|r| (*r, Arc::new(Semaphore::new(limit(config.role(*r).limit)))))
                .collect(),
            total: Arc::new(Semaphore::new(limit(config.max_total))),
            freed: Arc::new(Notify::new()),
            turn: Default::default(),
        }
    }

    /// Told whenever a slot is given back.
    pub(crate) fn freed(&self) -> &Notify {
        &self.freed
    }

    fn semaphore(&self, role: Role) -> Option<&Arc<Semaphore>> {
        self.roles.iter().find(|(r, _)| *r == role).map(|(_, s)| s)
    }

    /// What to read now; `None` when no role has room.
    pub(crate) fn plan(&self) -> Option<Plan> {
        let total_free = self.total.available_permits();
        let n = self.roles.len();
        let start = self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n.max(1);
        let with_room: Vec<(Role, usize)> = (0..n)
            .map(|i| &self.roles[(start + i) % n])
            .map(|(r, s)| (*r, s.available_permits()))
            .filter(|(_, free)| *free > 0)
            .collect();
        let mut partial = with_room.len() < n;
        let mut chosen = with_room;
        if total_free < chosen.len() {
            chosen.truncate(total_free);
            partial = true;
        }
        if chosen.is_empty() {
            return None;
        }
        let least = chosen.iter().map(|(_, f)| *f).min().unwrap_or(1);
        let count = least.min(total_free / chosen.len()).clamp(1, MAX_BATCH);
        chosen.sort_by_key(|(r, _)| *r);
        Some(Plan {
            roles: chosen.into_iter().map(|(r, _)| r).collect(),
            count,
            partial,
        })
    }

    /// A slot for a job of `role`. Only the reader calls this, for entries it read
    /// under a [`Plan`], so a slot is always free.
    pub(crate) fn take(&self, role: Role) -> Slot {
        let role = self
            .semaphore(role)
            .expect("entries are read only from enabled roles' streams")
            .clone()
            .try_acquire_owned()
            .expect("a plan reads no more entries than there are free slots");
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .expect("a plan reads no more entries than there are free slots");
        Slot {
            permits: Some((role, total)),
            freed: self.freed.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(limits: &[(Role, usize)], total: usize) -> WorkerConfig {
        let mut config = WorkerConfig::new("redis://x", "sqlite://y", "/tmp");
        for role in Role::ALL {
            config.role_mut(role).enabled = false;
        }
        for (role, n) in limits {
            config.role_mut(*role).enabled = true;
            config.role_mut(*role).limit = *n;
        }
        config.max_total = total;
        config
    }

    #[test]
    fn a_plan_never_asks_for_more_than_the_free_slots() {
        let slots = Slots::new(&config(&[(Role::Manager, 2), (Role::Agent, 5)], 4));
        let plan = slots.plan().unwrap();
        assert_eq!(plan.roles, [Role::Manager, Role::Agent]);
        assert_eq!(plan.count, 2, "4 free in all, shared by two streams");
        let held: Vec<Slot> = (0..2).map(|_| slots.take(Role::Manager)).collect();
        let plan = slots.plan().unwrap();
        assert_eq!(
            (plan.roles.as_slice(), plan.count, plan.partial),
            ([Role::Agent].as_slice(), 2, true)
        );
        let more: Vec<Slot> = (0..2).map(|_| slots.take(Role::Agent)).collect();
        assert_eq!(slots.plan(), None, "the total of 4 is used");
        drop(held);
        assert_eq!(
            slots.plan().unwrap().count,
            1,
            "2 free in all, two streams with room"
        );
        drop(more);
    }

    #[test]
    fn with_one_free_slot_in_all_the_roles_take_turns() {
        let slots = Slots::new(&config(&[(Role::Manager, 0), (Role::Agent, 0)], 1));
        let first = slots.plan().unwrap();
        let second = slots.plan().unwrap();
        assert_eq!((first.count, second.count), (1, 1));
        assert_ne!(first.roles, second.roles, "both streams get read");
        assert!(first.partial);
    }

    #[test]
    fn no_limits_read_in_batches() {
        let slots = Slots::new(&config(&[(Role::Agent, 0)], 0));
        assert_eq!(slots.plan().unwrap().count, MAX_BATCH);
    }
}
