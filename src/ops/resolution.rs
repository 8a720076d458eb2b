//! Which declared child a config file's table names, and whether what it
//! sets applies to that kind of child: the one resolution a start and a
//! reload both go through.
//!
//! The builder's declaration is indexed as a [`DeclaredPaths`] (the path and
//! kind of every declared child), kept after the start. A file is resolved
//! against it completely or not at all: [`resolve`] returns every table's
//! [`Setting`], or the first error in the file, with its line. At a start
//! the error stops the start; at a reload it is logged and nothing changes.

use std::path::Path;
use std::time::Duration;

use threadbutler_supervisor::Policy;

use crate::data::mailbox::Capacity;
use crate::ops::config::{CapacityConfig, Config, ConfigError, key_name, line_of};

/// What a declared child is: what a file may set on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A server (sync or async): a child with a mailbox.
    Server,
    /// A pool of `size` workers, abandoned after `grace` when given.
    Pool {
        size: usize,
        grace: Option<Duration>,
    },
    /// A nested supervisor.
    Supervisor,
    /// A plain thread.
    Thread,
}

/// One declared child.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeclaredPath {
    /// Its path below the root supervisor: `"db/reader"`.
    pub(crate) path: String,
    pub(crate) kind: Kind,
    /// Its mailbox's capacity as started (`None`: the hub's default).
    pub(crate) capacity: Option<Capacity>,
}

impl DeclaredPath {
    pub(crate) fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// The declared tree, indexed: its root's name and every declared child, in
/// declaration order (a nested supervisor's children right after it).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DeclaredPaths {
    pub(crate) root: String,
    pub(crate) children: Vec<DeclaredPath>,
}

impl DeclaredPaths {
    /// The path in the running tree of `path` (below the root; `""` is the
    /// root itself).
    pub(crate) fn full_path(&self, path: &str) -> String {
        if path.is_empty() {
            self.root.clone()
        } else {
            format!("{}/{path}", self.root)
        }
    }

    /// The child a file's table names: `key` is a path below the root
    /// (`"db/reader"`), or a name that only one declared child has.
    ///
    /// # Errors
    ///
    /// What is wrong with `key`: no such child, or several.
    fn find(&self, key: &str) -> Result<&DeclaredPath, String> {
        if key.contains('/') {
            return self.children.iter().find(|d| d.path == key).ok_or_else(|| {
                format!(
                    "no child of that path is declared (paths are below the root supervisor {:?}, like \"db/reader\")",
                    self.root
                )
            });
        }
        let found: Vec<&DeclaredPath> = self.children.iter().filter(|d| d.name() == key).collect();
        match found[..] {
            [one] => Ok(one),
            [] => Err("no server, pool, supervisor or thread of that name is declared".into()),
            _ => {
                let paths: Vec<String> = found
                    .iter()
                    .map(|d| format!("[servers.{}]", key_name(&d.path)))
                    .collect();
                Err(format!(
                    "{} declared children have that name: name one by its path, {}",
                    found.len(),
                    paths.join(" or ")
                ))
            }
        }
    }
}

/// What a file sets on one declared child.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Setting {
    /// The child's path below the root.
    pub(crate) path: String,
    pub(crate) kind: Kind,
    pub(crate) policy: Policy,
    pub(crate) capacity: Option<Capacity>,
    pub(crate) pool_size: Option<usize>,
}

/// A file resolved against the declared tree: the root's own policies, and
/// a setting per table, in the file's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Resolved {
    pub(crate) root: Policy,
    pub(crate) children: Vec<Setting>,
}

