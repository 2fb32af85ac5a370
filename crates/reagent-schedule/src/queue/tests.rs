use super::*;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Drains the queue one node at a time, marking each done at once.
fn drain<K: Clone + Eq + Hash + Ord>(q: &mut Queue<K>) -> Vec<K> {
    let mut order = Vec::new();
    while let Some(k) = q.next() {
        q.done(&k);
        order.push(k);
    }
    order
}

#[test]
fn respects_topological_order() {
    let mut q = Queue::new();
    q.add("a", [], s(1));
    q.add("b", ["a"], s(1));
    q.add("c", ["a"], s(5));
    q.add("d", ["b", "c"], s(1));
    q.add("e", ["d"], s(1));
    q.finish_setup();
    let order = drain(&mut q);
    let pos = |k: &str| order.iter().position(|x| *x == k).unwrap();
    assert_eq!(order.len(), 5);
    for (dep, node) in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e")] {
        assert!(
            pos(dep) < pos(node),
            "{dep} must come before {node}: {order:?}"
        );
    }
    assert!(q.is_empty());
    assert_eq!(q.running(), 0);
}

#[test]
fn nothing_is_handed_out_before_its_deps_are_done() {
    let mut q = Queue::new();
    q.add("a", [], s(1));
    q.add("b", ["a"], s(1));
    assert_eq!(q.next(), Some("a"));
    assert_eq!(q.next(), None);
    assert_eq!(q.running(), 1);
    assert_eq!(q.len(), 1);
    assert!(!q.is_empty());
    q.done(&"a");
    assert_eq!(q.next(), Some("b"));
}

#[test]
fn priority_is_longest_weighted_path_to_a_sink() {
    let mut q = Queue::new();
    q.add("root", [], s(2));
    q.add("short", ["root"], s(3));
    q.add("long1", ["root"], s(1));
    q.add("long2", ["long1"], s(10));
    q.add("sink", ["short", "long2"], s(4));
    q.finish_setup();
    assert_eq!(q.priority(&"sink"), Some(s(4)));
    assert_eq!(q.priority(&"long2"), Some(s(14)));
    assert_eq!(q.priority(&"long1"), Some(s(15)));
    assert_eq!(q.priority(&"short"), Some(s(7)));
    assert_eq!(q.priority(&"root"), Some(s(17)));
    assert_eq!(q.priority(&"absent"), None);
    assert_eq!(q.critical_path(), s(17));
}

#[test]
fn long_chain_goes_first() {
    let mut q = Queue::new();
    // Three independent roots; "c" heads a long chain, and wins although
    // its own weight is the smallest and its key sorts last.
    q.add("a", [], s(5));
    q.add("b", [], s(5));
    q.add("c", [], s(1));
    q.add("c2", ["c"], s(20));
    q.finish_setup();
    assert_eq!(q.next(), Some("c"));
    assert_eq!(q.next(), Some("a"));
    q.done(&"c");
    assert_eq!(q.next(), Some("c2"));
    assert_eq!(q.next(), Some("b"));
}

#[test]
fn ties_break_by_key_order() {
    let mut q = Queue::new();
    for k in ["delta", "alpha", "charlie", "bravo"] {
        q.add(k, [], s(3));
    }
    assert_eq!(drain(&mut q), vec!["alpha", "bravo", "charlie", "delta"]);
}

#[test]
fn fail_skips_exactly_the_transitive_dependents() {
    let mut q = Queue::new();
    q.add("base", [], s(1));
    q.add("x", ["base"], s(1));
    q.add("x1", ["x"], s(1));
    q.add("x2", ["x1"], s(1));
    q.add("y", ["base"], s(1));
    q.add("y1", ["y"], s(1));
    q.add("xy", ["x1", "y1"], s(1));
    q.finish_setup();
    assert_eq!(q.next(), Some("base"));
    q.done(&"base");
    assert_eq!(q.next(), Some("x")); // priority 4 against y's 3
    assert_eq!(q.next(), Some("y"));
    assert_eq!(q.fail(&"x"), vec!["x1", "x2", "xy"]);
    assert_eq!(q.priority(&"x2"), None);
    assert_eq!(q.running(), 1);
    assert_eq!(q.len(), 1); // y1 waits on y
    q.done(&"y");
    assert_eq!(drain(&mut q), vec!["y1"]);
    assert!(q.is_empty());
    assert_eq!(q.running(), 0);
    assert_eq!(q.remaining_work(), Duration::ZERO);
}

#[test]
fn fail_of_unknown_node_skips_nothing() {
    let mut q = Queue::new();
    q.add("a", [], s(1));
    assert!(q.fail(&"zz").is_empty());
    assert_eq!(q.len(), 1);
}

#[test]
fn runs_are_deterministic() {
    let build = || {
        let mut q = Queue::new();
        for i in 0..200u32 {
            let deps: Vec<u32> = (0..i).filter(|d| (i * 7 + d * 13) % 17 == 0).collect();
            q.add(i, deps, Duration::from_millis(u64::from((i * 31) % 7)));
        }
        q
    };
    let mut a = build();
    let mut b = build();
    let order_a = drain(&mut a);
    assert_eq!(order_a.len(), 200);
    assert_eq!(order_a, drain(&mut b));
}

#[test]
fn empty_queue() {
    let mut q: Queue<String> = Queue::new();
    q.finish_setup();
    assert!(q.is_empty());
    assert_eq!(q.len(), 0);
    assert_eq!(q.running(), 0);
    assert_eq!(q.next(), None);
    assert_eq!(q.remaining_work(), Duration::ZERO);
    assert_eq!(q.critical_path(), Duration::ZERO);
}

#[test]
fn deps_outside_the_queue_are_satisfied() {
    let mut q = Queue::new();
    q.add("app", ["cached-base", "cached-tools"], s(1));
    q.finish_setup();
    assert_eq!(q.next(), Some("app"));
}

#[test]
fn finished_dep_counts_as_outside() {
    let mut q = Queue::new();
    q.add("a", [], s(1));
    assert_eq!(q.next(), Some("a"));
    q.done(&"a");
    q.add("b", ["a"], s(1));
    assert_eq!(q.next(), Some("b"));
}

#[test]
fn duplicate_and_self_deps_are_ignored() {
    let mut q = Queue::new();
    q.add("a", [], s(1));
    q.add("b", ["a", "a", "b"], s(1));
    assert_eq!(q.next(), Some("a"));
    q.done(&"a");
    assert_eq!(q.next(), Some("b"));
}

#[test]
fn adding_a_node_twice_keeps_the_first() {
    let mut q = Queue::new();
    q.add("a", [], s(1));
    q.add("a", [], s(9));
    assert_eq!(q.len(), 1);
    assert_eq!(q.weight(&"a"), Some(s(1)));
    assert_eq!(q.remaining_work(), s(1));
}

#[test]
fn next_computes_priorities_without_finish_setup() {
    let mut q = Queue::new();
    q.add("a", [], s(1));
    q.add("b", [], s(1));
    q.add("b2", ["b"], s(5));
    assert_eq!(q.next(), Some("b"));
    assert_eq!(q.priority(&"b"), Some(s(6)));
}

#[test]
fn remaining_work_counts_nodes_not_finished() {
    let mut q = Queue::new();
    q.add("a", [], s(2));
    q.add("b", ["a"], s(3));
    assert_eq!(q.remaining_work(), s(5));
    assert_eq!(q.next(), Some("a"));
    assert_eq!(q.remaining_work(), s(5));
    q.done(&"a");
    assert_eq!(q.remaining_work(), s(3));
}
