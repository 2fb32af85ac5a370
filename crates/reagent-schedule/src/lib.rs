//! A generic dependency queue that hands out ready nodes, most urgent first.
//!
//! The queue knows nothing about building: a node is any key `K` (a string,
//! an index, ...) with a list of dependencies and a weight (its expected
//! duration). The caller adds every node after its dependencies, calls
//! [`Queue::finish_setup`], and then repeatedly takes a ready node with
//! [`Queue::next`], runs it, and reports back with [`Queue::done`] or
//! [`Queue::fail`].
//!
//! Among the ready nodes, the queue picks the one with the highest
//! *priority*: the longest weighted path from the node to any sink, the
//! node's own weight included (the "critical path first" rule, as in
//! cargo's dependency queue). Ties go to the smallest key, so a run is
//! deterministic.
//!
//! A dependency that was never added to the queue is taken as already
//! satisfied (for example an image that is up to date and needs no work).
//!
//! ```
//! use std::time::Duration;
//! use reagent_schedule::Queue;
//!
//! let secs = Duration::from_secs;
//! let mut q = Queue::new();
//! q.add("base", [], secs(10));
//! q.add("big", ["base"], secs(60));
//! q.add("small", ["base"], secs(5));
//! // "cached" is not in the queue: it counts as already built.
//! q.add("app", ["small", "cached"], secs(1));
//! q.finish_setup();
//!
//! assert_eq!(q.priority(&"base"), Some(secs(70)));
//! assert_eq!(q.next(), Some("base"));
//! assert_eq!(q.next(), None); // everything else waits on "base"
//! q.done(&"base");
//! assert_eq!(q.next(), Some("big")); // the long chain goes first
//! assert_eq!(q.fail(&"small"), vec!["app"]); // "app" is skipped
//! q.done(&"big");
//! assert!(q.is_empty() && q.running() == 0);
//! ```
//!
//! [`simulate`] runs a queue in virtual time with a number of workers,
//! using the weights as durations, and [`lower_bound`] gives the makespan
//! no schedule can beat; together they measure how good the order is.

mod queue;
mod simulate;

pub use queue::Queue;
pub use simulate::{lower_bound, simulate};
