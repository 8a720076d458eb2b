//! Children added to a running tree: any kind the builder declares
//! (servers, async servers, pools, nested supervisors, threads), declared
//! with the builder's own methods and options, started in order.

use threadbutler_supervisor::{ExitReason, SupervisorRef};

use crate::data::hub::Hub;
use crate::error::{Error, SpawnError};
use crate::supervised::butler::Butler;
use crate::supervised::declaration::{ChildDeclaration, SupervisorDeclaration};
use crate::supervised::tree_builder::SupervisorBuilder;

impl Butler {
    /// Adds children under the supervisor at `supervisor` (`"app"`,
    /// `"app/db"`): `declare` declares them exactly as on the builder
    /// (servers, pools, async servers, nested supervisors, threads, and the
    /// options that follow each), and they start in declaration order, each
    /// waited for. Returns once all started. If one fails to start, those
    /// added before it are removed again (reverse order) and nothing of
    /// the call is left behind.
    ///
    /// ```
    /// use threadbutler::prelude::*;
    /// # pub struct Job(pub u32, pub Reply<u32>);
    /// # threadbutler::messages! { pub enum WorkerMsg for Worker { Job } }
    /// # pub struct Worker;
    /// # impl Server for Worker {
    /// #     fn handle(&mut self, msg: WorkerMsg, _: &mut Ctx<Self>) -> Result<(), BoxError> {
    /// #         let WorkerMsg::Job(Job(n, reply)) = msg;
    /// #         reply.send(n * 2);
    /// #         Ok(())
    /// #     }
    /// # }
    ///
    /// let app = Butler::builder("app").start()?;
    /// app.add_children("app", |more| {
    ///     more.pool("workers", 3, || Worker).restart(Restart::Transient)
    /// })?;
    /// assert_eq!(app.hub().request(|r| Job(21, r))?, 42);
    /// assert_eq!(app.status().find("app/workers").map(|n| n.kind), Some("pool"));
    /// app.shutdown();
    /// app.wait()?;
    /// # Ok::<(), threadbutler::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] if there is no such supervisor;
    /// [`Error::Config`] for a misused declaration; [`Error::Spawn`] if a
    /// name is taken or a child failed to start.
    pub fn add_children<R: Into<SupervisorBuilder>>(
        &self,
        supervisor: &str,
        declare: impl FnOnce(SupervisorBuilder) -> R,
    ) -> Result<(), Error> {
        let sup = self.supervisor(supervisor)?;
        let blank = SupervisorBuilder {
            tree: SupervisorDeclaration::new(supervisor),
        };
        add_declared(&self.hub, &sup, declare(blank).into())
    }
}

impl Hub {
    /// Adds children under the hub's root supervisor (a Butler's root, or
    /// the implicit one), declared as on the builder; see
    /// [`Butler::add_children`]. Children added this way follow their
    /// declared policies (`Permanent` unless told otherwise), unlike
    /// [`Hub::spawn`]'s `Temporary` default.
    ///
    /// # Errors
    ///
    /// As [`Butler::add_children`].
    pub fn add_children<R: Into<SupervisorBuilder>>(
        &self,
        declare: impl FnOnce(SupervisorBuilder) -> R,
    ) -> Result<(), Error> {
        let app = self.app(self.name())?;
        let blank = SupervisorBuilder {
            tree: SupervisorDeclaration::new(self.name()),
        };
        add_declared(self, &app.root.root(), declare(blank).into())
    }
}

/// Builds the children `declared` holds and adds them to `sup` in order;
/// on a failure, removes the ones it added.
fn add_declared(hub: &Hub, sup: &SupervisorRef, declared: SupervisorBuilder) -> Result<(), Error> {
    let tree = declared.tree;
    let mut errors = Vec::new();
    tree.errors(&mut errors);
    let own = &tree.policy;
    if own.strategy.is_some() || own.intensity.is_some() || own.abandon_after.is_some() {
        // The closure's builder stands for the running supervisor, whose
        // own policies a declaration of children does not change.
        errors.push(format!(
            "supervisor {}: add_children declares children only; its strategy, \
             intensity and abandon_after are not changed here (reload them)",
            tree.name
        ));
    }
    if !errors.is_empty() {
        return Err(Error::Config {
            detail: errors.join("; "),
        });
    }
    let existing = sup.which_children();
    for child in &tree.children {
        let name = match child {
            ChildDeclaration::Server { name, .. }
            | ChildDeclaration::Pool { name, .. }
            | ChildDeclaration::Thread { name, .. } => name.clone(),
            ChildDeclaration::Supervisor { tree, .. } => tree.name.clone(),
        };
        if existing.iter().any(|c| c.name == name) {
            return Err(SpawnError::NameTaken { name }.into());
        }
    }
    let mut specs = std::mem::take(tree.build(hub)?.children_mut()).into_iter();
    let mut added: Vec<String> = Vec::new();
    while let Some(spec) = specs.next() {
        let name = spec.name().to_owned();
        if let Err(reason) = sup.add_child(spec) {
            // The failed one was retired and removed by its supervisor
            // (its mailbox left the hub with it); the rest never ran; the
            // ones added go again, newest first.
            for rest in specs {
                rest.child().on_retired();
                rest.child().on_removed();
            }
            for done in added.iter().rev() {
                let _ = sup.remove_child(done);
            }
            return Err(match reason {
                ExitReason::Shutdown => SpawnError::ShuttingDown { name },
                reason => SpawnError::StartFailed { name, reason },
            }
            .into());
        }
        added.push(name);
    }
    Ok(())
}
