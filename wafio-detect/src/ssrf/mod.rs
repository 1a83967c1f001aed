//! Ssrf detector. IN PROGRESS: not yet implemented; reports nothing.

use crate::{Detector, DetectorKind, Hit, View};

/// The Ssrf detector.
#[derive(Clone, Debug, Default)]
pub struct SsrfDetector {}

impl Detector for SsrfDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Ssrf
    }

    fn detect(&self, _view: &View<'_>, _out: &mut Vec<Hit>) {}
}
