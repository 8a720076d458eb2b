//! Odd interleavings of starts, stops, restarts and requests, in virtual
//! time. Each was once a defect of the event-driven engine (found by a
//! review); each test says what must happen, and panics with the events
//! seen if it does not.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::*;
use crossbeam_channel::bounded;
use threadbutler_supervisor::*;

fn idle_until_stopped(life: &Life) {
    while !life.stop.is_requested() {
        let _ = life.stop.waker().recv();
    }
}

/// §11.1/§11.2: a child whose start times out makes the start fail. When
/// that child is the last one, `Supervisor::start` returns Ok anyway.
#[test]
fn a_start_timeout_of_the_last_child_fails_the_start() {
    let clock = Arc::new(ManualClock::new());
    // Never gives its start notice; stops when asked.
    let slow = FnChild::new(|life: Life| {
        idle_until_stopped(&life);
        ExitReason::Shutdown
    });
    let spec = SupervisorSpec::new("app")
        .clock(clock.clone())
        .child(ChildSpec::new("slow", slow).start_timeout(secs(1)));
    let bus = EventBus::new();
    let mut events = Events::new(bus.subscribe());
    let (tx, rx) = bounded(1);
    thread::spawn(move || {
        let _ = tx.send(Supervisor::start(spec, bus));
    });
    events.take("Starting", "app/slow");
    clock.advance(secs(2));
    let got = rx.recv_timeout(PATIENCE).expect("start returned");
    match got {
        Ok(root) => {
            let e = events.take("Exited", "app/slow");
            println!(
                "start() returned Ok; then: {e}; history:\n    {}",
                events.history()
            );
            root.force_shutdown();
            let _ = root.wait_timeout(PATIENCE);
            panic!("Supervisor::start returned Ok although its only child did not start in time");
        }
        Err(e) => println!("start failed as it should: {e}"),
    }
}

