//! The node configuration file (`serve --node-config FILE`, `check-config --node-config
//! FILE`): a TOML file of `option = value` lines, one per option of `serve`.
//!
//! The file is turned into command-line options placed before those typed on the command
//! line, and clap parses both as one command line (the `serve` command lets a later option
//! override an earlier one). So the file's keys, their meaning, defaults and checks are the
//! options of `registry-node serve --help`, with no second list to keep in step, and an
//! option given on the command line wins over the file.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

use anyhow::Context;

/// A node configuration file is a page of settings; a larger one is not one.
const MAX_FILE: u64 = 256 * 1024;

/// The commands whose options a node configuration file may set.
const COMMANDS: [&str; 2] = ["serve", "check-config"];

/// `arguments` (the process's, program name first) with the options of the node
/// configuration file that a `serve` or `check-config` command line names inserted right
/// after the command's name; any other command line unchanged.
///
/// # Errors
/// The file cannot be read, is not TOML, or sets an option `serve` does not have, or a
/// value of the wrong kind.
pub fn expand(arguments: Vec<OsString>, cli: &clap::Command) -> anyhow::Result<Vec<OsString>> {
    let Some(position) = arguments
        .iter()
        .position(|argument| COMMANDS.iter().any(|command| argument == command))
    else {
        return Ok(arguments);
    };
    // Only the command itself, not an option's value that happens to read "serve".
    if arguments[1..position]
        .iter()
        .any(|argument| !argument.to_string_lossy().starts_with('-'))
    {
        return Ok(arguments);
    }
    let Some(file) = named_file(&arguments[position + 1..]) else {
        return Ok(arguments);
    };
    let serve = cli
        .find_subcommand("serve")
        .context("registry-node has no serve command")?;
    let options = options_of(Path::new(&file), serve)?;
    let mut expanded = arguments[..=position].to_vec();
    expanded.extend(options);
    expanded.extend_from_slice(&arguments[position + 1..]);
    Ok(expanded)
}

/// The value of `--node-config` among `arguments`, if given.
fn named_file(arguments: &[OsString]) -> Option<OsString> {
    let mut arguments = arguments.iter();
    while let Some(argument) = arguments.next() {
        if argument == "--node-config" {
            return arguments.next().cloned();
        }
        if let Some(value) = argument
            .to_str()
            .and_then(|text| text.strip_prefix("--node-config="))
        {
            return Some(value.into());
        }
        if argument == "--" {
            break;
        }
    }
    None
}

/// The command-line options the file at `path` sets, checked against `serve`'s options.
fn options_of(path: &Path, serve: &clap::Command) -> anyhow::Result<Vec<OsString>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("reading the node configuration {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_FILE + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading the node configuration {}", path.display()))?;
    anyhow::ensure!(
        text.len() as u64 <= MAX_FILE,
        "the node configuration {} is larger than {MAX_FILE} bytes",
        path.display()
    );
    let table: toml::Table = toml::from_str(&text)
        .with_context(|| format!("the node configuration {} is not TOML", path.display()))?;
    let mut options = Vec::new();
    for (key, value) in &table {
        let name = key.replace('_', "-");
        let unknown = || {
            anyhow::anyhow!(
                "{}: `{key}` is not an option of registry-node serve (see registry-node serve --help)",
                path.display()
            )
        };
        if name == "node-config" {
            return Err(unknown());
        }
        let argument = serve
            .get_arguments()
            .find(|argument| argument.get_long() == Some(name.as_str()))
            .ok_or_else(unknown)?;
        let flag = format!("--{name}");
        let takes_value = argument.get_action().takes_values();
        let wrong = |expected: &str| {
            anyhow::anyhow!(
                "{}: `{key}` must be {expected}, not {}",
                path.display(),
                value.type_str()
            )
        };
        match value {
            toml::Value::Boolean(set) if !takes_value => {
                if *set {
                    options.push(flag.into());
                }
            }
            _ if !takes_value => return Err(wrong("true or false")),
            toml::Value::String(text) => {
                options.push(flag.into());
                options.push(text.into());
            }
            toml::Value::Integer(number) => {
                options.push(flag.into());
                options.push(number.to_string().into());
            }
            _ => return Err(wrong("a string or an integer")),
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve() -> clap::Command {
        clap::Command::new("registry-node").subcommand(
            clap::Command::new("serve")
                .args_override_self(true)
                .arg(clap::Arg::new("node-config").long("node-config"))
                .arg(clap::Arg::new("max-connections").long("max-connections"))
                .arg(clap::Arg::new("data").long("data"))
                .arg(
                    clap::Arg::new("open-issuer")
                        .long("open-issuer")
                        .action(clap::ArgAction::SetTrue),
                ),
        )
    }

    fn written(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("node.toml");
        std::fs::write(&path, text).expect("write");
        let path = path.to_string_lossy().into_owned();
        (dir, path)
    }

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_file_comes_first_so_the_command_line_wins() {
        let (_dir, path) =
            written("max_connections = 100\ndata = \"/var/lib/x\"\nopen_issuer = true\n");
        let expanded = expand(
            args(&[
                "registry-node",
                "serve",
                "--node-config",
                &path,
                "--data",
                "/tmp/y",
            ]),
            &serve(),
        )
        .expect("expands");
        let matches = serve()
            .try_get_matches_from(&expanded)
            .expect("clap parses");
        let serve = matches.subcommand_matches("serve").expect("serve");
        assert_eq!(
            serve
                .get_one::<String>("max-connections")
                .map(String::as_str),
            Some("100")
        );
        assert_eq!(
            serve.get_one::<String>("data").map(String::as_str),
            Some("/tmp/y")
        );
        assert!(serve.get_flag("open-issuer"));
    }

    #[test]
    fn unknown_options_and_wrong_kinds_are_refused_by_name() {
        for (text, says) in [
            ("max_conections = 1\n", "`max_conections` is not an option"),
            ("node_config = \"x\"\n", "`node_config` is not an option"),
            (
                "open_issuer = \"yes\"\n",
                "`open_issuer` must be true or false",
            ),
            (
                "max_connections = 1.5\n",
                "`max_connections` must be a string",
            ),
            ("data = [1]\n", "`data` must be a string"),
            ("max_connections = \n", "is not TOML"),
        ] {
            let (_dir, path) = written(text);
            let error = expand(
                args(&["registry-node", "serve", "--node-config", &path]),
                &serve(),
            )
            .expect_err(text);
            assert!(format!("{error:#}").contains(says), "{text}: {error:#}");
        }
    }

    #[test]
    fn other_commands_and_lines_without_a_file_are_unchanged() {
        let line = args(&["registry-node", "token", "list", "--data", "serve"]);
        assert_eq!(expand(line.clone(), &serve()).expect("unchanged"), line);
        let line = args(&["registry-node", "serve", "--data", "/x"]);
        assert_eq!(expand(line.clone(), &serve()).expect("unchanged"), line);
        let error = expand(
            args(&["registry-node", "serve", "--node-config=/nonexistent.toml"]),
            &serve(),
        )
        .expect_err("missing file");
        assert!(format!("{error:#}").contains("/nonexistent.toml"));
    }
}
