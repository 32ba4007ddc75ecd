//! Issue 23, packaging: the node configuration file (`--node-config`), `registry-node
//! check-config` on good and broken configurations, the shipped `packaging/node.toml`
//! naming every option of `serve`, and the systemd unit checked by `systemd-analyze`.

use std::path::Path;
use std::process::Command;

use federation_tests::cli::{example_request, registry_node, said};
use federation_tests::{Federation, Node, binary, workspace_root};

fn path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The long options of `registry-node serve`, from its `--help`.
fn serve_options() -> Vec<String> {
    let help = registry_node(&["serve", "--help"]);
    assert!(help.status.success(), "{}", said(&help));
    let mut options: Vec<String> = String::from_utf8_lossy(&help.stdout)
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("-h, ").unwrap_or(line);
            let option = line.strip_prefix("--")?;
            Some(option.split([' ', '=', '<']).next()?.to_owned())
        })
        .filter(|option| !["help", "node-config"].contains(&option.as_str()))
        .collect();
    options.dedup();
    options
}

#[test]
fn the_shipped_node_configuration_names_every_option_and_checks() {
    let shipped = workspace_root().join("packaging/node.toml");
    let file = std::fs::read_to_string(&shipped).expect("packaging/node.toml");
    let keys: Vec<String> = file
        .lines()
        .filter_map(|line| {
            let line = line.trim_start_matches('#').trim_start();
            let (key, _) = line.split_once(" = ")?;
            (!key.contains(' ')).then(|| key.replace('_', "-"))
        })
        .collect();
    let options = serve_options();
    assert!(options.len() > 15, "{options:?}");
    for option in &options {
        assert!(
            keys.contains(option),
            "packaging/node.toml does not name --{option}"
        );
    }
    for key in &keys {
        assert!(
            options.contains(key),
            "packaging/node.toml names {key}, which serve has not"
        );
    }

    // The shipped file, with its paths pointed at a temporary directory, passes.
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = dir.path().join("node.toml");
    std::fs::write(&config, &file).expect("write");
    let output = registry_node(&[
        "check-config",
        "--node-config",
        &path(&config),
        "--data",
        &path(&data),
    ]);
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        said(&output).contains("configuration ok"),
        "{}",
        said(&output)
    );
    assert!(!data.exists(), "check-config created the data directory");
}

#[test]
fn check_config_refuses_what_serve_would_refuse() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("federation");
    let config = path(&federation.config);
    let dev_keys = workspace_root().join("federation-config/chengdu-chongqing/dev-keys");
    let data = dir.path().join("cd-hz");

    // A member before its first start, with its keys to copy: fine.
    let good = registry_node(&[
        "check-config",
        "--config",
        &config,
        "--member",
        "cd-hz",
        "--data",
        &path(&data),
        "--keys-from",
        &path(&dev_keys.join("cd-hz")),
    ]);
    assert!(good.status.success(), "{}", said(&good));
    assert!(said(&good).contains("member: cd-hz"), "{}", said(&good));

    // Another member's keys in the data directory: refused, naming the file.
    let keys = data.join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    for file in ["authority.key", "log.key", "witness.key"] {
        let target = keys.join(file);
        std::fs::copy(dev_keys.join("cq-sc").join(file), &target).expect("copy");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).expect("mode");
    }
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--config",
                &config,
                "--member",
                "cd-hz",
                "--data",
                &path(&data),
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            "key",
        ),
        (
            vec![
                "--config",
                &config,
                "--member",
                "xx-nobody",
                "--data",
                &path(&data),
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            "xx-nobody",
        ),
        (
            vec![
                "--config",
                &config,
                "--member",
                "cd-hz",
                "--public-url",
                "https://cd-hz.elsewhere.example",
                "--data",
                &path(&data),
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            "is not the member's endpoint",
        ),
        (
            vec!["--public-url", "ftp://example", "--data", &path(&data)]
                .into_iter()
                .map(String::from)
                .collect(),
            "--public-url",
        ),
        (
            vec![
                "--tls-cert".to_owned(),
                "/etc/hostname".to_owned(),
                "--tls-key".to_owned(),
                "/etc/hostname".to_owned(),
            ],
            "/etc/hostname",
        ),
        (
            vec!["--max-connections".to_owned(), "0".to_owned()],
            "connection limit",
        ),
    ];
    for (args, says) in cases {
        let mut line = vec!["check-config"];
        line.extend(args.iter().map(String::as_str));
        let output = registry_node(&line);
        assert_eq!(output.status.code(), Some(2), "{line:?}: {}", said(&output));
        assert!(said(&output).contains(says), "{line:?}: {}", said(&output));
    }

    // A file setting an option serve has not, or a value of the wrong kind.
    for (contents, says) in [
        ("max_conections = 10\n", "max_conections"),
        ("open_issuer = \"yes\"\n", "open_issuer"),
    ] {
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, contents).expect("write");
        for command in ["check-config", "serve"] {
            let output = registry_node(&[command, "--node-config", &path(&file)]);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{contents}: {}",
                said(&output)
            );
            assert!(said(&output).contains(says), "{}", said(&output));
        }
    }
}

#[test]
fn serve_reads_the_file_and_the_command_line_wins() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("node.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:0\"\nopen_issuer = true\npublic_url = \"http://file.example\"\n",
    )
    .expect("write");
    let node = Node::start_with(
        &dir.path().join("node"),
        &[
            "--node-config",
            &path(&file),
            "--public-url",
            "http://command-line.example",
        ],
    )
    .expect("node starts");
    let member = node.member();
    assert!(
        member["openIssuer"].is_string(),
        "open_issuer from the file: {member}"
    );
    let credential = node.issue(&example_request("ProfessionalTitleCredential"));
    let list = credential["credentialStatus"][0]["statusListCredential"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        list.starts_with("http://command-line.example/"),
        "the command line's public URL wins: {credential}"
    );
    node.stop().expect("stops");
}

#[test]
fn the_systemd_unit_verifies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = std::fs::read_to_string(workspace_root().join("packaging/talent-registry.service"))
        .expect("unit");
    // The unit names the installed binary; point it at the one built here.
    let unit = unit.replace(
        "/usr/local/bin/registry-node",
        &path(&binary("registry-node")),
    );
    let file = dir.path().join("talent-registry.service");
    std::fs::write(&file, unit).expect("write");
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .expect("systemd-analyze runs (scripts/setup.sh installs systemd)");
    let said = said(&output);
    assert!(output.status.success(), "{said}");
    // Warnings about this unit (an unknown directive, a bad value) are failures too;
    // warnings about the host's own units are not ours.
    for line in said.lines() {
        assert!(!line.contains("talent-registry.service"), "{said}");
    }
}