/// Resolves every table of `config` against `tree`.
///
/// # Errors
///
/// The first problem in the file (by line): a table that names no declared
/// child, or several, or one another table named already; a key that does
/// not apply to the kind of child named; a child's policy in
/// `[supervisor]`.
pub(crate) fn resolve(config: &Config, tree: &DeclaredPaths) -> Result<Resolved, ConfigError> {
    let text = config.text();
    let error = |line: Option<usize>, key: String, message: String| ConfigError {
        file: config.file().unwrap_or(Path::new("")).to_owned(),
        line,
        key: Some(key),
        message,
    };
    if let Some(field) = child_fields(&config.supervisor).first() {
        return Err(error(
            config.supervisor_line(text),
            format!("supervisor.{field}"),
            "the root supervisor has no parent to restart or stop it: [supervisor] takes strategy, intensity and abandon_after".into(),
        ));
    }
    let mut tables: Vec<_> = config.servers.iter().collect();
    tables.sort_by_key(|(_, t)| t.span().start);
    let mut named: Vec<(&str, Setting)> = Vec::new();
    for (name, table) in tables {
        let line = Some(line_of(text, table.span().start));
        let key = format!("servers.{}", key_name(name));
        let child = tree.find(name).map_err(|m| error(line, key.clone(), m))?;
        if let Some((other, _)) = named.iter().find(|(_, s)| s.path == child.path) {
            let message = format!(
                "names {} again, which [servers.{}] names already",
                tree.full_path(&child.path),
                key_name(other)
            );
            return Err(error(line, key, message));
        }
        let t = table.get_ref();
        if let Some((field, why)) = misfit(child.kind, t.policy, t.capacity, t.pool_size) {
            return Err(error(line, format!("{key}.{field}"), why.into()));
        }
        let setting = Setting {
            path: child.path.clone(),
            kind: child.kind,
            policy: t.policy,
            capacity: t.capacity.map(CapacityConfig::capacity),
            pool_size: t.pool_size,
        };
        named.push((name, setting));
    }
    Ok(Resolved {
        root: config.supervisor,
        children: named.into_iter().map(|(_, s)| s).collect(),
    })
}

/// The child policies `p` sets (those a supervisor's parent applies).
fn child_fields(p: &Policy) -> Vec<&'static str> {
    let set = [
        ("restart", p.restart.is_some()),
        ("shutdown", p.shutdown.is_some()),
        ("heartbeat", p.heartbeat.is_some()),
        ("backoff", p.backoff.is_some()),
        ("start_timeout", p.start_timeout.is_some()),
        ("stack_size", p.stack_size.is_some()),
        (
            "fresh_thread_on_restart",
            p.fresh_thread_on_restart.is_some(),
        ),
    ];
    set.into_iter()
        .filter(|(_, s)| *s)
        .map(|(f, _)| f)
        .collect()
}

