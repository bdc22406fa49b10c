//! Clones shared by read-only variants.
//!
//! Making a clone is most of what setting a variant up costs: `CREATE DATABASE …
//! STRATEGY = FILE_COPY` copies every file of the template between two checkpoints,
//! 0.3–0.5 s even for a nearly empty database on the 2-core machine, and an index
//! set is then built on it. A read-only variant leaves its clone as it found it: its
//! session runs with `default_transaction_read_only`, so a statement that would write
//! fails instead, and the loaded tables are frozen, so reading sets no hint bits and
//! prunes nothing. Read-only variants with the same layout and index set therefore
//! run on **one** clone: the first one makes it and builds the set, every other one
//! (of this comparison or a later one) connects to it.
//!
//! A clone is *spoiled* when writes are measured on it ([`super::writes`] inserts
//! rows, rolls them back and drops indexes): no new variant gets it, and it is
//! dropped when its last user closes. Idle clones are kept while a later comparison
//! needs them ([`Pool::surplus`]), and never more than [`KEEP_IDLE`] of them (each is
//! a whole copy of the database).

/// Idle clones kept for later variants, at most (the least recently used go first).
pub const KEEP_IDLE: usize = 4;

/// What a clone holds: the layout it was made from (`None`: the loaded template) and
/// the index set built on it.
pub(super) type Key = (Option<String>, String);

#[derive(Debug)]
struct Entry {
    key: Key,
    db: String,
    users: u32,
    spoiled: bool,
    /// When it was last taken (a counter), for least-recently-used eviction.
    used: u64,
}

/// The shared clones of one dataset.
#[derive(Debug, Default)]
pub(super) struct Pool {
    entries: Vec<Entry>,
    clock: u64,
    /// Clones made for read-only variants, and times one was shared instead.
    pub made: u32,
    pub shared: u32,
}

impl Pool {
    /// A clone holding `key`, one more user of it; `None` when none is ready.
    pub fn share(&mut self, key: &Key) -> Option<String> {
        self.clock += 1;
        let e = self
            .entries
            .iter_mut()
            .find(|e| &e.key == key && !e.spoiled)?;
        e.users += 1;
        e.used = self.clock;
        self.shared += 1;
        Some(e.db.clone())
    }

    /// A clone just made and set up for `key`, with its first user.
    pub fn add(&mut self, key: Key, db: &str) {
        self.clock += 1;
        self.made += 1;
        self.entries.push(Entry {
            key,
            db: db.to_string(),
            users: 1,
            spoiled: false,
            used: self.clock,
        });
    }

    /// Whether `db` is one of the pool's clones.
    pub fn contains(&self, db: &str) -> bool {
        self.entries.iter().any(|e| e.db == db)
    }

    /// `db` was written to: nobody else gets it from now on.
    pub fn spoil(&mut self, db: &str) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.db == db) {
            e.spoiled = true;
        }
    }

    /// One user of `db` is done with it. Returns the clones to drop now: `db` if it
    /// is spoiled and was its last user, and the least recently used idle clones
    /// beyond [`KEEP_IDLE`].
    pub fn release(&mut self, db: &str) -> Vec<String> {
        if let Some(e) = self.entries.iter_mut().find(|e| e.db == db) {
            e.users = e.users.saturating_sub(1);
        }
        let mut drop = self.take(|e| e.users == 0 && e.spoiled);
        let mut idle: Vec<(u64, String)> = self
            .entries
            .iter()
            .filter(|e| e.users == 0)
            .map(|e| (e.used, e.db.clone()))
            .collect();
        if idle.len() > KEEP_IDLE {
            idle.sort();
            let oldest: Vec<String> = idle[..idle.len() - KEEP_IDLE]
                .iter()
                .map(|(_, d)| d.clone())
                .collect();
            drop.extend(self.take(|e| oldest.contains(&e.db)));
        }
        drop
    }

    /// Idle clones that none of `later` (the keys later variants will ask for) needs:
    /// to drop between comparisons.
    pub fn surplus(&mut self, later: &[Key]) -> Vec<String> {
        self.take(|e| e.users == 0 && !later.contains(&e.key))
    }

    /// Every idle clone (the dataset is done).
    pub fn idle(&mut self) -> Vec<String> {
        self.take(|e| e.users == 0)
    }

    fn take(&mut self, mut pick: impl FnMut(&Entry) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        self.entries.retain(|e| {
            if pick(e) {
                out.push(e.db.clone());
                false
            } else {
                true
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(set: &str) -> Key {
        (None, set.to_string())
    }

    #[test]
    fn one_clone_per_key_shared_until_spoiled() {
        let mut p = Pool::default();
        assert_eq!(p.share(&key("a")), None);
        p.add(key("a"), "c1");
        assert_eq!(p.share(&key("a")).as_deref(), Some("c1"));
        assert_eq!(
            p.share(&(Some("l".into()), "a".into())),
            None,
            "layout differs"
        );
        p.spoil("c1");
        assert_eq!(p.share(&key("a")), None, "spoiled: nobody new gets it");
        assert!(p.release("c1").is_empty(), "still one user");
        assert_eq!(p.release("c1"), vec!["c1".to_string()]);
        assert!(!p.contains("c1"));
        assert_eq!((p.made, p.shared), (1, 1));
    }

    #[test]
    fn idle_clones_beyond_the_cap_go_least_recently_used_first() {
        let mut p = Pool::default();
        for i in 0..KEEP_IDLE + 2 {
            p.add(key(&format!("s{i}")), &format!("c{i}"));
        }
        // c0 is used again, so c1 and c2 are the oldest once all are idle.
        assert!(p.share(&key("s0")).is_some());
        let mut dropped = Vec::new();
        for i in 0..KEEP_IDLE + 2 {
            dropped.extend(p.release(&format!("c{i}")));
        }
        dropped.extend(p.release("c0"));
        dropped.sort();
        assert_eq!(dropped, vec!["c1".to_string(), "c2".to_string()]);
        assert!(p.contains("c0"));
        // Between comparisons: what no later variant needs goes.
        let later = vec![key("s0"), key("s3")];
        let mut surplus = p.surplus(&later);
        surplus.sort();
        assert_eq!(surplus, vec!["c4".to_string(), "c5".to_string()]);
        let mut rest = p.idle();
        rest.sort();
        assert_eq!(rest, vec!["c0".to_string(), "c3".to_string()]);
    }

    #[test]
    fn a_clone_in_use_is_never_dropped() {
        let mut p = Pool::default();
        p.add(key("a"), "c1");
        assert!(p.surplus(&[]).is_empty());
        assert!(p.idle().is_empty());
        assert_eq!(p.release("c1"), Vec::<String>::new());
        assert_eq!(p.surplus(&[]), vec!["c1".to_string()]);
    }
}
