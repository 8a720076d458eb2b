//! docs/runtime-semantics.md §3 Ordering: messages from one sender are
//! handled in the order they were sent, whatever other senders do.

use std::thread;

use threadbutler::prelude::*;

pub struct Seq {
    sender: usize,
    n: u64,
}
pub struct Report(pub Reply<Vec<Vec<u64>>>);

threadbutler::messages! { pub enum RecorderMsg for Recorder { Seq, Report } }

#[derive(Default)]
pub struct Recorder {
    seen: Vec<Vec<u64>>,
}

impl Server for Recorder {
    fn handle(&mut self, msg: RecorderMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
        match msg {
            RecorderMsg::Seq(Seq { sender, n }) => {
                if self.seen.len() <= sender {
                    self.seen.resize(sender + 1, Vec::new());
                }
                self.seen[sender].push(n);
            }
            RecorderMsg::Report(Report(reply)) => reply.send(std::mem::take(&mut self.seen)),
        }
        Ok(())
    }
}

#[test]
fn each_senders_messages_arrive_in_send_order() {
    const SENDERS: usize = 4;
    const PER_SENDER: u64 = 20_000;
    let hub = Hub::new();
    let addr = hub
        .server("recorder", Recorder::default)
        .capacity(Capacity::Bounded(16)) // small, so senders block and interleave
        .spawn()
        .expect("recorder starts");
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let addr = addr.clone();
            thread::spawn(move || {
                for n in 0..PER_SENDER {
                    addr.send(Seq { sender, n })
                        .unwrap_or_else(|_| panic!("send {n} refused"));
                }
            })
        })
        .collect();
    for s in senders {
        s.join().expect("sender thread");
    }
    let seen = addr.request(Report).expect("report");
    assert_eq!(seen.len(), SENDERS);
    for (sender, got) in seen.iter().enumerate() {
        let want: Vec<u64> = (0..PER_SENDER).collect();
        assert!(
            got == &want,
            "sender {sender}: messages out of order or missing"
        );
    }
    assert!(hub.shutdown().expect("shutdown").is_clean());
}
