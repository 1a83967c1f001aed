//! SHA-256 of executed binaries, cached by (device, inode, size, mtime).

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};

/// Files larger than this are not hashed (reported as `None`).
pub const MAX_HASH_BYTES: u64 = 512 << 20;
/// Cache entries kept at most (the cache is cleared when full).
pub const MAX_CACHE: usize = 16_384;

/// Identity of file contents for caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
}

/// A hash cache.
#[derive(Debug, Default)]
pub struct HashCache {
    cache: HashMap<FileKey, String>,
    hits: u64,
    misses: u64,
}

impl HashCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hex SHA-256 of the file at `path` (for a running process, use
    /// `/proc/<pid>/exe`: it works for deleted and memfd binaries too).
    pub fn hash_path(&mut self, path: &Path) -> Option<String> {
        let mut f = std::fs::File::open(path).ok()?;
        let md = f.metadata().ok()?;
        if !md.is_file() || md.size() > MAX_HASH_BYTES {
            return None;
        }
        let key = FileKey {
            dev: md.dev(),
            ino: md.ino(),
            size: md.size(),
            mtime_ns: md
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(md.mtime_nsec()),
        };
        if let Some(h) = self.cache.get(&key) {
            self.hits += 1;
            return Some(h.clone());
        }
        self.misses += 1;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = f.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > MAX_HASH_BYTES {
                return None;
            }
            hasher.update(&buf[..n]);
        }
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if self.cache.len() >= MAX_CACHE {
            self.cache.clear();
        }
        self.cache.insert(key, hex.clone());
        Some(hex)
    }

    /// (hits, misses) so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_caches_and_notices_changes() {
        let dir = std::env::temp_dir().join(format!("wafio-hash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        std::fs::write(&p, b"abc").unwrap();
        let mut c = HashCache::new();
        let h = c.hash_path(&p).unwrap();
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(c.hash_path(&p).unwrap(), h);
        assert_eq!(c.stats(), (1, 1));
        std::fs::write(&p, b"abcd").unwrap();
        assert_ne!(c.hash_path(&p).unwrap(), h);
        assert!(c.hash_path(&dir.join("missing")).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
