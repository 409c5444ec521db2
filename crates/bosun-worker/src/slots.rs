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

/// What to read next: which role streams, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The roles with room, each with its free slots (at most [`MAX_BATCH`]), in
    /// reading order: the order starts at another role each time, so that a small total
    /// is shared fairly between roles.
    pub(crate) roles: Vec<(Role, usize)>,
    /// The free slots in all: no read or takeover may bring more entries than this.
    pub(crate) total: usize,
    /// How the entries are read.
    pub(crate) take: Take,
    /// Some enabled role was left out for want of room of its own: a freed slot is
    /// worth waking the reader for.
    pub(crate) partial: bool,
}

/// How a [`Plan`]'s entries are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Take {
    /// This many from each role's stream, in one blocking read of them all: there are
    /// free slots in all for that many from every one.
    Each(usize),
    /// The roles' streams one after another, each up to its room, until the free slots
    /// in all are used: there are fewer of those than roles with room, and a read of
    /// every stream at once could bring an entry from each. When nothing is waiting,
    /// the reader waits for a new entry in any of them without taking it.
    InTurn,
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

    /// What to read now; `None` when no role has room, or no slot in all is free.
    ///
    /// Every role with room is read, whatever the total: a plan that read only as many
    /// roles as there were free slots in all waited out a whole blocking read on an
    /// empty stream while another held the work.
    pub(crate) fn plan(&self) -> Option<Plan> {
        let total = self.total.available_permits();
        let n = self.roles.len();
        let start = self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n.max(1);
        let roles: Vec<(Role, usize)> = (0..n)
            .map(|i| &self.roles[(start + i) % n])
            .map(|(r, s)| (*r, s.available_permits().min(MAX_BATCH)))
            .filter(|(_, free)| *free > 0)
            .collect();
        if roles.is_empty() || total == 0 {
            return None;
        }
        let partial = roles.len() < n;
        let take = if total < roles.len() {
            Take::InTurn
        } else {
            let least = roles.iter().map(|(_, f)| *f).min().unwrap_or(1);
            Take::Each(least.min(total / roles.len()).clamp(1, MAX_BATCH))
        };
        Some(Plan {
            roles,
            total,
            take,
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
            .expect("a plan reads no more entries than its role has free slots");
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

    fn roles(plan: &Plan) -> Vec<Role> {
        let mut roles: Vec<Role> = plan.roles.iter().map(|(r, _)| *r).collect();
        roles.sort();
        roles
    }

    #[test]
    fn a_plan_never_asks_for_more_than_the_free_slots() {
        let slots = Slots::new(&config(&[(Role::Manager, 2), (Role::Agent, 5)], 4));
        let plan = slots.plan().unwrap();
        assert_eq!(roles(&plan), [Role::Manager, Role::Agent]);
        assert_eq!(
            plan.take,
            Take::Each(2),
            "4 free in all, shared by two streams"
        );
        let held: Vec<Slot> = (0..2).map(|_| slots.take(Role::Manager)).collect();
        let plan = slots.plan().unwrap();
        assert_eq!(
            (plan.roles.as_slice(), plan.take, plan.partial),
            ([(Role::Agent, 5)].as_slice(), Take::Each(2), true)
        );
        let more: Vec<Slot> = (0..2).map(|_| slots.take(Role::Agent)).collect();
        assert_eq!(slots.plan(), None, "the total of 4 is used");
        drop(held);
        assert_eq!(
            slots.plan().unwrap().take,
            Take::Each(1),
            "2 free in all, two streams with room"
        );
        drop(more);
    }

    #[test]
    fn fewer_free_slots_in_all_than_roles_with_room_reads_every_role_in_turn() {
        let all: Vec<(Role, usize)> = Role::ALL.iter().map(|r| (*r, 0)).collect();
        let slots = Slots::new(&config(&all, 2));
        let first = slots.plan().unwrap();
        assert_eq!(roles(&first), Role::ALL, "no role is left out");
        assert_eq!(
            (first.take, first.total, first.partial),
            (Take::InTurn, 2, false)
        );
        let second = slots.plan().unwrap();
        assert_ne!(
            first.roles[0], second.roles[0],
            "each plan starts elsewhere"
        );
        let held = slots.take(Role::Agent);
        assert_eq!(slots.plan().unwrap().total, 1);
        let full = slots.take(Role::Agent);
        assert_eq!(slots.plan(), None, "the total of 2 is used");
        drop((held, full));
    }

    #[test]
    fn a_role_at_its_limit_is_left_out_and_a_freed_slot_is_worth_a_wake() {
        let slots = Slots::new(&config(&[(Role::Manager, 1), (Role::Agent, 0)], 0));
        let held = slots.take(Role::Manager);
        let plan = slots.plan().unwrap();
        assert_eq!((roles(&plan), plan.partial), (vec![Role::Agent], true));
        drop(held);
        assert!(!slots.plan().unwrap().partial);
    }

    #[test]
    fn no_limits_read_in_batches() {
        let slots = Slots::new(&config(&[(Role::Agent, 0)], 0));
        assert_eq!(slots.plan().unwrap().take, Take::Each(MAX_BATCH));
    }
}
