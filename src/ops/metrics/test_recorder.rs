//! A recorder for the unit tests of this folder: what each metric holds,
//! by `name{label=value,...}` (labels sorted by key), and what was
//! described. Ours rather than `metrics-util`'s debugging recorder, which
//! would make every build of the examples and tests compile its
//! dependencies too (the integration tests use that one).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// What one metric holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen {
    /// A counter's value.
    Counter(u64),
    /// A gauge's value.
    Gauge(f64),
}

#[derive(Default)]
struct Store {
    values: BTreeMap<String, Seen>,
    described: Vec<(String, Option<Unit>, String)>,
}

/// See the module docs. Install it with `metrics::with_local_recorder`.
#[derive(Default, Clone)]
pub(crate) struct TestRecorder {
    store: Arc<Mutex<Store>>,
}

impl TestRecorder {
    /// Every metric and its value, sorted by name and labels.
    pub(crate) fn figures(&self) -> Vec<(String, Seen)> {
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every description: the metric's name, its unit, its help text.
    pub(crate) fn described(&self) -> Vec<(String, Option<Unit>, String)> {
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.described.clone()
    }

    fn cell(&self, key: &Key, initial: Seen) -> Arc<Cell> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values
            .entry(name.clone())
            .or_insert(initial);
        Arc::new(Cell {
            name,
            store: Arc::clone(&self.store),
        })
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .described
            .push((key.as_str().to_owned(), unit, help.to_string()));
    }
}

/// One registered metric.
struct Cell {
    name: String,
    store: Arc<Mutex<Store>>,
}

impl Cell {
    fn update(&self, f: impl FnOnce(&mut Seen)) {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = store.values.get_mut(&self.name) {
            f(v);
        }
    }
}

impl CounterFn for Cell {
    fn increment(&self, n: u64) {
        self.update(|v| {
            if let Seen::Counter(c) = v {
                *c += n;
            }
        });
    }

    fn absolute(&self, n: u64) {
        // As the facade says: a counter never goes back.
        self.update(|v| {
            if let Seen::Counter(c) = v {
                *c = (*c).max(n);
            }
        });
    }
}

impl GaugeFn for Cell {
    fn increment(&self, x: f64) {
        self.update(|v| {
            if let Seen::Gauge(g) = v {
                *g += x;
            }
        });
    }

    fn decrement(&self, x: f64) {
        self.update(|v| {
            if let Seen::Gauge(g) = v {
                *g -= x;
            }
        });
    }

    fn set(&self, x: f64) {
        self.update(|v| {
            if let Seen::Gauge(g) = v {
                *g = x;
            }
        });
    }
}

impl HistogramFn for Cell {
    fn record(&self, _: f64) {}
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.describe(key, unit, help);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.describe(key, unit, help);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.describe(key, unit, help);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key, Seen::Counter(0)))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key, Seen::Gauge(0.0)))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Cell {
            name: String::new(),
            store: Arc::clone(&self.store),
        }))
    }
}
