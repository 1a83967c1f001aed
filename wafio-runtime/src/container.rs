//! Container attribution from a cgroup v2 path.
//!
//! Recognised layouts (cgroupfs and systemd drivers):
//! `docker-<id>.scope`, `/docker/<id>`, `cri-containerd-<id>.scope`,
//! `crio-<id>.scope`, `/crio/<id>`, `libpod-<id>.scope`, `/libpod_parent/...`,
//! and Kubernetes `kubepods…pod<uid>…` ancestors (uid with `_` or `-`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Container runtime inferred from the cgroup path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Docker (moby).
    Docker,
    /// containerd (CRI plugin).
    Containerd,
    /// CRI-O.
    CriO,
    /// Podman (libpod).
    Podman,
    /// A container id under a Kubernetes pod whose runtime is not named.
    Unknown,
}

/// A container a process runs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    /// Runtime.
    pub runtime: Runtime,
    /// Container id (64 hex digits).
    pub id: String,
    /// Kubernetes pod uid (dashed form), if under a pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn pod_uid(component: &str) -> Option<String> {
    let i = component.rfind("pod")?;
    let rest = component[i + 3..].trim_end_matches(".slice");
    let uid: String = rest
        .chars()
        .map(|c| if c == '_' { '-' } else { c })
        .collect();
    let ok = uid.len() == 36
        && uid.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    ok.then_some(uid)
}

/// Attribute a cgroup path (as in `/proc/<pid>/cgroup`) to a container.
pub fn attribute(cgroup_path: &str) -> Option<Container> {
    let comps: Vec<&str> = cgroup_path.split('/').filter(|c| !c.is_empty()).collect();
    let pod = comps.iter().find_map(|c| pod_uid(c));
    for (i, comp) in comps.iter().enumerate().rev() {
        let c = comp.trim_end_matches(".scope");
        let prefixed = [
            ("docker-", Runtime::Docker),
            ("cri-containerd-", Runtime::Containerd),
            ("crio-", Runtime::CriO),
            ("libpod-", Runtime::Podman),
        ];
        for (p, rt) in prefixed {
            if let Some(id) = c.strip_prefix(p) {
                if is_hex64(id) {
                    return Some(Container {
                        runtime: rt,
                        id: id.to_string(),
                        pod_uid: pod,
                    });
                }
            }
        }
        if is_hex64(c) {
            let parent = if i > 0 { comps[i - 1] } else { "" };
            let runtime = match parent {
                "docker" => Runtime::Docker,
                "crio" => Runtime::CriO,
                "containerd" => Runtime::Containerd,
                p if p.starts_with("libpod") => Runtime::Podman,
                _ => Runtime::Unknown,
            };
            return Some(Container {
                runtime,
                id: c.to_string(),
                pod_uid: pod,
            });
        }
    }
    None
}

/// Maps cgroup ids (the inode numbers of cgroup v2 directories, as reported
/// in event headers) to their paths, by walking the cgroup2 mount on a miss.
/// The walk is bounded: at most [`CgroupResolver::MAX_DIRS`] directories.
#[derive(Debug, Default)]
pub struct CgroupResolver {
    root: Option<PathBuf>,
    cache: HashMap<u64, String>,
}

impl CgroupResolver {
    /// Directories visited per rescan at most.
    pub const MAX_DIRS: usize = 100_000;

    /// A resolver over the cgroup2 hierarchy mounted at `root`.
    pub fn new(root: Option<PathBuf>) -> Self {
        CgroupResolver {
            root,
            cache: HashMap::new(),
        }
    }

    /// The cgroup path (relative to the cgroup2 root, starting with `/`) of an id.
    pub fn path(&mut self, id: u64) -> Option<String> {
        if let Some(p) = self.cache.get(&id) {
            return Some(p.clone());
        }
        self.rescan();
        self.cache.get(&id).cloned()
    }

    fn rescan(&mut self) {
        use std::os::unix::fs::MetadataExt;
        let Some(root) = self.root.clone() else {
            return;
        };
        self.cache.clear();
        let mut stack = vec![root.clone()];
        let mut n = 0;
        while let Some(dir) = stack.pop() {
            n += 1;
            if n > Self::MAX_DIRS {
                break;
            }
            if let Ok(md) = std::fs::metadata(&dir) {
                let rel = dir.strip_prefix(&root).unwrap_or(Path::new(""));
                self.cache.insert(md.ino(), format!("/{}", rel.display()));
            }
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for e in rd.flatten() {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        stack.push(e.path());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f1c3a9b2d7e8f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";

    #[test]
    fn attributes_runtimes_from_testdata() {
        let cases = include_str!("../testdata/cgroup_paths.txt");
        let mut n = 0;
        for line in cases
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let f: Vec<&str> = line.split_whitespace().collect();
            let got = attribute(f[0]);
            match f[1] {
                "none" => assert_eq!(got, None, "{line}"),
                rt => {
                    let c = got.unwrap_or_else(|| panic!("no container: {line}"));
                    assert_eq!(serde_json::to_value(c.runtime).unwrap(), rt, "{line}");
                    assert_eq!(c.id, f[2], "{line}");
                    assert_eq!(c.pod_uid.as_deref(), f.get(3).copied(), "{line}");
                }
            }
            n += 1;
        }
        assert!(n >= 8);
    }

    #[test]
    fn rejects_short_or_non_hex_ids() {
        assert_eq!(attribute("/system.slice/docker-abc.scope"), None);
        assert_eq!(attribute(&format!("/docker/{}", &ID[..63])), None);
        assert_eq!(attribute(&format!("/docker-{}z.scope", &ID[..63])), None);
    }
}
