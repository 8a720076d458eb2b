//! `examples/config.toml` documents every key; it must stay loadable, and a
//! program declaring its server must start with it. `jobd/jobd.toml`
//! must load too (jobd itself starts with it in `jobd_*` tests' configs).

use threadbutler::config::Config;
use threadbutler::prelude::*;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/config.toml");
const JOBD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../jobd/jobd.toml");

pub struct Nothing;
threadbutler::messages! { pub enum CounterMsg for Counter { Nothing } }
pub struct Job;
threadbutler::messages! { pub enum WorkerMsg for Worker { Job } }
pub struct Worker;
impl Server for Worker {
    fn handle(&mut self, _: WorkerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}
pub struct Counter;
impl Server for Counter {
    fn handle(&mut self, _: CounterMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn the_example_config_loads_and_starts_a_program() {
    let config = Config::load(EXAMPLE).expect("the example is valid");
    assert!(config.server("counter").is_some());
    let app = Butler::builder("app")
        .config_file(EXAMPLE)
        .expect("valid")
        .server("counter", || Counter)
        .pool("workers", 1, || Worker)
        .start()
        .expect("starts with the example's policies");
    let tree = app.status();
    let workers = tree.find("app/workers").expect("the pool");
    assert_eq!(workers.kind, "pool");
    assert_eq!(workers.children.len(), 4, "pool_size from the file: {tree}");
    assert_eq!(
        tree.find("app/counter").and_then(|n| n.heartbeat_ms),
        Some(1000)
    );
    app.hub().send(Nothing).expect("sent");
    app.shutdown();
    let report = app.wait().expect("clean");
    assert_eq!(report.exit_code(), 0);
    let (name, stats) = report
        .mailboxes
        .iter()
        .find(|(n, _)| n == "counter")
        .expect("listed");
    assert_eq!(name, "counter");
    assert_eq!(
        (stats.accepted, stats.handled, stats.dead_lettered),
        (1, 1, 0)
    );
}

#[test]
fn the_app_table_is_the_programs_and_jobds_file_loads() {
    let text = std::fs::read_to_string(EXAMPLE).expect("readable");
    let app: serde_json::Value = Config::app_section(&text, EXAMPLE)
        .expect("a table")
        .expect("the example has [app]");
    assert_eq!(app["greeting"], "hello");

    let config = Config::load(JOBD).expect("jobd.toml is valid");
    for name in ["results", "stats", "workers", "intake"] {
        assert!(config.server(name).is_some(), "jobd.toml sets {name}");
    }
    let text = std::fs::read_to_string(JOBD).expect("readable");
    let app: serde_json::Value = Config::app_section(&text, JOBD)
        .expect("a table")
        .expect("jobd.toml has [app]");
    assert_eq!(app["socket_mode"], "0600");
}