/// The first key a table sets that a child of `kind` does not take, and why.
fn misfit(
    kind: Kind,
    p: Policy,
    capacity: Option<CapacityConfig>,
    pool_size: Option<usize>,
) -> Option<(&'static str, &'static str)> {
    let pool = matches!(kind, Kind::Pool { .. });
    let supervises = pool || kind == Kind::Supervisor;
    if capacity.is_some() && !matches!(kind, Kind::Server | Kind::Pool { .. }) {
        return Some(("capacity", "only servers and pools have a mailbox"));
    }
    if pool_size.is_some() && !pool {
        return Some(("pool_size", "only pools have a size"));
    }
    if p.strategy.is_some() && kind != Kind::Supervisor {
        return Some(match pool {
            true => (
                "strategy",
                "a pool restarts its workers one for one: it takes no strategy",
            ),
            false => ("strategy", "only supervisors have a strategy"),
        });
    }
    if p.intensity.is_some() && !supervises {
        return Some((
            "intensity",
            "only pools and supervisors have a restart intensity",
        ));
    }
    if p.abandon_after.is_some() && !supervises {
        return Some((
            "abandon_after",
            "only pools and supervisors abandon children",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> DeclaredPaths {
        let d = |path: &str, kind| DeclaredPath {
            path: path.into(),
            kind,
            capacity: None,
        };
        let pool = Kind::Pool {
            size: 4,
            grace: None,
        };
        DeclaredPaths {
            root: "app".into(),
            children: vec![
                d("web", Kind::Server),
                d("db", Kind::Supervisor),
                d("db/reader", Kind::Server),
                d("db/writer", Kind::Thread),
                d("workers", pool),
                d("cache", Kind::Supervisor),
                d("cache/reader", Kind::Thread),
            ],
        }
    }

    fn resolved(text: &str) -> Result<Resolved, ConfigError> {
        let config = Config::parse(text, "app.toml").expect("parses");
        resolve(&config, &tree())
    }

    fn paths(text: &str) -> Vec<String> {
        let r = resolved(text).expect("resolves");
        r.children.into_iter().map(|s| s.path).collect()
    }

    #[test]
    fn a_name_only_one_child_has_names_it_wherever_it_is() {
        assert_eq!(
            paths("[servers.web]\n[servers.writer]\n"),
            ["web", "db/writer"]
        );
    }

    #[test]
    fn a_path_names_a_nested_child() {
        let r = resolved("[servers.\"db/reader\"]\nheartbeat = \"2s\"\n").expect("resolves");
        assert_eq!(r.children.len(), 1);
        let s = &r.children[0];
        assert_eq!((s.path.as_str(), s.kind), ("db/reader", Kind::Server));
        assert_eq!(s.policy.heartbeat, Some(Duration::from_secs(2)));
        assert_eq!(paths("[servers.\"cache/reader\"]\n"), ["cache/reader"]);
        assert_eq!(
            paths("[servers.db]\n[servers.workers]\n"),
            ["db", "workers"]
        );
    }

    #[test]
    fn an_ambiguous_name_is_an_error_naming_the_candidates() {
        let e = resolved("[servers.web]\n\n[servers.reader]\nrestart = \"transient\"\n")
            .expect_err("ambiguous");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(3), Some("servers.reader"))
        );
        assert!(e.message.contains("2 declared children"), "{e}");
        assert!(e.message.contains("[servers.\"db/reader\"]"), "{e}");
        assert!(e.message.contains("[servers.\"cache/reader\"]"), "{e}");
    }

    #[test]
    fn an_unknown_name_or_path_is_an_error_with_file_and_line() {
        let e = resolved("[servers.web]\n\n[servers.nobody]\n").expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "app.toml:3: servers.nobody: no server, pool, supervisor or thread of that name is declared"
        );
        let e = resolved("[servers.\"db/nobody\"]\n").expect_err("unknown");
        assert_eq!(e.key.as_deref(), Some("servers.\"db/nobody\""));
        assert!(e.message.contains("no child of that path"), "{e}");
        // A worker of a pool is not declared.
        assert!(resolved("[servers.\"workers/workers-0\"]\n").is_err());
    }

    #[test]
    fn the_first_error_in_the_file_is_the_one_reported() {
        let e = resolved("[servers.zeta]\n[servers.alpha]\n").expect_err("both unknown");
        assert_eq!(e.key.as_deref(), Some("servers.zeta"), "line 1 comes first");
    }

    #[test]
    fn two_tables_for_one_child_are_an_error() {
        let e = resolved("[servers.writer]\n[servers.\"db/writer\"]\n").expect_err("twice");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("app/db/writer"), "{e}");
    }

    #[test]
    fn keys_must_fit_the_kind_of_child() {
        let cases = [
            (
                "[servers.web]\npool_size = 2\n",
                "servers.web.pool_size",
                "only pools",
            ),
            (
                "[servers.writer]\ncapacity = 2\n",
                "servers.writer.capacity",
                "mailbox",
            ),
            (
                "[servers.db]\ncapacity = 2\n",
                "servers.db.capacity",
                "mailbox",
            ),
            (
                "[servers.web]\nintensity = { max_restarts = 1, period = \"1s\" }\n",
                "servers.web.intensity",
                "restart intensity",
            ),
            (
                "[servers.writer]\nabandon_after = \"1s\"\n",
                "servers.writer.abandon_after",
                "abandon",
            ),
            (
                "[servers.workers]\nstrategy = \"one_for_all\"\n",
                "servers.workers.strategy",
                "one for one",
            ),
            (
                "[servers.web]\nstrategy = \"one_for_all\"\n",
                "servers.web.strategy",
                "only supervisors",
            ),
            (
                "[supervisor]\nrestart = \"transient\"\n",
                "supervisor.restart",
                "no parent",
            ),
        ];
        for (text, key, says) in cases {
            let e = resolved(text).expect_err(text);
            assert_eq!(e.key.as_deref(), Some(key), "{text}");
            assert!(e.message.contains(says), "{text}: {e}");
        }
        let ok = "[servers.workers]\npool_size = 2\ncapacity = 8\nintensity = { max_restarts = 9, period = \"1s\" }\n\
                  [servers.db]\nstrategy = \"one_for_all\"\nrestart = \"transient\"\n\
                  [supervisor]\nstrategy = \"rest_for_one\"\n";
        let r = resolved(ok).expect("fits");
        assert_eq!(
            r.root.strategy,
            Some(threadbutler_supervisor::Strategy::RestForOne)
        );
        assert_eq!(r.children[0].capacity, Some(Capacity::Bounded(8)));
        assert_eq!(r.children[0].pool_size, Some(2));
    }
}
