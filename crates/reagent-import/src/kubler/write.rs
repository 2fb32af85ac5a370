//! Writing the project folder: the Kubler unit folders as build contexts, one
//! `images/<node>/Containerfile` per node, `graph.toml` and the report.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use super::error::ImportError;
use super::namespace::Namespace;
use super::plan::Plan;
use super::report::REPORT_FILE;

/// Refuse an output folder that exists and is not an empty folder.
pub fn check_output(out: &Path) -> Result<(), ImportError> {
    match fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(ImportError::OutputNotEmpty {
                    path: out.to_path_buf(),
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if out.exists() => Err(ImportError::OutputNotEmpty {
            path: out.to_path_buf(),
        }),
        Err(e) => Err(ImportError::Write {
            path: out.to_path_buf(),
            source: e,
        }),
    }
}

/// Write `plan` for namespace `ns` into `out` (which [`check_output`] accepted).
pub fn write(ns: &Namespace, plan: &Plan, out: &Path) -> Result<(), ImportError> {
    check_output(out)?;
    make_dir(out)?;
    for unit in &ns.units {
        let to = out.join("kubler").join(&unit.rel);
        make_dir(&to)?;
        for file in &unit.files {
            copy_tree(&ns.dir.join(&unit.rel).join(file), &to.join(file))?;
        }
    }
    if let Some(core) = &ns.core {
        let to = out.join("kubler/bob-core");
        make_dir(&to)?;
        for file in &core.files {
            copy_tree(&core.dir.join(file), &to.join(file))?;
        }
    }
    for node in &plan.nodes {
        let dir = out.join("images").join(&node.name);
        make_dir(&dir)?;
        write_file(&dir.join("Containerfile"), &node.containerfile)?;
    }
    write_file(&out.join("graph.toml"), &graph_toml(plan))?;
    write_file(&out.join(REPORT_FILE), &plan.report.to_markdown())?;
    Ok(())
}

/// `graph.toml` for `plan`.
pub fn graph_toml(plan: &Plan) -> String {
    let mut out = String::new();
    let ns = &plan.report.namespace;
    let _ = writeln!(
        out,
        "# Written by `reagent import kubler` from Kubler namespace `{}`.\n# IMPORT-REPORT.md says what became of every Kubler setting.\n",
        one_line(ns)
    );
    let _ = writeln!(out, "[project]\nname = {}\n", toml_str(ns));
    if let Some(tree) = &plan.snapshot {
        let _ = writeln!(
            out,
            "# The portage tree every builder mounts at /var/db/repos/gentoo.\n[snapshot]\npath = {}\n",
            toml_str(&tree.display().to_string())
        );
    }
    for node in &plan.nodes {
        let key = toml_key(&node.name);
        let _ = writeln!(
            out,
            "# {}: {}\n[image.{key}]",
            node.role.as_str(),
            one_line(&node.kubler_id)
        );
        let _ = writeln!(out, "context = {}", toml_str(&slash_path(&node.context)));
        if !node.tags.is_empty() {
            let tags: Vec<String> = node.tags.iter().map(|t| toml_str(t)).collect();
            let _ = writeln!(out, "tags = [{}]", tags.join(", "));
        }
        if let Some(why) = &node.docker {
            let _ = writeln!(out, "format = \"docker\"  # {}", one_line(why));
        }
        if !node.args.is_empty() {
            let _ = writeln!(out, "\n[image.{key}.args]");
            for (name, value) in &node.args {
                let _ = writeln!(out, "{} = {}", toml_key(name), toml_str(value));
            }
        }
        out.push('\n');
    }
    out
}

/// A relative path with `/` separators.
fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Text for a comment: one line.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// A TOML key: bare when it can be, else a quoted string.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        toml_str(key)
    }
}

/// A TOML basic string.
fn toml_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn make_dir(dir: &Path) -> Result<(), ImportError> {
    fs::create_dir_all(dir).map_err(|e| ImportError::Write {
        path: dir.to_path_buf(),
        source: e,
    })
}

fn write_file(path: &Path, text: &str) -> Result<(), ImportError> {
    fs::write(path, text).map_err(|e| ImportError::Write {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Copy a file, a symlink (as a symlink) or a folder with everything in it.
fn copy_tree(from: &Path, to: &Path) -> Result<(), ImportError> {
    let read = |e: std::io::Error| ImportError::Read {
        path: from.to_path_buf(),
        source: e,
    };
    let write = |e: std::io::Error| ImportError::Write {
        path: to.to_path_buf(),
        source: e,
    };
    let meta = fs::symlink_metadata(from).map_err(read)?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = fs::read_link(from).map_err(read)?;
        std::os::unix::fs::symlink(target, to).map_err(write)
    } else if kind.is_dir() {
        make_dir(to)?;
        let mut names: Vec<PathBuf> = Vec::new();
        for entry in fs::read_dir(from).map_err(read)? {
            names.push(PathBuf::from(entry.map_err(read)?.file_name()));
        }
        names.sort();
        for name in names {
            copy_tree(&from.join(&name), &to.join(&name))?;
        }
        Ok(())
    } else if kind.is_file() {
        fs::copy(from, to).map(drop).map_err(write)
    } else {
        Err(read(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "neither a file, a folder nor a symlink",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_and_keys_are_escaped() {
        assert_eq!(toml_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        assert_eq!(toml_key("bob-musl_1"), "bob-musl_1");
        assert_eq!(toml_key("a.b"), "\"a.b\"");
    }

    #[test]
    fn an_existing_folder_must_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_output(&dir.path().join("new")).is_ok());
        assert!(check_output(dir.path()).is_ok());
        fs::write(dir.path().join("x"), "").unwrap();
        assert!(matches!(
            check_output(dir.path()),
            Err(ImportError::OutputNotEmpty { .. })
        ));
        assert!(matches!(
            check_output(&dir.path().join("x")),
            Err(ImportError::OutputNotEmpty { .. })
        ));
    }

    #[test]
    fn trees_are_copied_with_links_and_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        fs::create_dir_all(from.join("etc/service/run")).unwrap();
        fs::write(from.join("etc/service/run/run"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(
            from.join("etc/service/run/run"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("service", from.join("etc/link")).unwrap();
        copy_tree(&from, &dir.path().join("to")).unwrap();
        let to = dir.path().join("to");
        let mode = fs::metadata(to.join("etc/service/run/run"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
        assert_eq!(
            fs::read_link(to.join("etc/link")).unwrap(),
            Path::new("service")
        );
    }
}
