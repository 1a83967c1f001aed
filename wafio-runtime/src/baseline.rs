//! Baselines: per binary, the children it starts, the files it changes and
//! the destinations it connects to. Learn mode records; enforce mode alerts on
//! what the baseline lacks (only for binaries the baseline knows).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Most entries per set per binary (further ones are not learned).
pub const MAX_ITEMS: usize = 4096;
/// Most binaries in a baseline.
pub const MAX_BINARIES: usize = 16_384;

/// What one binary was seen doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Executables it started (by path).
    pub children: BTreeSet<String>,
    /// Files it modified (paths).
    pub files: BTreeSet<String>,
    /// Destinations it connected to (`addr:port` / `[v6]:port`).
    pub destinations: BTreeSet<String>,
}

/// What a deviation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Facet {
    /// A child binary.
    Child,
    /// A file.
    File,
    /// A destination.
    Destination,
}

/// A baseline (JSON on disk).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Per binary path.
    pub binaries: BTreeMap<String, Profile>,
}

impl Baseline {
    /// Record an observation. Returns false when a limit stopped it.
    pub fn learn(&mut self, binary: &str, facet: Facet, item: &str) -> bool {
        if binary.is_empty() {
            return false;
        }
        if !self.binaries.contains_key(binary) && self.binaries.len() >= MAX_BINARIES {
            return false;
        }
        let p = self.binaries.entry(binary.to_string()).or_default();
        let set = match facet {
            Facet::Child => &mut p.children,
            Facet::File => &mut p.files,
            Facet::Destination => &mut p.destinations,
        };
        if set.len() >= MAX_ITEMS {
            return false;
        }
        set.insert(item.to_string());
        true
    }

    /// In enforce mode: is this observation a deviation? (Unknown binaries are not.)
    pub fn deviates(&self, binary: &str, facet: Facet, item: &str) -> bool {
        let Some(p) = self.binaries.get(binary) else {
            return false;
        };
        let set = match facet {
            Facet::Child => &p.children,
            Facet::File => &p.files,
            Facet::Destination => &p.destinations,
        };
        !set.contains(item)
    }

    /// Load from JSON text.
    pub fn from_json(text: &str) -> Result<Baseline, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Serialize to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learn_then_enforce() {
        let mut b = Baseline::default();
        assert!(b.learn("/usr/sbin/nginx", Facet::Child, "/usr/bin/logrotate"));
        assert!(b.learn("/usr/sbin/nginx", Facet::Destination, "10.0.0.5:8080"));
        let b = Baseline::from_json(&b.to_json()).unwrap();
        assert!(!b.deviates("/usr/sbin/nginx", Facet::Child, "/usr/bin/logrotate"));
        assert!(b.deviates("/usr/sbin/nginx", Facet::Child, "/bin/sh"));
        assert!(b.deviates("/usr/sbin/nginx", Facet::Destination, "1.2.3.4:443"));
        assert!(!b.deviates("/usr/bin/unknown", Facet::Child, "/bin/sh"));
    }

    #[test]
    fn limits_hold() {
        let mut b = Baseline::default();
        for i in 0..MAX_ITEMS + 10 {
            b.learn("/b", Facet::File, &format!("/f{i}"));
        }
        assert_eq!(b.binaries["/b"].files.len(), MAX_ITEMS);
        assert!(!b.learn("", Facet::File, "/x"));
    }
}
