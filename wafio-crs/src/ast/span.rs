//! Source files and spans.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index of a source file in [`Config::files`](super::Config::files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A region of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// 1-based line of `start`.
    pub line: u32,
    /// 1-based column (in characters) of `start`.
    pub column: u32,
    /// Byte offset of the first byte, in the file.
    pub start: usize,
    /// Byte offset one past the last byte, in the file.
    pub end: usize,
}

/// A file read by the parser.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as given or resolved (for `Include`, joined to the including
    /// file's directory).
    pub path: PathBuf,
    /// The `Include` directive that pulled this file in, if any.
    pub included_from: Option<Span>,
    text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub(crate) fn new(path: PathBuf, text: Arc<str>, included_from: Option<Span>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        SourceFile {
            path,
            included_from,
            text,
            line_starts,
        }
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn text_arc(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts[idx];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (to_u32(idx + 1), to_u32(col + 1))
    }

    /// The text of the physical line containing `offset`, without its line
    /// terminator, and that line's starting byte offset.
    pub fn line_of(&self, offset: usize) -> (&str, usize) {
        let offset = offset.min(self.text.len());
        let idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts[idx];
        let end = self
            .line_starts
            .get(idx + 1)
            .map_or(self.text.len(), |e| e - 1);
        let line = self.text.get(start..end).unwrap_or("");
        (line.strip_suffix('\r').unwrap_or(line), start)
    }

    /// A span for the byte range `start..end` of this file.
    pub(crate) fn span(&self, file: FileId, start: usize, end: usize) -> Span {
        let (line, column) = self.line_col(start);
        Span {
            file,
            line,
            column,
            start,
            end: end.max(start),
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_and_line_of() {
        let f = SourceFile::new("x".into(), Arc::from("ab\r\ncdé f\n\nlast"), None);
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 1));
        // 'é' is two bytes: ' ' after it is at byte 8, character column 4.
        assert_eq!(f.line_col(8), (2, 4));
        assert_eq!(f.line_of(1), ("ab", 0));
        assert_eq!(f.line_of(9), ("cdé f", 4));
        assert_eq!(f.line_of(11), ("", 11));
        assert_eq!(f.line_of(100), ("last", 12));
    }
}
