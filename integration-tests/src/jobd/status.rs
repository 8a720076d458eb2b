//! Reading jobd's `status` answer.

/// The node at `path` (e.g. `"jobd/workers"`) in the `tree` of a
/// `status` answer, searched depth first.
pub fn status_node<'a>(status: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    fn find<'a>(node: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
        if node.get("path").and_then(|p| p.as_str()) == Some(path) {
            return Some(node);
        }
        node.get("children")?
            .as_array()?
            .iter()
            .find_map(|c| find(c, path))
    }
    find(status.get("tree")?, path)
}

/// The states (`running`, `restarting`, ...) of the pool's workers in a
/// `status` answer, in order.
pub fn worker_states(status: &serde_json::Value) -> Vec<String> {
    let pool = status_node(status, "jobd/workers")
        .unwrap_or_else(|| panic!("no jobd/workers in the status: {status}"));
    pool["children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| w["state"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The job count `key` (`accepted`, `queued`, `running`, `ok`, ...) of a
/// `status` answer.
pub fn job_count(status: &serde_json::Value, key: &str) -> u64 {
    status
        .get("jobs")
        .and_then(|j| j.get(key))
        .and_then(|v| v.as_u64())
        .unwrap_or_else(|| panic!("no jobs.{key} count in the status: {status}"))
}
