//! Calling the plugins as the CNI spec says: the CNI_* variables of one call, the
//! configuration a plugin of a list gets (with the runtime arguments and the previous result),
//! ADD and DEL of a whole list, and running one plugin binary.

use super::*;

/// The CNI_* variables of one plugin call.
pub(crate) struct Call<'a> {
    command: &'static str,
    id: &'a str,
    netns: &'a Path,
    ifname: &'a str,
}

pub(crate) fn call<'a>(
    command: &'static str,
    id: &'a str,
    netns: &'a Path,
    ifname: &'a str,
) -> Call<'a> {
    Call {
        command,
        id,
        netns,
        ifname,
    }
}

/// One plugin's configuration inside a list: the list's name and version, `prevResult`, and
/// the runtime arguments of the capabilities it declares, as `runtimeConfig` (CNI CONVENTIONS).
fn plugin_config(list: &Value, plugin: &Value, runtime: &Value, previous: Option<&Value>) -> Value {
    let mut config = plugin.clone();
    config["cniVersion"] = list["cniVersion"].clone();
    config["name"] = list["name"].clone();
    if let Some(capabilities) = plugin["capabilities"].as_object() {
        for (capability, wanted) in capabilities {
            if wanted.as_bool() == Some(true) && !runtime[capability].is_null() {
                config["runtimeConfig"][capability] = runtime[capability].clone();
            }
        }
    }
    if let Some(previous) = previous {
        config["prevResult"] = previous.clone();
    }
    config
}

/// ADD of a network list, in order; the last plugin's result is the list's.
pub(crate) fn add_list(list: &Value, runtime: &Value, id: &str, netns: &Path) -> Result<Value> {
    let mut result: Option<Value> = None;
    for plugin in list["plugins"].as_array().into_iter().flatten() {
        let config = plugin_config(list, plugin, runtime, result.as_ref());
        result = Some(run_plugin(&config, &call("ADD", id, netns, IFNAME))?);
    }
    result.context("the network list has no plugins")
}

/// DEL of a network list, in reverse order, each plugin with the cached result. Every plugin
/// is called even if one fails; the first failure is returned.
pub(crate) fn del_list(
    list: &Value,
    runtime: &Value,
    id: &str,
    netns: &Path,
    cached: Option<&Value>,
) -> Result<()> {
    let mut first_error = None;
    for plugin in list["plugins"].as_array().into_iter().flatten().rev() {
        let config = plugin_config(list, plugin, runtime, cached);
        if let Err(e) = run_plugin(&config, &call("DEL", id, netns, IFNAME)) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Runs the plugin named by the configuration's `type`, with the configuration on stdin;
/// returns its result (`null` for DEL, which prints nothing).
pub(crate) fn run_plugin(config: &Value, call: &Call) -> Result<Value> {
    let kind = config["type"]
        .as_str()
        .context("a plugin configuration without \"type\"")?;
    let binary = Path::new(PLUGIN_DIR).join(kind);
    if !binary.is_file() {
        bail!(
            "the CNI plugin {} is missing: install containernetworking-plugins \
             (scripts/install-deps)",
            binary.display()
        );
    }
    let mut child = Command::new(&binary)
        .env("CNI_COMMAND", call.command)
        .env("CNI_CONTAINERID", call.id)
        .env("CNI_NETNS", call.netns)
        .env("CNI_IFNAME", call.ifname)
        .env("CNI_PATH", PLUGIN_DIR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let mut stdin = child.stdin.take().context("the plugin's stdin")?;
    stdin
        .write_all(config.to_string().as_bytes())
        .context("writing the network configuration")?;
    drop(stdin);
    let output = child
        .wait_with_output()
        .with_context(|| format!("waiting for {}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // The spec's error result: {"code": N, "msg": "...", "details": "..."}.
        let error: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        bail!(
            "CNI {} of plugin {kind} failed ({}): {} {} {}",
            call.command,
            output.status,
            error["msg"].as_str().unwrap_or(stdout.trim()),
            error["details"].as_str().unwrap_or(""),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    if stdout.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&stdout)
        .with_context(|| format!("{kind} gave a result that is not JSON: {}", stdout.trim()))
}
