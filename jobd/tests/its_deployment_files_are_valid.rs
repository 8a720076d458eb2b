//! jobd's deployment files (jobd/deploy/; issue #12 point 7) hold what a
//! service manager needs, and the tools that exist on this machine accept
//! them: `systemd-analyze verify` for the unit, `kubectl` (without a
//! cluster: it decodes the manifest; the fields are checked here against
//! the ones a Deployment has) for the manifest, `jobd --check` for every
//! config file they carry. A missing tool is said on stderr, not faked.

use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::jobd::Scratch;
use serde_json::Value;

const JOBD: &str = env!("CARGO_BIN_EXE_jobd");
const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");
/// The tree's shutdown deadline in jobd's code (daemon.rs).
const SHUTDOWN_DEADLINE_S: u64 = 60;

fn deploy(name: &str) -> PathBuf {
    Path::new(DEPLOY).join(name)
}

fn has(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

fn check_config(path: &Path) {
    let out = Command::new(JOBD)
        .args(["--check", "--config"])
        .arg(path)
        .output()
        .expect("jobd runs");
    assert!(
        out.status.success(),
        "{} is a valid jobd config: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The values of `key` in the unit file's text.
fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_systemd_unit_is_a_notify_service_with_a_watchdog_and_verifies() {
    let unit = std::fs::read_to_string(deploy("jobd.service")).expect("the unit");
    assert_eq!(unit_values(&unit, "Type"), ["notify"]);
    assert_eq!(unit_values(&unit, "WatchdogSec").len(), 1, "a watchdog");
    assert!(unit_values(&unit, "ExecReload")[0].contains("-HUP"));
    let prevent = unit_values(&unit, "RestartPreventExitStatus");
    assert!(
        prevent[0].split_whitespace().any(|c| c == "78"),
        "a bad config is not restarted in a loop: {prevent:?}"
    );
    let stop =
        humantime::parse_duration(unit_values(&unit, "TimeoutStopSec")[0]).expect("a duration");
    assert!(
        stop.as_secs() > SHUTDOWN_DEADLINE_S,
        "systemd waits longer than jobd's shutdown deadline: {stop:?}"
    );
    let exec = unit_values(&unit, "ExecStart")[0];
    let config = exec
        .split("--config ")
        .nth(1)
        .expect("ExecStart names its config");
    assert_eq!(config, "/etc/jobd/jobd.toml");
    check_config(&deploy("jobd.toml"));

    if !has("systemd-analyze") {
        eprintln!("systemd-analyze is not installed: the unit was checked by key only");
        return;
    }
    // `verify` wants ExecStart's binary to exist: the one just built.
    let scratch = Scratch::new("unit");
    let copy = scratch.join("jobd.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/jobd", JOBD)).expect("copy written");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    assert!(
        said.trim().is_empty(),
        "no warning (an unknown key is one): {said}"
    );
}

/// The keys a Deployment, its pod and its container may have where this
/// manifest uses them (a misspelt key would be ignored by a lenient
/// decoder; here it fails).
const KNOWN: &[(&str, &[&str])] = &[
    ("", &["apiVersion", "kind", "metadata", "spec", "data"]),
    (
        "spec",
        &[
            "replicas",
            "strategy",
            "selector",
            "template",
            "accessModes",
            "resources",
        ],
    ),
    (
        "spec.template.spec",
        &[
            "terminationGracePeriodSeconds",
            "securityContext",
            "containers",
            "volumes",
        ],
    ),
    (
        "spec.template.spec.containers",
        &[
            "name",
            "image",
            "args",
            "livenessProbe",
            "readinessProbe",
            "resources",
            "securityContext",
            "volumeMounts",
        ],
    ),
    (
        "probe",
        &[
            "exec",
            "initialDelaySeconds",
            "periodSeconds",
            "timeoutSeconds",
            "failureThreshold",
        ],
    ),
];

fn known(at: &str) -> &'static [&'static str] {
    KNOWN.iter().find(|(p, _)| *p == at).map_or(&[], |(_, k)| k)
}

fn keys_known(value: &Value, at: &str, what: &str) {
    let Some(map) = value.as_object() else { return };
    for key in map.keys() {
        assert!(
            known(at).contains(&key.as_str()),
            "{what}: unknown key {at}.{key}"
        );
    }
}

#[test]
fn the_kubernetes_manifest_probes_jobd_and_outwaits_its_drain() {
    let manifest = deploy("kubernetes.yaml");
    if !has("kubectl") {
        eprintln!("kubectl is not installed: the manifest was not checked");
        return;
    }
    // Decoded by kubectl itself, locally: YAML errors and objects without
    // a kind fail here.
    let out = Command::new("kubectl")
        .args(["label", "--local", "-o", "json", "checked=yes", "-f"])
        .arg(&manifest)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects: Vec<Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("kubectl prints JSON objects");
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(kinds, ["ConfigMap", "PersistentVolumeClaim", "Deployment"]);
    for o in &objects {
        keys_known(o, "", "an object");
    }

    let config = &objects[0]["data"]["jobd.toml"];
    let scratch = Scratch::new("k8s");
    let path = scratch.file("jobd.toml", config.as_str().expect("the config's text"));
    check_config(&path);

    let deployment = &objects[2];
    keys_known(&deployment["spec"], "spec", "the Deployment");
    assert_eq!(
        deployment["spec"]["strategy"]["type"], "Recreate",
        "never two pods on one volume"
    );
    let pod = &deployment["spec"]["template"]["spec"];
    keys_known(pod, "spec.template.spec", "the pod");
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("a grace period");
    assert!(
        grace > SHUTDOWN_DEADLINE_S,
        "the kubelet outwaits jobd's drain: {grace}"
    );
    let container = &pod["containers"][0];
    keys_known(container, "spec.template.spec.containers", "the container");
    for (probe, flag) in [("livenessProbe", "--live"), ("readinessProbe", "--ready")] {
        keys_known(&container[probe], "probe", probe);
        let command: Vec<&str> = container[probe]["exec"]["command"]
            .as_array()
            .expect("an exec probe")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            &command[..3],
            ["jobd", "health", flag],
            "{probe}: {command:?}"
        );
    }
}