/// §11.6/§11.19/§11.21: during a OneForAll group restart, a member already
/// stopped (waiting for the others to stop) shows as `stopped` and
/// `restart_child` starts it; the group then starts it again over the
/// running life, which is orphaned (never asked to stop).
#[test]
fn restart_child_refuses_a_member_waiting_for_its_group() {
    let (a, a_child) = Puppet::new();
    let (b, b_child) = Puppet::new();
    let (c, c_child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .strategy(Strategy::OneForAll)
        .child(ChildSpec::new("a", a_child))
        .child(ChildSpec::new("b", b_child))
        .child(ChildSpec::new("c", c_child));
    let mut vt = Vt::start(spec);
    for p in ["app/a", "app/b", "app/c"] {
        vt.events.take("Started", p);
    }
    a.next_life();
    b.next_life();
    c.next_life();
    // b will not stop until released: the group waits for it.
    let hold_b = b.ignore_stop();
    a.fail();
    vt.events.take("Exited", "app/c"); // c stopped first (reverse order)
    let first_stop = c.next_stop();
    println!("c's first life {first_stop} stopped by the group");
    b.next_stop(); // b saw its stop and hangs on
    vt.settle();
    println!("c's state while b still stops: {:?}", vt.state_of("c"));
    let app = vt.app.clone();
    let r = within("restart_child(c)", move || app.restart_child("c"));
    println!("restart_child(c) during the group restart: {r:?}");
    if r.is_ok() {
        let orphan = c.next_life();
        println!("c runs life {} (started by restart_child)", orphan.id);
        hold_b.release();
        vt.events.take("Exited", "app/b");
        // The group now starts a, b, c in order; c's slot is overwritten.
        vt.events.take("Started", "app/b");
        vt.events.take("Starting", "app/c"); // restart_child's
        let starting = vt.events.take("Starting", "app/c");
        println!(
            "group hands c a new life {} while {} still runs",
            id_of(&starting),
            orphan.id
        );
        println!(
            "puppet c: a new life ran within 1s? {:?}",
            c.lives_within(Duration::from_secs(1))
        );
        vt.settle();
        println!("c: {:?}", vt.info("c"));
        // The orphan is never asked to stop.
        let stopped = c.stops_within(Duration::from_secs(1));
        println!("a stop reached c's orphan: {stopped:?}");
        // The start of life 11 times out (5s), it is stopped and abandoned
        // (grace 5s), and a new thread runs the next life: two lives of c.
        vt.advance(secs(6));
        vt.advance(secs(6));
        vt.settle();
        let next = c.lives_within(Duration::from_secs(2));
        println!(
            "after the timeout and abandonment, a new life: {next:?}; orphan still stopped? {:?}",
            c.stops_within(Duration::from_secs(1))
        );
        panic!(
            "restart_child accepted a group member mid-restart; orphan life {} never stopped; events:\n    {}",
            orphan.id,
            vt.events.history()
        );
    }
}

/// §11.17/§11.20: a nested supervisor stopped for a restart, whose stop the
/// shutdown turns final: the child it was stopping gets `Stopped` twice.
#[test]
fn a_nested_restart_turned_final_says_stopped_once() {
    let (x, x_child) = Puppet::new();
    let (i1, i1_child) = Puppet::new();
    let (i2, i2_child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .strategy(Strategy::OneForAll)
        .child(ChildSpec::new("x", x_child))
        .child(ChildSpec::supervisor(
            SupervisorSpec::new("sub")
                .child(ChildSpec::new("i1", i1_child))
                .child(ChildSpec::new("i2", i2_child)),
        ));
    let mut vt = Vt::start(spec);
    for p in ["app/x", "app/sub/i1", "app/sub/i2", "app/sub"] {
        vt.events.take("Started", p);
    }
    x.next_life();
    i1.next_life();
    i2.next_life();
    let hold = i2.ignore_stop();
    x.fail(); // the group stops sub for a restart; sub stops i2 first
    i2.next_stop();
    vt.root.shutdown(); // the shutdown finds sub stopping: final now
    vt.settle();
    hold.release();
    let r = vt.wait();
    println!("root ended: {r:?}");
    // Drain what arrived.
    vt.events.assert_none("NoSuchKind", "app", "drain");
    let h = vt.events.history();
    let n = h
        .lines()
        .filter(|l| {
            l.contains("app/sub/i2") && l.contains("Stopped")
                || l.trim().starts_with("Stopped app/sub/i2")
        })
        .count();
    println!("history:\n    {h}");
    assert_eq!(n, 1, "Stopped app/sub/i2 said {n} times");
}

/// A child whose queue the test sets; each life runs `script`.
struct Queued {
    depth: AtomicUsize,
    lives: AtomicUsize,
}

struct QChild(Arc<Queued>);

impl Child for QChild {
    fn run(&self, mut life: Life) -> ExitReason {
        let n = self.0.lives.fetch_add(1, Ordering::SeqCst);
        if n >= 1 {
            // Every later life fails to start.
            return ExitReason::failed(Stage::Init, "cannot start".into());
        }
        life.started();
        idle_until_stopped(&life);
        // Fails during its drain, with work still queued.
        ExitReason::failed(Stage::Handle, "failed while draining".into())
    }
    fn queued(&self) -> usize {
        self.0.depth.load(Ordering::SeqCst)
    }
}

/// §11.21: `remove_child` on a child whose drain's successor fails to
/// start: the reply is lost (None, "no such child") and the child stays.
#[test]
fn remove_child_is_answered_when_its_drain_successor_fails_to_start() {
    let q = Arc::new(Queued {
        depth: AtomicUsize::new(3),
        lives: AtomicUsize::new(0),
    });
    let spec = SupervisorSpec::new("app")
        .child(ChildSpec::new("q", QChild(Arc::clone(&q))).shutdown(Shutdown::Drain(secs(30))));
    let mut vt = Vt::start(spec);
    vt.events.take("Started", "app/q");
    let app = vt.app.clone();
    let r = within("remove_child(q)", move || app.remove_child("q"));
    println!("remove_child(q): {r:?}");
    let names: Vec<String> = vt
        .app
        .which_children()
        .into_iter()
        .map(|c| format!("{} {:?}", c.name, c.state))
        .collect();
    println!("children after: {names:?}");
    println!("history:\n    {}", vt.events.history_now());
    assert!(r.is_some(), "remove_child lost its answer");
    assert!(names.is_empty(), "removed child still listed");
}

/// §11.14/§11.20/§11.21: a nested supervisor abandoned by its parent keeps
/// running its closing on the old thread; when it ends, it marks the
/// shared handle "not running" and republishes its rows, while the new
/// life of the same supervisor runs: the child API answers NotRunning.
#[test]
fn an_abandoned_nested_life_leaves_its_successor_alone() {
    let (x, x_child) = Puppet::new();
    let (a, a_child) = Puppet::new();
    let (b, b_child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .strategy(Strategy::OneForAll)
        .abandon_after(secs(1))
        .child(ChildSpec::new("x", x_child))
        .child(ChildSpec::supervisor(
            SupervisorSpec::new("sub")
                .abandon_after(secs(10))
                .child(ChildSpec::new("a", a_child))
                .child(ChildSpec::new("b", b_child)),
        ));
    let mut vt = Vt::start(spec);
    for p in ["app/x", "app/sub/a", "app/sub/b", "app/sub"] {
        vt.events.take("Started", p);
    }
    x.next_life();
    a.next_life();
    b.next_life();
    let hold = b.ignore_stop();
    x.fail(); // the group stops sub for a restart; sub stops b first
    b.next_stop();
    vt.advance(secs(2)); // the root's grace passes: sub's life is abandoned
    vt.events.take("Abandoned", "app/sub");
    // The group starts x and a new life of sub (a and b again).
    vt.events.take("Started", "app/sub");
    a.next_life();
    b.next_life();
    let sub = vt.root.supervisor("app/sub").expect("a supervisor");
    let s2 = sub.clone();
    println!(
        "new sub life: which_children = {:?}",
        sub.which_children()
            .iter()
            .map(|c| (c.name.clone(), c.state))
            .collect::<Vec<_>>()
    );
    println!(
        "terminate_child(a) before: {:?}",
        within("t", move || s2.count_children())
    );
    // The old life's own grace passes: it abandons b's old life, stops
    // a's old life (a stop reaches the puppet's old life), and ends.
    vt.advance(secs(11));
    // Its last act is to stop a's old life; then it ends.
    vt.events.take("Exited", "app/sub/a");
    vt.settle();
    let s3 = sub.clone();
    let r = within("terminate_child(a)", move || s3.terminate_child("a"));
    println!("after the old life ended: terminate_child(a) = {r:?}");
    println!(
        "which_children = {:?}",
        sub.which_children()
            .iter()
            .map(|c| (c.name.clone(), c.state, c.life))
            .collect::<Vec<_>>()
    );
    println!(
        "root status of sub = {:?}",
        vt.root.status().find("app/sub").map(|n| n.state)
    );
    println!("history:\n    {}", vt.events.history_now());
    drop(hold);
    assert!(
        r.is_ok(),
        "the running nested supervisor refuses its child API: {r:?}"
    );
}

/// A child with a queue that a drain does not get through: it ends only
/// when its stop turns immediate; an immediate final stop sweeps the queue.
struct Slow(Arc<AtomicUsize>);

impl Child for Slow {
    fn run(&self, mut life: Life) -> ExitReason {
        life.started();
        life.heartbeat.set_busy(false);
        while life.stop.mode() != Some(StopMode::Immediate) {
            let _ = life.stop.waker().recv();
        }
        ExitReason::Shutdown
    }
    fn on_final_stop(&self, mode: StopMode) -> u64 {
        if mode == StopMode::Immediate {
            self.0.swap(0, Ordering::SeqCst) as u64
        } else {
            0
        }
    }
    fn on_drain_deadline(&self) -> u64 {
        self.0.swap(0, Ordering::SeqCst) as u64
    }
    fn on_retired(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
    fn queued(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// §11.16/§12.6: "every queue the shutdown gives up is reported once": a
/// forced shutdown during a nested drain reports the child's 3 items twice,
/// once for the child and once for the nested supervisor.
#[test]
fn a_forced_nested_drain_reports_each_queue_once() {
    let q = Arc::new(AtomicUsize::new(3));
    let spec = SupervisorSpec::new("app")
        .child(ChildSpec::supervisor(SupervisorSpec::new("sub").child(
            ChildSpec::new("q", Slow(Arc::clone(&q))).shutdown(Shutdown::Drain(secs(30))),
        )));
    let mut vt = Vt::start(spec);
    vt.events.take("Started", "app/sub/q");
    vt.root.shutdown();
    vt.settle();
    vt.events.take("ShutdownBegan", "app/sub");
    vt.root.force_shutdown();
    let r = vt.wait();
    println!("root ended: {r:?}");
    let h = vt.events.history_now();
    println!("history:\n    {h}");
    let drained: Vec<&str> = h
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Drained") && !l.contains("(0 left)"))
        .collect();
    assert_eq!(drained.len(), 1, "3 queued items reported as {drained:?}");
}

/// §11.21: `terminate_child` on a dynamic child whose start timed out (its
/// stop is pending): `add_child` is never answered (until the supervisor
/// ends), and the child that never started is kept as a held spec.
#[test]
fn terminate_during_a_timed_out_add_answers_add_child() {
    let (release_tx, release_rx) = bounded::<()>(1);
    let stuck = FnChild::new(move |life: Life| {
        // Never starts; when asked to stop, waits to be released.
        idle_until_stopped(&life);
        let _ = release_rx.recv();
        ExitReason::Shutdown
    });
    let vt = Vt::start(SupervisorSpec::new("app"));
    let app = vt.app.clone();
    let (tx, add_rx) = bounded(1);
    thread::spawn(move || {
        let _ = tx.send(app.add_child(ChildSpec::new("late", stuck).start_timeout(secs(1))));
    });
    let mut events = vt.events;
    events.take("Starting", "app/late");
    vt.clock.advance(secs(2)); // the start times out: its life is asked to stop
    let app = vt.app.clone();
    let (ttx, trx) = bounded(1);
    thread::spawn(move || {
        let _ = ttx.send(app.terminate_child("late"));
    });
    // A child still being added is dropped as its add fails: terminate
    // is answered at once, before the stuck life lets go.
    let terminated = trx.recv_timeout(PATIENCE);
    let _ = release_tx.send(());
    println!("terminate_child: {terminated:?}");
    let add = add_rx.recv_timeout(Duration::from_secs(2));
    println!("add_child answered within 2s: {add:?}");
    println!(
        "children: {:?}",
        vt.app
            .which_children()
            .iter()
            .map(|c| (c.name.clone(), c.state))
            .collect::<Vec<_>>()
    );
    println!("history:\n    {}", events.history_now());
    vt.root.shutdown();
    assert!(
        matches!(terminated, Ok(Ok(()))),
        "terminate answered: {terminated:?}"
    );
    assert!(
        matches!(add, Ok(Err(_))),
        "add_child answered with the failed start: {add:?}"
    );
}

/// Life 1 fails during its drain with work queued; life 2 waits to be
/// released before it gives its start notice, then drains (empties the
/// queue) when asked to stop.
struct Redrain {
    depth: Arc<AtomicUsize>,
    lives: AtomicUsize,
    gate: crossbeam_channel::Receiver<()>,
}

impl Child for Redrain {
    fn run(&self, mut life: Life) -> ExitReason {
        let n = self.lives.fetch_add(1, Ordering::SeqCst);
        if n >= 1 {
            let _ = self.gate.recv();
        }
        life.started();
        life.heartbeat.set_busy(false);
        idle_until_stopped(&life);
        if n == 0 {
            return ExitReason::failed(Stage::Handle, "failed while draining".into());
        }
        self.depth.store(0, Ordering::SeqCst); // drained
        ExitReason::Shutdown
    }
    fn queued(&self) -> usize {
        self.depth.load(Ordering::SeqCst)
    }
}

/// §11.16/§11.21: a shutdown that reaches a child while the successor of
/// its `remove_child` drain is starting never completes: the closing waits
/// for the slot's leftover `resume` forever (a forced shutdown too).
#[test]
fn a_shutdown_meeting_a_removals_drain_successor_ends() {
    let (go, gate) = bounded(1);
    let depth = Arc::new(AtomicUsize::new(3));
    let child = Redrain {
        depth: Arc::clone(&depth),
        lives: AtomicUsize::new(0),
        gate,
    };
    let spec = SupervisorSpec::new("app")
        .child(ChildSpec::new("q", child).shutdown(Shutdown::Drain(secs(30))));
    let mut vt = Vt::start(spec);
    vt.events.take("Started", "app/q");
    let app = vt.app.clone();
    let (rtx, rrx) = bounded(1);
    thread::spawn(move || {
        let _ = rtx.send(app.remove_child("q"));
    });
    vt.events.take("Restarting", "app/q"); // life 1 failed; life 2 is starting
    vt.events.take("Starting", "app/q");
    vt.root.shutdown();
    vt.settle();
    let _ = go.send(()); // life 2 starts, is asked to drain, drains, ends
    vt.events.take("Exited", "app/q");
    let ended = vt.root.wait_timeout(Duration::from_secs(2));
    println!("root ended within 2s: {ended:?}");
    vt.root.force_shutdown();
    vt.advance(secs(3600));
    let forced = vt.root.wait_timeout(Duration::from_secs(2));
    println!("after force_shutdown and an hour: {forced:?}");
    println!("remove_child: {:?}", rrx.try_recv());
    println!("q: {:?}", vt.app.which_children());
    println!("history:\n    {}", vt.events.history_now());
    assert!(ended.is_some(), "the shutdown never completes");
}

/// §11.17/§11.18: a shutdown during a group restart: c, already stopped by
/// the group and waiting for its turn to start again, gets no `Stopped`.
#[test]
fn a_shutdown_during_a_group_restart_says_each_waiting_member_stopped() {
    let (a, a_child) = Puppet::new();
    let (b, b_child) = Puppet::new();
    let (c, c_child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .strategy(Strategy::OneForAll)
        .child(ChildSpec::new("a", a_child))
        .child(ChildSpec::new("b", b_child))
        .child(ChildSpec::new("c", c_child));
    let mut vt = Vt::start(spec);
    for p in ["app/a", "app/b", "app/c"] {
        vt.events.take("Started", p);
    }
    a.next_life();
    b.next_life();
    c.next_life();
    let hold_b = b.ignore_stop();
    a.fail();
    vt.events.take("Exited", "app/c");
    b.next_stop();
    vt.settle();
    println!(
        "states mid-group: a {:?}, b {:?}, c {:?}",
        vt.state_of("a"),
        vt.state_of("b"),
        vt.state_of("c")
    );
    vt.root.shutdown();
    vt.settle();
    hold_b.release();
    vt.wait();
    let h = vt.events.history_now();
    println!("history:\n    {h}");
    assert!(h.contains("Stopped app/c"), "no Stopped for c");
}

struct SlowDrop;
impl Drop for SlowDrop {
    fn drop(&mut self) {
        thread::sleep(Duration::from_secs(2)); // allow-sleep: the slow destructor under test, not a wait
    }
}
thread_local! {
    static CONN: std::cell::RefCell<Option<SlowDrop>> = const { std::cell::RefCell::new(None) };
}

/// Rule 9 / §11.19: retiring a child joins its worker thread on the
/// supervisor's thread, so the thread's teardown (thread-locals, which
/// §11.10 says persist across lives) holds up the whole supervisor.
#[test]
fn retiring_a_child_does_not_wait_for_its_thread() {
    let (go_tx, go_rx) = bounded::<()>(1);
    let t = FnChild::new(move |mut life: Life| {
        CONN.with(|c| *c.borrow_mut() = Some(SlowDrop));
        life.started();
        let _ = go_rx.recv();
        ExitReason::Normal // a Transient child that ends normally is retired
    });
    let spec = SupervisorSpec::new("app").child(ChildSpec::new("t", t).restart(Restart::Transient));
    let mut vt = Vt::start(spec);
    let _ = go_tx.send(());
    vt.events.take("Exited", "app/t");
    let t0 = std::time::Instant::now();
    let app = vt.app.clone();
    let _ = within("a request", move || app.delete_child("nobody"));
    println!(
        "a request right after the child's exit took {:?}",
        t0.elapsed()
    );
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "the supervisor was blocked by a child's thread teardown"
    );
}

/// §11.17: a nested supervisor giving up when its parent's shutdown turns
/// its closing final: the children it had stopped already get `Stopped`
/// twice.
#[test]
fn giving_up_then_shutting_down_says_stopped_once() {
    let (a, a_child) = Puppet::new();
    let (b, b_child) = Puppet::new();
    let (c, c_child) = Puppet::new();
    let spec = SupervisorSpec::new("app").child(ChildSpec::supervisor(
        SupervisorSpec::new("sub")
            .intensity(Intensity {
                max_restarts: 0,
                period: secs(5),
            })
            .child(ChildSpec::new("a", a_child))
            .child(ChildSpec::new("b", b_child))
            .child(ChildSpec::new("c", c_child)),
    ));
    let mut vt = Vt::start(spec);
    vt.events.take("Started", "app/sub");
    a.next_life();
    b.next_life();
    c.next_life();
    let hold = b.ignore_stop();
    a.fail(); // sub gives up: stops c, then b (which hangs on)
    vt.events.take("GaveUp", "app/sub");
    vt.events.take("Stopped", "app/sub/c");
    b.next_stop();
    vt.root.shutdown(); // sub's closing turns final
    vt.settle();
    hold.release();
    vt.wait();
    let h = vt.events.history_now();
    println!("history:\n    {h}");
    let n = h
        .lines()
        .filter(|l| l.trim() == "Stopped app/sub/c")
        .count();
    assert_eq!(n, 1, "Stopped app/sub/c said {n} times");
}

/// §11.17: a `terminate_child` still stopping when a shutdown begins, which
/// ends before the shutdown reaches it: `Stopped` twice.
#[test]
fn a_terminate_ending_during_a_shutdown_says_stopped_once() {
    let (a, a_child) = Puppet::new();
    let (c, c_child) = Puppet::new();
    let spec = SupervisorSpec::new("app")
        .child(ChildSpec::new("a", a_child))
        .child(ChildSpec::new("c", c_child));
    let mut vt = Vt::start(spec);
    a.next_life();
    c.next_life();
    let hold_a = a.ignore_stop();
    let hold_c = c.ignore_stop();
    let app = vt.app.clone();
    let (ttx, trx) = bounded(1);
    thread::spawn(move || {
        let _ = ttx.send(app.terminate_child("a"));
    });
    a.next_stop();
    vt.root.shutdown(); // reverse order: c first (hangs), a later
    c.next_stop();
    hold_a.release(); // a's terminate completes before its turn
    println!("terminate_child: {:?}", trx.recv_timeout(PATIENCE));
    hold_c.release();
    vt.wait();
    let h = vt.events.history_now();
    println!("history:\n    {h}");
    let n = h.lines().filter(|l| l.trim() == "Stopped app/a").count();
    assert_eq!(n, 1, "Stopped app/a said {n} times");
}

/// §11.6 ("OneForAll: every running child"): during the initial start, a
/// child not started yet is taken into a group restart: `Restarting`
/// before it ever started, and a restart counted for it.
#[test]
fn the_initial_start_does_not_restart_children_that_never_ran() {
    let clock = Arc::new(ManualClock::new());
    let (go_tx, go_rx) = bounded::<()>(1);
    let first = Arc::new(AtomicUsize::new(0));
    let f2 = Arc::clone(&first);
    let a = FnChild::new(move |mut life: Life| {
        life.started();
        if f2.fetch_add(1, Ordering::SeqCst) == 0 {
            return ExitReason::failed(Stage::Run, "early".into());
        }
        idle_until_stopped(&life);
        ExitReason::Shutdown
    });
    let b = FnChild::new(move |mut life: Life| {
        let _ = go_rx.recv_timeout(Duration::from_millis(300));
        life.started();
        idle_until_stopped(&life);
        ExitReason::Shutdown
    });
    let c = FnChild::new(|mut life: Life| {
        life.started();
        idle_until_stopped(&life);
        ExitReason::Shutdown
    });
    let spec = SupervisorSpec::new("app")
        .clock(clock.clone())
        .strategy(Strategy::OneForAll)
        .child(ChildSpec::new("a", a))
        .child(ChildSpec::new("b", b))
        .child(ChildSpec::new("c", c));
    let bus = EventBus::new();
    let mut events = Events::new(bus.subscribe());
    let root = within("start", move || Supervisor::start(spec, bus)).expect("starts");
    drop(go_tx);
    let h = events.history_now();
    println!("history:\n    {h}");
    println!(
        "{:?}",
        root.root()
            .which_children()
            .iter()
            .map(|c| (c.name.clone(), c.restarts))
            .collect::<Vec<_>>()
    );
    root.force_shutdown();
    root.wait();
    let before_start = h
        .find("Restarting app/c")
        .zip(h.find("Starting app/c"))
        .map(|(r, s)| r < s);
    assert_ne!(
        before_start,
        Some(true),
        "c restarted before it ever started"
    );
}
