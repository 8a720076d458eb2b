//! docs/runtime-semantics.md §6 Stopping: a server stopped from outside, from
//! inside its own handler, and all servers at once (also from a handler);
//! the servers spawned on a hub stop in reverse start order.

use std::sync::{Arc, Mutex};

use threadbutler::prelude::*;

pub struct Quit;
pub struct QuitAll;
pub struct Hello;

threadbutler::messages! { pub enum NamedMsg for Named { Quit, QuitAll, Hello } }

pub struct Named {
    stops: Arc<Mutex<Vec<String>>>,
}

impl Server for Named {
    fn handle(&mut self, msg: NamedMsg, ctx: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            NamedMsg::Quit(Quit) => ctx.stop(),
            NamedMsg::QuitAll(QuitAll) => ctx.hub().request_shutdown(),
            NamedMsg::Hello(Hello) => {}
        }
        Ok(())
    }

    fn on_stop(&mut self, _: &ExitReason, ctx: &mut Ctx<Self>) {
        self.stops.lock().expect("lock").push(ctx.name().to_owned());
    }
}

fn three(hub: &Hub) -> (Arc<Mutex<Vec<String>>>, Vec<Address<Named>>) {
    let stops = Arc::new(Mutex::new(Vec::new()));
    let addrs = ["first", "second", "third"]
        .iter()
        .map(|name| {
            let s = Arc::clone(&stops);
            hub.spawn(name, move || Named {
                stops: Arc::clone(&s),
            })
            .expect("starts")
        })
        .collect();
    (stops, addrs)
}

#[test]
fn shutdown_stops_servers_in_reverse_start_order() {
    let hub = Hub::new();
    let (stops, _) = three(&hub);
    let report = hub.shutdown().expect("shutdown");
    assert_eq!(
        *stops.lock().expect("lock"),
        vec!["third", "second", "first"]
    );
    let order: Vec<&str> = report.exits.iter().map(|(path, _)| &**path).collect();
    assert_eq!(order, vec!["hub/third", "hub/second", "hub/first"]);
    assert!(report.is_clean());
}

#[test]
fn a_server_stops_itself_from_a_handler_with_a_normal_exit() {
    let hub = Hub::new();
    let (_, addrs) = three(&hub);
    addrs[1].send(Quit).expect("sent");
    let report = hub.join("second").expect("known");
    assert!(matches!(report.reason, Some(ExitReason::Normal)));
    // The others still run.
    addrs[0].send(Hello).expect("first runs");
    addrs[2].send(Hello).expect("third runs");
    assert!(addrs[1].send(Hello).is_err(), "second is closed");
    hub.shutdown().expect("shutdown");
}

#[test]
fn a_handler_can_stop_everything_at_once() {
    let hub = Hub::new();
    let (stops, addrs) = three(&hub);
    addrs[0].send(QuitAll).expect("sent");
    let report = hub.wait().expect("a requested shutdown");
    assert_eq!(report.exits.len(), 3);
    assert_eq!(
        *stops.lock().expect("lock"),
        vec!["third", "second", "first"]
    );
    assert!(report.is_clean());
    // Nothing new starts once a shutdown began.
    let s = Arc::clone(&stops);
    assert!(matches!(
        hub.spawn("late", move || Named {
            stops: Arc::clone(&s)
        }),
        Err(threadbutler::SpawnError::ShuttingDown { .. })
    ));
}

#[test]
fn stop_one_from_outside_leaves_the_rest_running() {
    let hub = Hub::new();
    let (stops, addrs) = three(&hub);
    let report = hub.stop("first").expect("known");
    assert!(matches!(report.reason, Some(ExitReason::Shutdown)));
    assert_eq!(*stops.lock().expect("lock"), vec!["first"]);
    addrs[1].send(Hello).expect("second runs");
    // The stopped one was removed: a shutdown afterwards stops the others.
    let all = hub.shutdown().expect("shutdown");
    let order: Vec<&str> = all.exits.iter().map(|(path, _)| &**path).collect();
    assert_eq!(order, vec!["hub/third", "hub/second"]);
    assert!(matches!(
        hub.stop("nobody"),
        Err(threadbutler::Error::UnknownServer { .. })
    ));
}

#[test]
fn concurrent_stop_join_and_shutdown_all_see_the_same_clean_exit() {
    let hub = Hub::new();
    let (_, _) = three(&hub);
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let hub = hub.clone();
            std::thread::spawn(move || match i {
                0 => hub.stop("second").expect("known").reason,
                1 => hub.join("second").expect("known").reason,
                // Stopped by the shutdown, or removed before it began.
                _ => match hub.shutdown().expect("shutdown").exit_of("second") {
                    Some(reason) => Some(reason.clone()),
                    None => hub.join("second").expect("known").reason,
                },
            })
        })
        .collect();
    for h in handles {
        let outcome = h.join().expect("thread");
        assert!(matches!(outcome, Some(ExitReason::Shutdown)), "{outcome:?}");
    }
}
