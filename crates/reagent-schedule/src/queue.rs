//! The dependency queue itself.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::time::Duration;

/// Where a node is in its life in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Some dependency in the queue has not finished yet.
    Waiting,
    /// Every dependency is satisfied; not handed out yet.
    Ready,
    /// Handed out by [`Queue::next`]; not reported back yet.
    Running,
    /// Done, failed or skipped: no longer in the queue.
    Gone,
}

/// One node, stored in insertion order. Slots are never reused, so an index
/// always names the same node even if its key is added again later.
#[derive(Clone, Debug)]
struct Slot<K> {
    key: K,
    weight: Duration,
    priority: Duration,
    /// How many dependencies in the queue are not finished yet.
    deps_left: usize,
    /// Slots that depend on this one (always at higher indices).
    dependents: Vec<usize>,
    state: State,
}

/// A dependency queue over nodes named by `K`.
///
/// See the [crate documentation](crate) for the model and an example.
///
/// Counting: [`len`](Queue::len) is the number of nodes not handed out yet
/// (waiting or ready), [`running`](Queue::running) the number handed out and
/// not yet reported back; the work is over when both are zero.
#[derive(Clone, Debug)]
pub struct Queue<K> {
    slots: Vec<Slot<K>>,
    /// Live (not gone) nodes by key.
    index: HashMap<K, usize>,
    /// Ready nodes, best first: highest priority, then smallest key.
    ready: BTreeSet<(Reverse<Duration>, K, usize)>,
    running: usize,
    remaining: Duration,
    /// Nodes were added since priorities were last computed.
    dirty: bool,
}

impl<K: Clone + Eq + Hash + Ord> Default for Queue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone + Eq + Hash + Ord> Queue<K> {
    /// An empty queue.
    pub fn new() -> Self {
        Queue {
            slots: Vec::new(),
            index: HashMap::new(),
            ready: BTreeSet::new(),
            running: 0,
            remaining: Duration::ZERO,
            dirty: false,
        }
    }

    /// Adds `node`, which needs every node in `deps`, and is expected to take
    /// `weight`.
    ///
    /// Each dependency must have been added before (so the queue can never
    /// hold a cycle), or else it is taken as outside the queue and already
    /// satisfied; that includes a node that has already finished. Duplicate
    /// dependencies and a dependency on the node itself are ignored. Adding a
    /// node that is still in the queue does nothing: the first add wins.
    pub fn add(&mut self, node: K, deps: impl IntoIterator<Item = K>, weight: Duration) {
        if self.index.contains_key(&node) {
            return;
        }
        let me = self.slots.len();
        let mut dep_slots: Vec<usize> = deps
            .into_iter()
            .filter_map(|d| self.index.get(&d).copied())
            .collect();
        dep_slots.sort_unstable();
        dep_slots.dedup();
        for &d in &dep_slots {
            self.slots[d].dependents.push(me);
        }
        let state = if dep_slots.is_empty() {
            State::Ready
        } else {
            State::Waiting
        };
        self.slots.push(Slot {
            key: node.clone(),
            weight,
            priority: weight,
            deps_left: dep_slots.len(),
            dependents: Vec::new(),
            state,
        });
        self.index.insert(node, me);
        self.remaining = self.remaining.saturating_add(weight);
        self.dirty = true;
    }

