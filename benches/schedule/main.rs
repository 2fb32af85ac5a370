//! Schedule quality benchmark for `reagent-schedule`.
//!
//! Run: `cargo bench -p reagent-schedule --bench schedule`
//!
//! Generates synthetic DAGs shaped like image families (a few roots, each
//! node with 3-20 children, 3-6 levels deep, some stages also copying from
//! an earlier node, 1k-10k nodes, build times from a log-normal distribution
//! with a seeded RNG), then prints for 1, 2, 4 and 8 workers the simulated
//! makespan of the queue's critical-path-first order and of a naive FIFO
//! ready order (the peer), each against the lower bound
//! max(critical path, total work / workers). Target: critical path first
//! within 5% of the bound.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use reagent_schedule::{lower_bound, simulate, Queue};

/// `SplitMix64`: small, seeded, good enough to draw shapes and durations.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    // Both operands are below 2^53, so f64 holds them exactly.
    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi].
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + usize::try_from(self.next_u64() % (hi - lo + 1) as u64).expect("at most hi - lo")
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A build time: log-normal, median 30 s, long tail, from 1 s to 2 h.
    // `secs` is clamped to [1, 7200]: the milliseconds are positive and fit a u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn duration(&mut self) -> Duration {
        let secs = (30f64.ln() + 1.4 * self.normal()).exp().clamp(1.0, 7200.0);
        Duration::from_millis((secs * 1000.0) as u64)
    }
}

/// One node: its dependencies (all earlier nodes) and its build time.
struct Node {
    deps: Vec<usize>,
    weight: Duration,
}

/// The shape of one synthetic image family.
struct Shape {
    seed: u64,
    nodes: usize,
    roots: usize,
    depth: usize,
}

/// Breadth-first growth from the roots: every node gets 3-20 children until
/// the node count or the depth is reached; one node in ten also depends on
/// a random earlier node (a `COPY --from` another stage).
fn generate(shape: &Shape) -> Vec<Node> {
    let mut rng = Rng(shape.seed);
    let mut nodes: Vec<Node> = Vec::with_capacity(shape.nodes);
    let mut frontier = VecDeque::new();
    for _ in 0..shape.roots {
        frontier.push_back((nodes.len(), 0usize));
        nodes.push(Node {
            deps: Vec::new(),
            weight: rng.duration(),
        });
    }
    while let Some((parent, level)) = frontier.pop_front() {
        if level + 1 >= shape.depth {
            continue;
        }
        for _ in 0..rng.range(3, 20) {
            if nodes.len() >= shape.nodes {
                return nodes;
            }
            let id = nodes.len();
            let mut deps = vec![parent];
            if rng.range(0, 9) == 0 {
                deps.push(rng.range(0, id - 1));
            }
            nodes.push(Node {
                deps,
                weight: rng.duration(),
            });
            frontier.push_back((id, level + 1));
        }
    }
    nodes
}

fn queue_of(nodes: &[Node]) -> Queue<usize> {
    let mut q = Queue::new();
    for (i, n) in nodes.iter().enumerate() {
        q.add(i, n.deps.iter().copied(), n.weight);
    }
    q.finish_setup();
    q
}

/// The peer: ready nodes run first come, first served (ties at the start in
/// insertion order), with the same event loop as `simulate`.
fn simulate_fifo(nodes: &[Node], jobs: usize) -> Duration {
    let mut left: Vec<usize> = nodes.iter().map(|n| n.deps.len()).collect();
    let mut dependents = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for &d in &n.deps {
            dependents[d].push(i);
        }
    }
    let mut ready: VecDeque<usize> = (0..nodes.len()).filter(|&i| left[i] == 0).collect();
    let mut running: Vec<(Duration, usize)> = Vec::new();
    let mut now = Duration::ZERO;
    loop {
        while running.len() < jobs {
            let Some(i) = ready.pop_front() else { break };
            running.push((now + nodes[i].weight, i));
        }
        let Some(end) = running.iter().map(|r| r.0).min() else {
            break;
        };
        now = end;
        let (finished, still): (Vec<_>, Vec<_>) = running.into_iter().partition(|r| r.0 == end);
        running = still;
        for (_, i) in finished {
            for &d in &dependents[i] {
                left[d] -= 1;
                if left[d] == 0 {
                    ready.push_back(d);
                }
            }
        }
    }
    now
}

fn main() {
    let shapes = [
        Shape {
            seed: 1,
            nodes: 1_000,
            roots: 3,
            depth: 4,
        },
        Shape {
            seed: 2,
            nodes: 2_000,
            roots: 2,
            depth: 4,
        },
        Shape {
            seed: 3,
            nodes: 5_000,
            roots: 4,
            depth: 5,
        },
        Shape {
            seed: 4,
            nodes: 10_000,
            roots: 3,
            depth: 6,
        },
    ];
    let mut worst = 1.0f64;
    println!(
        "{:>6} {:>5} {:>5} {:>4}  {:>10} {:>10} {:>7}  {:>10} {:>7}",
        "nodes", "roots", "depth", "jobs", "bound(s)", "cp(s)", "cp/lb", "fifo(s)", "fifo/lb"
    );
    for shape in &shapes {
        let nodes = generate(shape);
        let q = queue_of(&nodes);
        for jobs in [1, 2, 4, 8] {
            let lb = lower_bound(&q, jobs).as_secs_f64();
            let cp = simulate(&q, jobs).as_secs_f64();
            let fifo = simulate_fifo(&nodes, jobs).as_secs_f64();
            let ratio = if lb > 0.0 { cp / lb } else { 1.0 };
            worst = worst.max(ratio);
            println!(
                "{:>6} {:>5} {:>5} {:>4}  {:>10.0} {:>10.0} {:>7.4}  {:>10.0} {:>7.4}",
                nodes.len(),
                shape.roots,
                shape.depth,
                jobs,
                lb,
                cp,
                ratio,
                fifo,
                if lb > 0.0 { fifo / lb } else { 1.0 },
            );
        }
    }
    println!(
        "worst critical-path-first ratio: {worst:.4} (target <= 1.05: {})",
        if worst <= 1.05 { "met" } else { "MISSED" }
    );

    // Cost of the queue itself: setup plus one next()/done() per node.
    let nodes = generate(&Shape {
        seed: 9,
        nodes: 10_000,
        roots: 3,
        depth: 6,
    });
    let rounds = 20u32;
    let start = Instant::now();
    for _ in 0..rounds {
        let mut q = queue_of(&nodes);
        while let Some(k) = q.next() {
            q.done(&k);
        }
    }
    let per_node =
        start.elapsed() / (rounds * u32::try_from(nodes.len()).expect("at most 10k nodes"));
    println!(
        "queue overhead: {per_node:?} per node (add + finish_setup + next + done, {} nodes)",
        nodes.len()
    );
}
