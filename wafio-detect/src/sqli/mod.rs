//! Sqli detector. IN PROGRESS: not yet implemented; reports nothing.

use crate::{Detector, DetectorKind, Hit, View};

/// The Sqli detector.
#[derive(Clone, Debug, Default)]
pub struct SqliDetector {}

impl Detector for SqliDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Sqli
    }

    fn detect(&self, _view: &View<'_>, _out: &mut Vec<Hit>) {}
}
