//! Running a queue in virtual time, to measure how good its order is.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::Hash;
use std::time::Duration;

use crate::Queue;

/// Runs a copy of `queue` in virtual time with `jobs` workers (0 counts as
/// 1), taking each node's weight as its duration, and returns the makespan:
/// the time at which the last node finishes.
///
/// Whenever a worker is free it takes [`Queue::next`]; nodes finishing at
/// the same instant are all reported before workers pick again. Nodes
/// already running in `queue` are taken to start at time zero. The queue
/// itself is left untouched.
pub fn simulate<K: Clone + Eq + Hash + Ord>(queue: &Queue<K>, jobs: usize) -> Duration {
    let jobs = jobs.max(1);
    let mut q = queue.clone();
    q.finish_setup();
    // Min-heap of (finish time, node).
    let mut events: BinaryHeap<Reverse<(Duration, K)>> = q
        .running_nodes()
        .map(|k| Reverse((q.weight(k).unwrap_or_default(), k.clone())))
        .collect();
    let mut now = Duration::ZERO;
    loop {
        while events.len() < jobs {
            let Some(node) = q.next() else { break };
            let end = now.saturating_add(q.weight(&node).unwrap_or_default());
            events.push(Reverse((end, node)));
        }
        let Some(Reverse((end, node))) = events.pop() else {
            break;
        };
        now = end;
        q.done(&node);
        while events.peek().is_some_and(|Reverse((t, _))| *t == now) {
            if let Some(Reverse((_, node))) = events.pop() {
                q.done(&node);
            }
        }
    }
    now
}

/// A makespan no schedule of `queue` on `jobs` workers can beat: the larger
/// of its critical path and its total work shared evenly between the
/// workers (0 workers count as 1).
pub fn lower_bound<K: Clone + Eq + Hash + Ord>(queue: &Queue<K>, jobs: usize) -> Duration {
    let jobs = u32::try_from(jobs.max(1)).unwrap_or(u32::MAX);
    queue.critical_path().max(queue.remaining_work() / jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn one_job_takes_the_total_work() {
        let mut q = Queue::new();
        q.add("a", [], s(2));
        q.add("b", ["a"], s(3));
        q.add("c", [], s(4));
        assert_eq!(simulate(&q, 1), s(9));
        assert_eq!(lower_bound(&q, 1), s(9));
        // The queue passed in is untouched.
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn critical_path_first_meets_the_bound() {
        // a(1) -> a2(10), and five independent 2s nodes: with 2 workers the
        // chain must start first for the makespan to reach the bound.
        let mut q = Queue::new();
        q.add("a", [], s(1));
        q.add("a2", ["a"], s(10));
        for k in ["b", "c", "d", "e", "f"] {
            q.add(k, [], s(2));
        }
        assert_eq!(lower_bound(&q, 2), s(11));
        assert_eq!(simulate(&q, 2), s(11));
    }

    #[test]
    fn zero_jobs_count_as_one() {
        let mut q = Queue::new();
        q.add(1u8, [], s(2));
        q.add(2u8, [], s(3));
        assert_eq!(simulate(&q, 0), s(5));
        assert_eq!(lower_bound(&q, 0), s(5));
    }

    #[test]
    fn empty_queue_takes_no_time() {
        let q: Queue<u8> = Queue::new();
        assert_eq!(simulate(&q, 4), Duration::ZERO);
        assert_eq!(lower_bound(&q, 4), Duration::ZERO);
    }

    #[test]
    fn running_nodes_start_at_zero() {
        let mut q = Queue::new();
        q.add("a", [], s(4));
        q.add("b", ["a"], s(1));
        assert_eq!(q.next(), Some("a"));
        assert_eq!(simulate(&q, 2), s(5));
    }

    #[test]
    fn makespan_lies_between_the_bound_and_the_total_work() {
        // Random DAGs from a small LCG; deps always point to earlier nodes.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |m: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % m
        };
        for _ in 0..50 {
            let n = 1 + rand(60);
            let mut q = Queue::new();
            for i in 0..n {
                let deps: Vec<u64> = (0..i).filter(|_| rand(8) == 0).collect();
                q.add(i, deps, Duration::from_millis(rand(1000)));
            }
            let total = q.remaining_work();
            assert_eq!(simulate(&q, 1), total);
            for jobs in [2, 3, 8] {
                let made = simulate(&q, jobs);
                assert!(lower_bound(&q, jobs) <= made, "below the bound");
                assert!(made <= total, "slower than one worker");
            }
        }
    }
}