    /// Computes every node's priority: the longest weighted path from the
    /// node to any sink, its own weight included.
    ///
    /// Call it once all nodes are added. [`next`](Queue::next) calls it by
    /// itself if nodes were added since, so forgetting it only costs time.
    pub fn finish_setup(&mut self) {
        let priorities = self.compute_priorities();
        for (slot, p) in self.slots.iter_mut().zip(priorities) {
            slot.priority = p;
        }
        self.ready = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state == State::Ready)
            .map(|(i, s)| (Reverse(s.priority), s.key.clone(), i))
            .collect();
        self.dirty = false;
    }

    /// Longest path to a sink for each slot, walking backwards: dependents
    /// always sit at higher indices than the nodes they depend on.
    fn compute_priorities(&self) -> Vec<Duration> {
        let mut prio = vec![Duration::ZERO; self.slots.len()];
        for i in (0..self.slots.len()).rev() {
            let slot = &self.slots[i];
            if slot.state == State::Gone {
                continue;
            }
            let tail = slot
                .dependents
                .iter()
                .filter(|&&d| self.slots[d].state != State::Gone)
                .map(|&d| prio[d])
                .max()
                .unwrap_or(Duration::ZERO);
            prio[i] = slot.weight.saturating_add(tail);
        }
        prio
    }

    /// Hands out the ready node with the highest priority (ties: the
    /// smallest key), or `None` when no node is ready right now (some may
    /// still wait on running ones).
    ///
    /// Not an [`Iterator`]: `None` here means "nothing ready yet", not "over".
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<K> {
        if self.dirty {
            self.finish_setup();
        }
        let (_, key, i) = self.ready.pop_first()?;
        self.slots[i].state = State::Running;
        self.running += 1;
        Some(key)
    }

    /// Takes a live node out of the queue, keeping the counters right.
    fn remove(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        match slot.state {
            State::Ready => {
                self.ready
                    .remove(&(Reverse(slot.priority), slot.key.clone(), i));
            }
            State::Running => self.running -= 1,
            State::Waiting | State::Gone => {}
        }
        slot.state = State::Gone;
        self.remaining = self.remaining.saturating_sub(slot.weight);
        self.index.remove(&slot.key);
    }

    /// Marks `node` finished successfully: the nodes waiting only on it
    /// become ready. An unknown or already finished node is ignored.
    pub fn done(&mut self, node: &K) {
        let Some(&i) = self.index.get(node) else {
            return;
        };
        self.remove(i);
        let dependents = std::mem::take(&mut self.slots[i].dependents);
        for d in dependents {
            let slot = &mut self.slots[d];
            if slot.state != State::Waiting {
                continue;
            }
            slot.deps_left = slot.deps_left.saturating_sub(1);
            if slot.deps_left == 0 {
                slot.state = State::Ready;
                if !self.dirty {
                    self.ready
                        .insert((Reverse(slot.priority), slot.key.clone(), d));
                }
            }
        }
    }

    /// Marks `node` failed and takes it out of the queue, with every node
    /// that depends on it, directly or not. Returns those skipped dependents
    /// (not `node` itself), sorted by key. Nodes that do not depend on
    /// `node` carry on. An unknown or already finished node gives nothing.
    pub fn fail(&mut self, node: &K) -> Vec<K> {
        let Some(&i) = self.index.get(node) else {
            return Vec::new();
        };
        self.remove(i);
        let mut skipped = Vec::new();
        let mut stack = std::mem::take(&mut self.slots[i].dependents);
        while let Some(d) = stack.pop() {
            if self.slots[d].state == State::Gone {
                continue;
            }
            self.remove(d);
            skipped.push(self.slots[d].key.clone());
            stack.extend(std::mem::take(&mut self.slots[d].dependents));
        }
        skipped.sort();
        skipped
    }

    /// True when no node is left to hand out. Nodes may still be running:
    /// check [`running`](Queue::running) too before calling the work over.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of nodes not handed out yet, waiting or ready.
    pub fn len(&self) -> usize {
        self.index.len() - self.running
    }

    /// The number of nodes handed out by [`next`](Queue::next) and not yet
    /// reported with [`done`](Queue::done) or [`fail`](Queue::fail).
    pub fn running(&self) -> usize {
        self.running
    }

    /// The priority of a node still in the queue (waiting, ready or
    /// running): the longest weighted path from it to a sink. Up to date
    /// after [`finish_setup`](Queue::finish_setup).
    pub fn priority(&self, node: &K) -> Option<Duration> {
        self.index.get(node).map(|&i| self.slots[i].priority)
    }

    /// The summed weight of every node still in the queue, running ones
    /// included in full: with the elapsed time, enough for an ETA.
    pub fn remaining_work(&self) -> Duration {
        self.remaining
    }

    /// The longest weighted path through the nodes still in the queue: no
    /// number of workers can finish them sooner.
    pub fn critical_path(&self) -> Duration {
        let prio = if self.dirty {
            self.compute_priorities()
        } else {
            self.slots.iter().map(|s| s.priority).collect()
        };
        self.index
            .values()
            .map(|&i| prio[i])
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// The nodes handed out and not reported back yet, in insertion order.
    pub(crate) fn running_nodes(&self) -> impl Iterator<Item = &K> {
        self.slots
            .iter()
            .filter(|s| s.state == State::Running)
            .map(|s| &s.key)
    }

    /// The weight a node was added with, if it is still in the queue.
    pub fn weight(&self, node: &K) -> Option<Duration> {
        self.index.get(node).map(|&i| self.slots[i].weight)
    }
}

#[cfg(test)]
mod tests;
